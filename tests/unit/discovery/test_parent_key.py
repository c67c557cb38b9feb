"""The parent rendezvous key and ``parent=`` searches (spec §9.1, §9.3), pure."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from osp.core.errors import CallerError, IntegrityError
from osp.discovery.announce import Holding, plan
from osp.discovery.keys import MAX_RECORD_KEYS, record_keys, rendezvous_key
from osp.discovery.search import Merge, Query, index_keys, match, query_index_keys
from osp.identity import SigningKey
from tests.unit.provenance.test_lineage import rec, tid

A = SigningKey.from_seed(bytes(range(32))).did


def remix(name: str, *parents: Any, tags: tuple[str, ...] = ()) -> dict[str, Any]:
    return rec(name, *parents) | {"artist": A, "tags": list(tags)}


def test_parent_key_follows_the_convention() -> None:
    key = rendezvous_key("parent", tid("orig"))
    assert key.digest == hashlib.sha1(b"osp/v0/parent:" + tid("orig").encode()).digest()
    assert key.label == f"parent:{tid('orig')}"
    with pytest.raises(CallerError):
        rendezvous_key("parent", " " + tid("orig"))


def test_record_keys_announce_parents_after_track_and_artist() -> None:
    record = remix("remix", {"id": tid("a"), "relation": "remix"}, tid("b"), tags=("ambient",))
    kinds = [(k.kind, k.value) for k in record_keys(record)]
    assert kinds[:5] == [("track", tid("remix")), ("artist", A), ("parent", tid("a")), ("parent", tid("b")),
                         ("tag", "ambient")]
    crowded = remix("crowded", *[tid(str(i)) for i in range(40)])
    assert len(record_keys(crowded)) == MAX_RECORD_KEYS


def test_plan_announces_parent_keys_by_count_before_tags() -> None:
    a = remix("r1", tid("orig"), tags=("ambient",))
    b = remix("r2", tid("orig"), tid("other"), tags=("ambient",))
    planned = [x.label for x in plan([Holding(a, "aa" * 20, True, 0), Holding(b, "bb" * 20, True, 0)])]
    first_tag = planned.index("tag:ambient")
    assert planned.index(f"parent:{tid('orig')}") < planned.index(f"parent:{tid('other')}") < first_tag
    assert planned.index(f"track:{tid('r2')}") < planned.index(f"parent:{tid('orig')}")


def test_query_parent_alone_and_its_keys() -> None:
    q = Query.parse(parent=tid("orig"))
    assert q.keys() == [rendezvous_key("parent", tid("orig"))]
    assert Query.from_params(q.params()) == q
    assert ("parent", tid("orig")) in Query.from_params({"parent": tid("orig"), "q": "drift"}).params()
    for bad in ({"parent": "osp:track:x"}, {"parent": tid("a"), "q": "x"} | {"parent": [tid("a"), tid("b")]}):
        with pytest.raises(CallerError):
            Query.from_params(bad)
    with pytest.raises(CallerError):
        Query.parse(parent="nope")


def test_match_needs_the_parent_in_either_form() -> None:
    q = Query.parse(parent=tid("orig"))
    assert match(q, remix("r1", {"id": tid("orig"), "relation": "cover"})) == 1.0
    assert match(q, remix("r2", tid("x"), tid("orig"))) == 1.0
    assert match(q, remix("r3", tid("x"))) is None
    assert match(q, remix("r4")) is None
    both = Query.parse(["Glacier"], parent=tid("orig"))
    assert match(both, remix("glacier", tid("orig"))) is not None and match(both, remix("r5", tid("orig"))) is None


def test_merge_drops_an_off_topic_answer() -> None:
    merge = Merge(Query.parse(parent=tid("orig")))
    good = remix("good", tid("orig"))
    with pytest.raises(IntegrityError) as exc:
        merge.add("http://10.0.0.9:8787", [(good, b""), (remix("liar", tid("other")), b"")])
    assert exc.value.check == "off-topic" and merge.count == 0
    assert [r.track_id for r in merge.add("http://10.0.0.8:8787", [(good, b"")])] == [tid("good")]


def test_library_index_holds_parent_keys() -> None:
    record = remix("r", tid("orig"), {"id": tid("b"), "relation": "samples"})
    keys = index_keys(record)
    assert rendezvous_key("parent", tid("orig")).hex in keys and rendezvous_key("parent", tid("b")).hex in keys
    required, any_of = query_index_keys(Query.parse(parent=tid("orig")))
    assert required == [rendezvous_key("parent", tid("orig")).hex] and any_of == []
