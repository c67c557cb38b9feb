"""``osp.node.recommend.RecommendService`` on a real library (no engine): nothing is fitted
on the request path, refits follow the signal tables, plays count at once, trust weights
are reused while the trust result is the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osp.core.settings import Settings
from osp.identity.keys import SigningKey
from osp.library.social import SocialRecords
from osp.library.store import CatalogRow
from osp.node.core import Node
from osp.node.recommend import STILL_FITTING, gate_source
from osp.records import build_track, sign_track, verify_track
from osp.records.social import build_social, sign_social, verify_social

ARTIST = SigningKey.from_seed(bytes([7]) * 32)


def record(title: str, name: str | None = None, signed: str = "2026-11-21T12:00:00Z") -> Any:
    fields = {"title": title, "artist": ARTIST.did, **({"artistName": name} if name else {}), "duration": 100.0, "format": "audio/ogg",
              "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "cidProfile": "unixfs-v1-2025",
              "size": 1000, "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87&dn=x.ogg&xl=1000",
              "released": "2026-11-21", "license": "CC0-1.0"}
    return verify_track(sign_track(build_track(fields), ARTIST, signed))


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path / "n", dht=False), clock=lambda: 1_790_000_000.0)
    n.keystore.create()
    n.recommend.min_interval = n.recommend.duty = 0.0
    n.recommend.check_interval = 3600.0  # the test drives refits itself
    yield n
    n.close()


@pytest.fixture
def tracks(node: Node) -> list[str]:
    records = [record(f"T{i}") for i in range(6)]
    node.library.store_catalog(CatalogRow(ARTIST.did, "c" * 40, b"", "x", 1, 6, 1.0), records, follow=True)
    store = SocialRecords(node.library)
    for f in range(8):
        fan = SigningKey.from_seed(bytes([f + 1]) * 32)
        for i in (0, 1, 2) if f % 2 else (3, 4, 5):
            assert store.add(verify_social(sign_social(build_social("like", fan.did, {"subject": records[i].id}),
                                                       fan, "2026-12-01T10:00:00Z")), own=False, now=1.0)
    return [r.id for r in records]


def test_no_fit_on_the_request_path(node: Node, tracks: list[str]) -> None:
    service = node.recommend
    service.close()  # no background thread (it would not start again): whatever fits here, the request did
    first = service.recommend(5)
    assert first == {"tracks": [], "coldStart": True, "model": None, "message": STILL_FITTING}
    assert service.more_like_this(tracks[0])["model"] is None
    assert service.refit()  # what the background thread does
    answer = service.recommend(5)
    assert answer["model"]["tracks"] == 6 and answer["coldStart"]  # no plays yet: popularity
    assert {t["why"] for t in answer["tracks"]} == {"popular with 4 people on the network"}  # 4 fans each


def test_refits_follow_the_signals_and_plays_count_at_once(node: Node, tracks: list[str]) -> None:
    service = node.recommend
    service.close()  # the test is the background thread
    assert service.refit(force=False)  # never fitted: due
    assert not service.refit(force=False)  # nothing changed
    service.play(tracks[0], 240)
    warm = service.recommend(2)
    assert not warm["coldStart"] and {t["id"] for t in warm["tracks"]} == set(tracks[1:3])  # before any refit
    assert all(t["why"] == "liked by 4 people who like T0" for t in warm["tracks"])
    assert service.refit(force=False)  # one play in a small library is enough (min_interval 0 here)
    assert not service.refit(force=False)


def test_trust_weights_are_reused_and_the_gate_applies(node: Node, tracks: list[str]) -> None:
    service = node.recommend
    scores = {ARTIST.did: 0.01}
    service.trust_source = lambda: (scores, lambda track, _artist: track != tracks[1])
    service.refit()
    service.play(tracks[0], 240)
    ids = [t["id"] for t in service.recommend(5)["tracks"]]
    assert tracks[1] not in ids and tracks[2] in ids
    weights = service._weights
    assert weights is not None and weights[0] is scores
    service.recommend(5)
    assert service._weights is weights  # the same mapping: not rebuilt


def test_gate_source_adapts_the_web_of_trust() -> None:
    class Scores:
        ids = ("did:key:me", "did:key:good", "did:key:spam")
        effective = [0.5, 0.01, 0.0]

    calls: list[tuple[str | None, list[str]]] = []

    def judge(scores: Any, gate: Any, *, author: str | None, subjects: list[str]) -> str | None:
        calls.append((author, subjects))
        return "flagged spam" if author == "did:key:spam" or "osp:track:bad" in subjects else None

    current: list[Any] = [None]
    source = gate_source(lambda: current[0], lambda: "gate", judge)
    assert source() is None  # no trust computed yet
    current[0] = Scores()
    got = source()
    assert got is not None
    scores, keep = got
    assert scores == {"did:key:me": 0.5, "did:key:good": 0.01, "did:key:spam": 0.0}
    assert keep is not None and keep("osp:track:x", "did:key:good") and not keep("osp:track:x", "did:key:spam")
    assert not keep("osp:track:bad", "did:key:good") and calls[-1] == ("did:key:good", ["osp:track:bad"])
    again = source()
    assert again is not None and again[0] is scores  # the same computation: the same dict
    current[0] = Scores()
    fresh = source()
    assert fresh is not None and fresh[0] is not scores


def test_cli_without_a_running_node(node: Node, tracks: list[str]) -> None:
    from tests.integration.nodes import osp

    node.recommend.play(tracks[3], 300)
    data = node.settings.data_dir
    node.close()
    shown = json.loads(osp(data, "recommend", "--limit", "2", "--json").stdout)
    assert not shown["coldStart"] and {t["title"] for t in shown["tracks"]} == {"T4", "T5"}
    assert shown["model"]["tracks"] == 6
    like = json.loads(osp(data, "recommend", "--like", tracks[0], "--limit", "2", "--json").stdout)
    assert {t["title"] for t in like["tracks"]} == {"T1", "T2"}
    history = json.loads(osp(data, "history", "--json").stdout)
    assert history["plays"] == 1 and history["tracks"][0]["title"] == "T3"
    assert "T3" in osp(data, "history").stdout
    assert json.loads(osp(data, "history", "--clear", "--json").stdout) == {"cleared": 1}


def test_entries_name_the_artist_from_their_records_and_an_empty_answer_says_what_to_do(node: Node,
                                                                                         tracks: list[str]) -> None:
    service = node.recommend
    service.close()
    named = [record("Old name", "Old Name", "2026-11-01T12:00:00Z"), record("New name", "New Name", "2026-11-30T12:00:00Z")]
    node.library.store_catalog(CatalogRow(ARTIST.did, "d" * 40, b"", "x", 2, 2, 2.0), named, follow=True)
    assert service.refit()
    answer = service.recommend(20)
    unnamed = [t for t in answer["tracks"] if t["title"].startswith("T")]
    assert unnamed and all(t["artistName"] == "New Name" for t in unnamed)  # no "?": the artist's newest claim
    assert answer["message"] is None
    for t in tracks + [r.id for r in named]:  # everything played: nothing new
        service.play(t, 100)
    empty = service.recommend(20)
    assert empty["tracks"] == [] and not empty["coldStart"]
    assert empty["message"].startswith("Nothing new to recommend: you have played, liked or published every track")


def test_cli_text_names_the_artist_and_says_what_to_do_when_empty(node: Node, tmp_path: Path) -> None:
    from tests.integration.nodes import osp

    named = record("Named", "The Artist", "2026-11-30T12:00:00Z")
    node.library.store_catalog(CatalogRow(ARTIST.did, "e" * 40, b"", "x", 1, 2, 1.0), [record("T0"), named],
                               follow=True)
    data = node.settings.data_dir
    node.close()
    empty = osp(data, "recommend")  # tracks known, but no signal at all: a cold start with nothing popular
    assert empty.stdout == ""
    assert "Nothing to recommend yet: like or play a few tracks, or follow an artist." in empty.stderr
    assert "osp like TRACK_ID" in empty.stderr
    fresh = osp(tmp_path / "new", "recommend")
    assert "No track is known here yet: follow an artist" in fresh.stderr
    store = Node(Settings(data_dir=data, dht=False))
    try:
        fan = SigningKey.from_seed(bytes([99]) * 32)
        for t in store.library.known_records(ARTIST.did):
            assert SocialRecords(store.library).add(verify_social(sign_social(
                build_social("like", fan.did, {"subject": t.id}), fan, "2026-12-01T10:00:00Z")), own=False, now=1.0)
    finally:
        store.close()
    shown = osp(data, "recommend").stdout
    assert "T0 — The Artist · popular with 1 person on the network" in shown and "?" not in shown
