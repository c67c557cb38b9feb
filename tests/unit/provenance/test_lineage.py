"""Remix lineage (osp.provenance.lineage, osp.records.parents): parsing both forms of
``provenance.parents`` and the bounded family-tree walk, pure (dict records, callbacks)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from osp.core.errors import CallerError
from osp.provenance.lineage import MAX_CHILDREN, MAX_NODES, family_tree, walk
from osp.records.parents import MAX_PARENTS, ParentRef, is_track_id, names_parent, parent_ids, parent_refs


def tid(name: str) -> str:
    """A well-formed track id for ``name``."""
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode().lower().rstrip("=")
    return "osp:track:bagaaiera" + digest


def rec(name: str, *parents: Any, released: str = "2026-01-01") -> dict[str, Any]:
    record: dict[str, Any] = {"id": tid(name), "title": name.title(), "artist": "did:key:z6Mk" + name,
                              "artistName": f"artist {name}", "released": released}
    if parents:
        record["provenance"] = {"parents": list(parents)}
    return record


class World:
    """Records by id; ``resolve`` and ``children`` as an adapter would answer, with a log."""

    def __init__(self, *records: dict[str, Any]) -> None:
        self.records = {r["id"]: r for r in records}
        self.resolved: list[list[str]] = []
        self.asked: list[list[str]] = []

    def resolve(self, ids: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        self.resolved.append(list(ids))
        return {i: self.records.get(i) for i in ids}

    def children(self, ids: Sequence[str]) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        self.asked.append(list(ids))
        return {i: [r for r in self.records.values() if names_parent(r, i)] for i in ids}

    def tree(self, root: str, **kw: Any) -> dict[str, Any]:
        return family_tree(tid(root), self.resolve, self.children, **kw)


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in entries]


# -- parents: both forms ------------------------------------------------------------


def test_parent_refs_reads_both_forms_in_order() -> None:
    record = rec("remix", {"id": tid("a"), "relation": "remix"}, tid("b"), {"id": tid("c"), "relation": "samples"})
    assert parent_refs(record) == [ParentRef(tid("a"), "remix"), ParentRef(tid("b"), None),
                                   ParentRef(tid("c"), "samples")]
    assert parent_ids(record) == [tid("a"), tid("b"), tid("c")]
    assert names_parent(record, tid("b")) and not names_parent(record, tid("remix"))


def test_parent_refs_skips_junk_and_repeats() -> None:
    record = rec("x", tid("a"), {"id": tid("a"), "relation": "cover"}, {"id": 5}, "osp:track:NOPE", None, [tid("b")],
                 {"relation": "remix"}, {"id": tid("b"), "relation": "stolen"}, " " + tid("c"))
    assert parent_refs(record) == [ParentRef(tid("a"), None), ParentRef(tid("b"), None)]
    assert parent_refs({"provenance": {"parents": "osp:track:x"}}) == []
    assert parent_refs({"provenance": "nope"}) == parent_refs({}) == []
    many = rec("many", *[tid(str(i)) for i in range(MAX_PARENTS + 10)])
    assert len(parent_refs(many)) == MAX_PARENTS
    assert is_track_id(tid("a")) and not is_track_id(tid("a").upper()) and not is_track_id(tid("a") + "x" * 300)


# -- the tree -----------------------------------------------------------------------


def test_remix_chain_up_and_down() -> None:
    w = World(rec("orig"), rec("remix", {"id": tid("orig"), "relation": "remix"}),
              rec("cover", tid("remix")), rec("other"))
    tree = w.tree("remix")
    assert tree["status"] == "known" and tree["track"]["title"] == "Remix"
    assert [(p["id"], p["relation"], p["status"]) for p in tree["parents"]] == [(tid("orig"), "remix", "known")]
    assert tree["parents"][0]["track"] == {"title": "Orig", "artist": "did:key:z6Mkorig", "artistName": "artist orig",
                                           "released": "2026-01-01"}
    assert [(c["id"], c["relation"]) for c in tree["children"]] == [(tid("cover"), None)]
    assert tree["nodes"] == 3 and not tree["truncated"]
    down = w.tree("orig")
    assert ids(down["children"]) == [tid("remix")] and ids(down["children"][0]["children"]) == [tid("cover")]
    assert down["children"][0]["relation"] == "remix" and down["parents"] == []


def test_unknown_parents_are_shown_not_dropped() -> None:
    w = World(rec("remix", tid("lost"), {"id": tid("orig"), "relation": "extends"}), rec("orig"))
    tree = w.tree("remix")
    assert [(p["id"], p["status"], p["track"]) for p in tree["parents"]][0] == (tid("lost"), "unknown", None)
    assert tree["parents"][1]["status"] == "known"
    assert w.resolved == [[tid("remix")], [tid("lost"), tid("orig")]]  # one batch per level
    root_unknown = World(rec("child", tid("ghost"))).tree("ghost")
    assert root_unknown["status"] == "unknown" and ids(root_unknown["children"]) == [tid("child")]


def test_cycles_never_loop() -> None:
    # forged records: a <-> b, and c names itself
    w = World(rec("a", tid("b")), rec("b", tid("a")), rec("c", tid("c"), tid("a")))
    tree = w.tree("a")
    assert [p["status"] for p in tree["parents"]] == ["known"]
    assert [(p["id"], p["status"]) for p in tree["parents"][0]["parents"]] == [(tid("a"), "cycle")]
    kids = {c["id"]: c for c in tree["children"]}
    assert set(kids) == {tid("b"), tid("c")}
    assert [(g["id"], g["status"]) for g in kids[tid("b")]["children"]] == [(tid("a"), "cycle")]
    assert (kids[tid("c")]["children"][0]["id"], kids[tid("c")]["children"][0]["status"]) == (tid("c"), "cycle")
    assert len(w.asked) <= 3 and len(walk(tree)) == tree["nodes"]


def test_repeated_ids_expand_once() -> None:
    # diamond: d remixes b and c, both remix a; the second path to a is a repeat
    w = World(rec("a"), rec("b", tid("a")), rec("c", tid("a")), rec("d", tid("b"), tid("c"), tid("b")))
    tree = w.tree("d")
    assert ids(tree["parents"]) == [tid("b"), tid("c")]  # the repeated b in d's own list is read once
    statuses = [g["status"] for p in tree["parents"] for g in p["parents"]]
    assert statuses == ["known", "repeat"]
    assert sum(1 for batch in w.resolved for i in batch if i == tid("a")) == 1


def test_depth_cap_marks_more() -> None:
    chain = [rec("g0")] + [rec(f"g{i}", tid(f"g{i - 1}")) for i in range(1, 12)]
    w = World(*chain)
    tree = w.tree("g11", up=3, down=0)
    entry, depth = tree, 0
    while entry.get("parents"):
        entry, depth = entry["parents"][0], depth + 1
    assert depth == 3 and entry["id"] == tid("g8") and entry["more"] is True
    assert w.asked == []  # down=0: no child lookups
    full = w.tree("g11")
    assert full["nodes"] == 9  # root + 8 levels, the cap
    down = World(*chain).tree("g0", up=0, down=2)
    assert ids(down["children"]) == [tid("g1")] and down["children"][0]["children"][0]["more"] is True
    top = World(*chain).tree("g0", up=0, down=8)
    leaf = top
    while leaf.get("children"):
        leaf = leaf["children"][0]
    assert leaf["id"] == tid("g8") and leaf["more"] is True


def test_node_cap_truncates() -> None:
    kids = [rec(f"k{i}", tid("root"), released=f"2026-01-{1 + i % 28:02d}") for i in range(MAX_CHILDREN + 20)]
    grandkids = [rec(f"gk{i}", tid(f"k{i % MAX_CHILDREN}")) for i in range(400)]
    tree = World(rec("root"), *kids, *grandkids).tree("root")
    assert len(tree["children"]) == MAX_CHILDREN  # per-track cap
    released = [c["track"]["released"] for c in tree["children"]]
    assert released == sorted(released)  # oldest first
    assert tree["truncated"] and tree["nodes"] == MAX_NODES == len(walk(tree))
    small = World(rec("root"), *kids).tree("root", max_nodes=10)
    assert small["nodes"] == 10 and small["truncated"]


def test_off_topic_children_and_wrong_records_are_ignored() -> None:
    class Liar(World):
        def resolve(self, ids: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
            return {i: rec("impostor") for i in ids}  # another record than the one asked for

        def children(self, ids: Sequence[str]) -> Mapping[str, Sequence[Mapping[str, Any]]]:
            return {i: [rec("stranger"), {"id": 7}, "junk"] for i in ids}  # type: ignore[list-item]

    tree = Liar().tree("x")
    assert tree["status"] == "unknown" and tree["children"] == [] and tree["nodes"] == 1


def test_bad_arguments() -> None:
    w = World()
    with pytest.raises(CallerError):
        family_tree("osp:track:nope", w.resolve, w.children)
    for kw in ({"up": 9}, {"down": -1}, {"up": True}, {"max_nodes": 0}, {"max_nodes": MAX_NODES + 1}):
        with pytest.raises(CallerError):
            w.tree("a", **kw)
