"""Remix lineage: a track's family tree from the records' ``provenance.parents`` (spec §5,
§9.3 ``parent=``).

A record names the tracks it remixes, extends, covers or samples (``parent_refs``: the
``{"id", "relation"}`` form or a bare id).  ``family_tree`` walks that graph from one
track, breadth first, both ways:

* **up** (ancestors): the root's parents, their parents …, each resolved to its record
  by the ``resolve`` callback (library, known records, the network: the adapter's job);
* **down** (descendants): the records that name the root as a parent, then the records
  naming those …, found by the ``children`` callback (library, known records, a
  ``parent=`` search on the DHT).

Both callbacks take a batch of ids (one tree level) so an adapter can look them up in
parallel; both must return only verified records.  A record is a claim by its artist and
a forged one can name anything, so the walk is bounded whatever the records say: at most
``depth`` levels each way (≤ ``MAX_DEPTH``), at most ``max_nodes`` entries in all
(≤ ``MAX_NODES``), ``MAX_CHILDREN`` children per track; an id on its own path is a
``cycle`` and one already expanded elsewhere (a shared grandparent, a track that is both
parent and child) a ``repeat``, neither expanded again, so no cycle can loop.

The result is JSON-ready (``GET /api/tracks/{id}/lineage``, ``osp lineage --json``)::

    {"id": root id, "status", "track": summary | null, "relation": null,
     "parents": [entry…], "children": [entry…],
     "nodes": entries in all (root included), "truncated": bool (the node cap cut it)}

    entry = {"id", "relation": "remix"|"extends"|"cover"|"samples"|null,
             "status": "known"|"unknown"|"cycle"|"repeat",
             "track": {"title", "artist", "artistName", "released"} | null,
             "parents" (up) or "children" (down): [entry…],
             "more": bool (the depth cap stopped here: a known ancestor that names parents,
                     or a descendant whose children were not looked for)}

``status``: ``known`` (its record was found), ``unknown`` (named, but no record found:
a private track, an offline holder, or a forged id). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from osp.core.errors import CallerError
from osp.records.parents import is_track_id, parent_refs

MAX_DEPTH = 8  #: levels walked at most each way (up to ancestors, down to descendants)
MAX_NODES = 256  #: entries in one tree at most, root included
MAX_CHILDREN = 64  #: children listed per track at most (best known first: oldest release, then title)

Record = Mapping[str, Any]
#: ``resolve(ids)`` → ``{id: verified record or None (not found)}``; an id left out counts as not found
Resolver = Callable[[Sequence[str]], Mapping[str, Record | None]]
#: ``children(ids)`` → ``{id: verified records naming it in provenance.parents}``
ChildFinder = Callable[[Sequence[str]], Mapping[str, Sequence[Record]]]

SUMMARY_FIELDS = ("title", "artist", "artistName", "released")


def summary(record: Record) -> dict[str, Any]:
    """The fields a tree shows of a record: title, artist, artistName, released (strings
    only; a missing one is ``None``)."""
    return {k: record.get(k) if isinstance(record.get(k), str) else None for k in SUMMARY_FIELDS}


def _entry(track_id: str, relation: str | None, status: str, record: Record | None, branch: str) -> dict[str, Any]:
    return {"id": track_id, "relation": relation, "status": status,
            "track": summary(record) if record is not None else None, branch: [], "more": False}


def _child_order(pair: tuple[Record, str | None]) -> tuple[str, str, str]:
    record = pair[0]
    released, title = record.get("released"), record.get("title")
    return (released if isinstance(released, str) else "9999",
            title.casefold() if isinstance(title, str) else "", str(record.get("id")))


def family_tree(root_id: str, resolve: Resolver, children: ChildFinder, *, up: int = MAX_DEPTH,
                down: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> dict[str, Any]:
    """The family tree of ``root_id`` (module doc for the shape and the bounds).

    ``resolve([root_id])`` is called first; then one ``resolve`` per ancestor level (the
    ids of that level not seen before) and one ``children`` per descendant level (the
    known ids of the level before).  With ``up`` or ``down`` 0 that side is not walked.
    ``CallerError`` for a ``root_id`` that is not a track id, a depth outside
    0..``MAX_DEPTH`` or ``max_nodes`` outside 1..``MAX_NODES``."""
    if not is_track_id(root_id):
        raise CallerError("not a track id (osp:track:b…)")
    for name, depth in (("up", up), ("down", down)):
        if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= MAX_DEPTH:
            raise CallerError(f"{name} depth is an integer from 0 to {MAX_DEPTH}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or not 1 <= max_nodes <= MAX_NODES:
        raise CallerError(f"max_nodes is an integer from 1 to {MAX_NODES}")
    record = _record_of(resolve([root_id]), root_id)
    root = _entry(root_id, None, "known" if record is not None else "unknown", record, "parents")
    root["children"] = []
    del root["more"]
    count = [1]
    truncated = [False]

    def room() -> bool:
        if count[0] >= max_nodes:
            truncated[0] = True
            return False
        return True

    if record is not None:
        _walk_up(root, record, resolve, up, room, count)
    _walk_down(root, children, down, room, count)
    root["nodes"] = count[0]
    root["truncated"] = truncated[0]
    return root


def _record_of(found: Mapping[str, Record | None], track_id: str) -> Record | None:
    record = found.get(track_id)
    if not isinstance(record, Mapping) or record.get("id") != track_id:
        return None  # a resolver that answers another record than the one asked for: not found
    return record


def _walk_up(root: dict[str, Any], record: Record, resolve: Resolver, depth: int,
             room: Callable[[], bool], count: list[int]) -> None:
    frontier: list[tuple[dict[str, Any], Record, frozenset[str]]] = [(root, record, frozenset({root["id"]}))]
    expanded = {root["id"]}
    for _level in range(depth):
        asked: list[tuple[dict[str, Any], frozenset[str]]] = []
        for entry, rec, path in frontier:
            for ref in parent_refs(rec):
                if not room():
                    break
                if ref.id in path:
                    status = "cycle"
                elif ref.id in expanded:
                    status = "repeat"
                else:
                    status = "pending"
                    expanded.add(ref.id)
                child = _entry(ref.id, ref.relation, status, None, "parents")
                entry["parents"].append(child)
                count[0] += 1
                if status == "pending":
                    asked.append((child, path | {ref.id}))
        if not asked:
            return
        found = resolve([e["id"] for e, _path in asked])
        frontier = []
        for entry, path in asked:
            got = _record_of(found, entry["id"])
            entry["status"] = "known" if got is not None else "unknown"
            if got is not None:
                entry["track"] = summary(got)
                frontier.append((entry, got, path))
    for entry, rec, _path in frontier:
        if entry is not root:
            entry["more"] = bool(parent_refs(rec))  # the depth cap stopped a line that goes on


def _walk_down(root: dict[str, Any], children: ChildFinder, depth: int, room: Callable[[], bool],
               count: list[int]) -> None:
    frontier: list[tuple[dict[str, Any], frozenset[str]]] = [(root, frozenset({root["id"]}))]
    expanded = {root["id"]}
    for _level in range(depth):
        found = children([e["id"] for e, _path in frontier])
        nxt: list[tuple[dict[str, Any], frozenset[str]]] = []
        for entry, path in frontier:
            pairs: list[tuple[Record, str | None]] = []
            seen: set[str] = set()
            for rec in found.get(entry["id"], ()):
                rec_id = rec.get("id") if isinstance(rec, Mapping) else None
                if not isinstance(rec_id, str) or rec_id in seen:
                    continue
                ref = next((p for p in parent_refs(rec) if p.id == entry["id"]), None)
                if ref is None:
                    continue  # the finder answered a record that does not name this parent
                seen.add(rec_id)
                pairs.append((rec, ref.relation))
            for rec, relation in sorted(pairs, key=_child_order)[:MAX_CHILDREN]:
                if not room():
                    break
                rec_id = str(rec["id"])
                if rec_id in path:
                    status = "cycle"
                elif rec_id in expanded:
                    status = "repeat"
                else:
                    status = "known"
                    expanded.add(rec_id)
                child = _entry(rec_id, relation, status, rec, "children")
                entry["children"].append(child)
                count[0] += 1
                if status == "known":
                    nxt.append((child, path | {rec_id}))
        if not nxt:
            return
        frontier = nxt
    for entry, _path in frontier:
        if entry is not root:
            entry["more"] = True  # not looked for below the depth cap


def walk(tree: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every entry of ``tree`` (root first, then ancestors and descendants breadth first):
    for tests and for counting."""
    out: list[Mapping[str, Any]] = [tree]
    queue = [*tree.get("parents", []), *tree.get("children", [])]
    while queue:
        entry = queue.pop(0)
        out.append(entry)
        queue += [*entry.get("parents", []), *entry.get("children", [])]
    return out
