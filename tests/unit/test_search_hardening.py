"""Search hardening (hostile review of issue 8), pure parts and the library index:
the index keys, BadPeers by IP, the holder picker, trusted-first ranking with a per-peer cap,
the peer-search gate, the verified-record cache and the parallel first_valid."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from osp.core.errors import PeerError, RemoteNotFoundError
from osp.discovery.search import (
    LOCAL,
    MAX_TOP_PER_PEER,
    BadPeers,
    HolderPicker,
    Merge,
    Query,
    holder_network,
    index_keys,
    match,
    peer_host,
    query_index_keys,
)
from osp.identity import SigningKey
from osp.library.store import Library
from osp.node.ask import first_valid
from osp.node.search import SearchGate, checked_answer
from tests.unit.test_discovery_search import A, B, pair, rec

# -- index keys ------------------------------------------------------------------------


QUERIES = [Query.parse(["glacier"]), Query.parse(["drift", "volcano"]), Query.parse(tags=["ambient"]),
           Query.parse(artist=A), Query.parse(["choir"]), Query.parse(["glacier"], artist=B),
           Query.parse(["lo"], tags=["lo fi"]), Query.parse(["fi"]), Query.parse(["volcano"]),
           Query.parse(["glacier"], tags=["ambient", "techno"])]
RECORDS = [rec(1), rec(2, "Volcano Choir", B, ("lo fi",), "Choir Boys"), rec(3, "Drift", A, (), "X"),
           rec(4, "Sun", B, ("ambient", "techno"), "Glacier Band")]


@pytest.mark.parametrize("query", QUERIES)
def test_index_is_a_superset_of_match(query: Query) -> None:
    required, any_of = query_index_keys(query)
    for r in RECORDS:
        keys = set(index_keys(r))
        candidate = set(required) <= keys and (not any_of or bool(keys & set(any_of)))
        if match(query, r) is not None:
            assert candidate, (query, r["id"])


def test_library_index_candidates(tmp_path: Path) -> None:
    rows = {r["id"]: json.dumps(r).encode() for r in RECORDS}
    with Library(tmp_path / "lib.sqlite3", indexer=lambda raw: index_keys(json.loads(raw))) as lib:
        # rows written without the indexer (another tool, an old library) are indexed before a search
        with lib.transaction() as db:
            db.executemany("INSERT INTO records VALUES (?,?,?,?,?)",
                           [(i, json.loads(raw)["artist"], raw, "catalog:x", 1.0) for i, raw in rows.items()])
        assert lib.index_pending() == len(RECORDS) and lib.index_pending() == 0
        for query in QUERIES:
            required, any_of = query_index_keys(query)
            got = {k.id for k in lib.known_candidates(required, any_of)}
            want = {r["id"] for r in RECORDS if match(query, r) is not None}
            assert want <= got, query
        assert {k.id for k in lib.known_candidates(*query_index_keys(Query.parse(["zzzunmatched"])))} == set()
        assert lib.is_stored_record(RECORDS[0]["id"], rows[RECORDS[0]["id"]])
        assert not lib.is_stored_record(RECORDS[0]["id"], rows[RECORDS[0]["id"]] + b" ")
        lib.add_follow(A, audio=False, now=1.0)
        lib.remove_follow(A)
        assert lib._all("SELECT count(*) FROM search_keys WHERE track_id=?", (RECORDS[0]["id"],))[0][0] == 0


# -- BadPeers by IP --------------------------------------------------------------------


def test_bad_peers_by_ip_with_own_ttl() -> None:
    now = [0.0]
    bad = BadPeers(lambda: now[0], ttl=1800.0)
    bad.mark("http://203.0.113.9:8000", "forged record")
    assert bad.is_bad("http://203.0.113.9:8001") and bad.is_bad("http://[::ffff:203.0.113.9]:9")
    assert not bad.is_bad("http://203.0.113.10:8000")
    assert peer_host("http://[2001:db8::1]:80") == "2001:db8::1"
    bad.mark("http://198.51.100.1:1", "no answer in time", ttl=300.0)
    bad.mark("http://203.0.113.9:8002", "slow", ttl=300.0)  # a shorter mark keeps the longer one
    now[0] = 301.0
    assert not bad.is_bad("http://198.51.100.1:1") and bad.reason("http://203.0.113.9:1") == "forged record"


# -- holder picker ---------------------------------------------------------------------


def _net(host: str) -> str:
    return holder_network("//" + host)


def test_picker_caps_per_ip_and_network_over_a_whole_search() -> None:
    p = HolderPicker(_net, total=64, rng=random.Random(1))
    att = "203.0.113.9"
    got: list[str] = []
    for batch in range(8):  # each key's lookup: 4 new ports of one attacker IP, then the honest holder
        got += p.pick([(f"http://{att}:{20000 + batch * 4 + i}", att, 20000 + batch * 4 + i) for i in range(4)]
                      + [("http://198.51.100.50:8787", "198.51.100.50", 8787)])
    assert sum(att in u for u in got) == 2 and "http://198.51.100.50:8787" in got and len(got) == 3
    assert p.pick([("http://198.51.100.51:80", "198.51.100.51", 80)]) == []  # privileged port: refused
    same_net = [(f"http://203.0.113.{i}:9000", f"203.0.113.{i}", 9000) for i in range(20, 30)]
    assert len(p.pick(same_net)) == 2  # the /24 already has 2 of its 4


def test_picker_round_robin_lets_the_honest_network_in() -> None:
    sybils = [(f"http://203.0.{n}.9:{9000 + k}", f"203.0.{n}.9", 9000 + k) for n in range(8) for k in range(4)]
    honest = ("http://198.51.100.50:8787", "198.51.100.50", 8787)
    for seed in range(20):  # one per network first: 9 networks, 9 slots, the honest one always in
        p = HolderPicker(_net, total=9, rng=random.Random(seed))
        got = p.pick([*sybils, honest])
        assert len(got) == 9 and honest[0] in got and len({_net(u.split("//")[1].rsplit(":", 1)[0]) for u in got}) == 9


# -- ranking ---------------------------------------------------------------------------


def test_trusted_first_and_per_peer_cap() -> None:
    q = Query.parse(["glacier"])
    m = Merge(q, followed=[B])
    spam = [rec(100 + i, "Glacier", artist=SigningKey.from_seed(bytes([i]) * 32).did) for i in range(10)]
    m.add("http://203.0.113.9:1", [pair(r) for r in spam])  # 10 minted top-score records from one peer
    m.add("http://203.0.113.77:2", [pair(rec(50, "Glacier Sun Rise Over"))])  # same /24 as the spammer
    m.add("http://198.51.100.5:3", [pair(rec(60, "Glacier Sun Rise Over Sea"))])  # an honest, lower score
    m.add("http://198.51.100.6:4", [pair(rec(70, "Glacier Sun", artist=B))])  # a followed artist: trusted
    m.add(LOCAL, [pair(rec(80, "Glacier Sun Rise"))])
    ranked = m.results()
    ids = [r.track_id for r in ranked]
    assert set(ids[:2]) == {rec(80)["id"], rec(70)["id"]}  # local and followed (trusted) first
    top = ranked[: 2 + MAX_TOP_PER_PEER + 1]
    assert sum(holder_network(next(iter(r.holders))) == "203.0.113.0/24" for r in top) == MAX_TOP_PER_PEER
    assert rec(60)["id"] in [r.track_id for r in top]  # the honest peer's result is not pushed out
    assert len(ranked) == 14


# -- gate ------------------------------------------------------------------------------


def test_gate_limits_concurrency_and_rate_per_ip() -> None:
    now = [0.0]
    gate = SearchGate(concurrent=2, rate=10 / 60, burst=5, monotonic=lambda: now[0])
    assert gate.enter("a") is None and gate.enter("b") is None
    assert gate.enter("c") == 1  # two running: busy
    gate.leave()
    gate.leave()
    for _ in range(4):
        assert gate.enter("a") is None
        gate.leave()
    retry = gate.enter("a")  # burst of 5 spent
    assert retry is not None and 1 <= retry <= 6
    assert gate.enter("b") is None  # another IP is not affected
    gate.leave()
    now[0] += 6.0
    assert gate.enter("a") is None


# -- verified cache ----------------------------------------------------------------------


def test_checked_answer_verifies_each_record_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import osp.node.search as S
    from osp.records.track import VerifiedTrack

    calls: list[str] = []

    def fake_verify(record: Any) -> VerifiedTrack:
        calls.append(record["id"])
        return VerifiedTrack(record)

    monkeypatch.setattr(S, "verify_track", fake_verify)
    cache = S.VerifiedCache(size=2)
    q = Query.parse(["glacier"])
    recs = [rec(1), rec(2), rec(3)]
    checked_answer(q, recs[:2], cache=cache)
    checked_answer(q, recs[:2], cache=cache)  # another holder's identical answer
    assert calls == [recs[0]["id"], recs[1]["id"]]
    checked_answer(q, [recs[2]], cache=cache, stored=lambda i, raw: i == recs[2]["id"])  # in the library
    assert len(calls) == 2
    checked_answer(q, [recs[0]], cache=cache)  # evicted (LRU of 2): verified again
    assert len(calls) == 3


# -- first_valid -------------------------------------------------------------------------


def test_first_valid_asks_in_parallel_and_remembers_the_slow() -> None:
    release = threading.Event()
    slow: list[str] = []

    def attempt(url: str) -> str:
        if url.startswith("hang"):
            release.wait(10)
            raise PeerError(f"{url}: deadline")
        if url == "down":
            raise PeerError("refused")
        if url == "missing":
            raise RemoteNotFoundError("no such track")
        time.sleep(0.05)
        return url

    try:
        start = time.monotonic()
        assert first_valid(["hang1", "hang2", "down", "good"], attempt, deadline=5.0, on_unreachable=slow.append) == "good"
        assert time.monotonic() - start < 2.0 and slow == ["down"]
        start = time.monotonic()
        with pytest.raises(RemoteNotFoundError) as info:
            first_valid(["missing", "hang3"], attempt, deadline=0.3, on_unreachable=slow.append)
        assert time.monotonic() - start < 2.0 and "hang3" in slow and "did not answer" in info.value.message
    finally:
        release.set()
