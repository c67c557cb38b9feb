"""Search queries, matching, the merge and ranking, bad peers (spec §9.3), pure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osp.core.errors import CallerError, IntegrityError
from osp.discovery.keys import rendezvous_key
from osp.discovery.search import (
    LOCAL,
    MAX_RESULTS_PER_PEER,
    BadPeers,
    Merge,
    Query,
    holder_network,
    match,
    search_library,
)
from osp.identity import SigningKey

A = SigningKey.from_seed(bytes(range(32))).did
B = SigningKey.from_seed(bytes(range(32, 64))).did


def rec(n: int, title: str = "Glacier Drift", artist: str = A, tags: tuple[str, ...] = ("ambient",),
        name: str = "Test Artist") -> dict[str, Any]:
    return {"id": f"osp:track:b{n:058d}", "title": title, "artist": artist, "artistName": name, "tags": list(tags)}


def pair(record: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    return record, json.dumps(record).encode()


# -- Query ---------------------------------------------------------------------------


def test_parse_normalizes() -> None:
    q = Query.parse(["The GLACIER", "drift", "glacier"], artist=A, tags=["Ａｍｂｉｅｎｔ", "ambient", "Lo  Fi"], limit=5)
    assert q == Query(("glacier", "drift"), A, ("ambient", "lo fi"), 5)
    assert [k.label for k in q.keys()] == [f"artist:{A}", "tag:ambient", "tag:lo fi", "word:glacier", "word:drift"]
    assert q.keys()[1] == rendezvous_key("tag", "ambient")
    assert q.params() == [("q", "glacier drift"), ("artist", A), ("tag", "ambient"), ("tag", "lo fi"), ("limit", "5")]
    assert Query.parse(["x"], tags=["ambient"], limit=500).params()[-1] == ("limit", str(MAX_RESULTS_PER_PEER))


@pytest.mark.parametrize("kwargs", [
    {"words": []}, {"words": ["the of a"]}, {"words": ["glacier"], "limit": 0}, {"words": ["glacier"], "limit": 10**6},
    {"artist": "did:web:example.com"}, {"artist": A + "#frag"}, {"tags": [" "]}, {"tags": ["x" * 65]},
    {"tags": [f"t{i}" for i in range(9)]}, {"words": [" ".join(f"w{i}" for i in range(9))]}, {"words": ["x" * 300]},
])
def test_parse_rejects(kwargs: dict[str, Any]) -> None:
    with pytest.raises(CallerError):
        Query.parse(**kwargs)


def test_from_params() -> None:
    q = Query.from_params([("q", "Glacier drift"), ("tag", "ambient"), ("tag", "AI"), ("limit", "7"), ("x", "y")])
    assert q == Query(("glacier", "drift"), None, ("ambient", "ai"), 7)
    assert Query.from_params({"artist": A}) == Query((), A, (), 20)
    assert Query.from_params({"tag": ["a1", "b2"], "q": "x"}).tags == ("a1", "b2")
    assert Query.from_params(q.params()) == q  # round trip through the query string


@pytest.mark.parametrize("params", [
    [], [("q", "")], [("q", "the")], [("q", "a"), ("q", "b")], [("q", "x"), ("limit", "0")],
    [("q", "x"), ("limit", "51")], [("q", "x"), ("limit", "abc")], [("q", "x"), ("limit", "-1")],
    [("q", "x"), ("limit", "١٢")], [("q", "x" * 300)], [("artist", "nobody")], [("tag", "t")] * 33,
    [("q", "x"), ("artist", A), ("artist", A)],
])
def test_from_params_rejects(params: list[tuple[str, str]]) -> None:
    with pytest.raises(CallerError) as exc:
        Query.from_params(params)
    assert exc.value.http_status == 400


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4),
       st.lists(st.text(min_size=1, max_size=12), max_size=3))
def test_params_round_trip(words: list[str], tags: list[str]) -> None:
    try:
        q = Query.parse(words, tags=tags)
    except CallerError:
        return
    assert Query.from_params(q.params()) == q


# -- match ---------------------------------------------------------------------------


def test_match() -> None:
    r = rec(1, title="Glacier Drift", tags=("ambient", "field recording"), name="Ice Choir")
    assert match(Query.parse(["glacier"]), r) == 1.0
    assert match(Query.parse(["glacier", "drift"]), r) == 1.0
    assert match(Query.parse(["glacier", "volcano"]), r) == 0.5
    assert match(Query.parse(["recording"]), r) == 0.75  # found in a tag only
    assert match(Query.parse(["choir"]), r) == 0.75  # artist name
    assert match(Query.parse(["volcano"]), r) is None  # off-topic
    assert match(Query.parse(tags=["AMBIENT"]), r) == 1.0
    assert match(Query.parse(tags=["ambient", "techno"]), r) is None  # every tag required
    assert match(Query.parse(["glacier"], tags=["techno"]), r) is None
    assert match(Query.parse(artist=A), r) == 1.0
    assert match(Query.parse(["glacier"], artist=B), r) is None  # artist mismatch
    assert match(Query.parse(["glacier"]), {"id": "x", "title": 5, "tags": "ambient"}) is None  # junk shapes


# -- Merge ---------------------------------------------------------------------------


def test_merge_dedups_counts_holders_and_ranks() -> None:
    m = Merge(Query.parse(["glacier", "drift"]))
    full, half, other = rec(1, "Glacier Drift"), rec(2, "Glacier Sun"), rec(3, "Another Glacier Drift")
    new = m.add(LOCAL, [pair(half)])
    assert [r.track_id for r in new] == [half["id"]] and new[0].holders == frozenset({LOCAL})
    new = m.add("http://10.0.0.1:8080", [pair(full), pair(half), pair(half)])
    assert {r.track_id for r in new} == {full["id"], half["id"]}  # one new, one improved (new holder)
    assert m.add("http://10.0.0.1:8080", [pair(full)]) == []  # nothing new from the same holder
    m.add("http://10.0.0.2:8080", [pair(other)])  # same /24 as 10.0.0.1: not independent
    m.add("http://10.0.0.3:8080", [pair(other)])
    m.add("http://192.0.2.7:8080", [pair(full)])  # another network
    ranked = m.results()
    assert m.count == 3
    assert [r.track_id for r in ranked] == [full["id"], other["id"], half["id"]]
    by_id = {r.track_id: r for r in ranked}
    assert by_id[other["id"]].holders == {"http://10.0.0.2:8080", "http://10.0.0.3:8080"}
    assert by_id[other["id"]].independent_holders == 1
    assert by_id[full["id"]].independent_holders == 2
    assert by_id[half["id"]].score == 0.5


def test_more_independent_holders_rank_higher_at_equal_score() -> None:
    m = Merge(Query.parse(tags=["ambient"]))
    a, b = rec(1, "Zeta"), rec(2, "Alpha")
    m.add("http://10.0.0.1:1", [pair(a), pair(b)])
    assert [r.track_id for r in m.results()] == [b["id"], a["id"]]  # tie: by title
    improved = m.add("http://10.0.1.1:1", [pair(a)])
    assert [r.independent_holders for r in improved] == [2]
    assert [r.track_id for r in m.results()] == [a["id"], b["id"]]


def test_off_topic_answer_is_rejected_whole() -> None:
    m = Merge(Query.parse(["glacier"], artist=A))
    with pytest.raises(IntegrityError) as exc:
        m.add("http://10.0.0.9:1", [pair(rec(1)), pair(rec(2, "Spam Spam"))])
    assert exc.value.check == "off-topic"
    with pytest.raises(IntegrityError):
        m.add("http://10.0.0.9:1", [pair(rec(3, artist=B))])
    assert m.count == 0


def test_holder_network() -> None:
    assert holder_network("http://10.1.2.3:8080") == holder_network("http://10.1.2.200:9") == "10.1.2.0/24"
    assert holder_network("http://[2001:db8::1]:80") == holder_network("http://[2001:db8::ffff]:81") == "2001:db8::/64"
    assert holder_network("http://[::ffff:10.1.2.3]:1") == "10.1.2.0/24"
    assert holder_network("http://Example.org:1") == "example.org"
    assert holder_network(LOCAL) == LOCAL


def test_search_library() -> None:
    rows = [pair(rec(1, "Glacier Drift")), pair(rec(2, "Glacier")), pair(rec(3, "Volcano")),
            pair(rec(4, "Drift Away"))]
    hits = search_library(Query.parse(["glacier", "drift"], limit=2), rows)
    assert [(s, r["id"]) for s, r, _ in hits] == [(1.0, rec(1)["id"]), (0.5, rec(4)["id"])]  # "drift away" < "glacier"


# -- BadPeers ------------------------------------------------------------------------


def test_bad_peers_expire() -> None:
    now = [1000.0]
    bad = BadPeers(lambda: now[0], ttl=60.0, max_entries=3)
    bad.mark("http://10.0.0.1:1", "forged record")
    assert bad.is_bad("http://10.0.0.1:1") and bad.reason("http://10.0.0.1:1") == "forged record"
    assert not bad.is_bad("http://10.0.0.2:1")
    now[0] += 59.9
    assert bad.is_bad("http://10.0.0.1:1")
    now[0] += 0.1
    assert not bad.is_bad("http://10.0.0.1:1") and bad.reason("http://10.0.0.1:1") is None
    for i in range(5):
        bad.mark(f"p{i}", "off-topic")
    assert [bad.is_bad(f"p{i}") for i in range(5)] == [False, False, True, True, True]  # bounded memory
