"""Following artists' feeds without a network: the library's follow/catalog rows, the
DID check, and the poller's decision on items handed to it directly (replays, rollbacks,
forged signatures, a value that lies about its seq)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from osp.core.errors import CallerError, NotFoundError
from osp.core.settings import Settings
from osp.discovery.feed import FEED_SALT, FeedValue, signing_bytes
from osp.distribution.events import MutableItem
from osp.identity import SigningKey
from osp.library.store import CatalogRow, Library
from osp.node import feeds
from osp.node.core import Node
from osp.records import build_track, sign_track, verify_track

ARTIST = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(1, 33)))
NOW = 1_790_000_000.0
CATALOG = "ab" * 20


def record(key: SigningKey = ARTIST, title: str = "Glacier Drift") -> bytes:
    fields: dict[str, Any] = {
        "title": title, "artist": key.did, "artistName": "Test Artist", "duration": 195.5,
        "format": "audio/ogg", "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu",
        "cidProfile": "unixfs-v1-2025", "size": 2300248,
        "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87&dn=x.ogg&xl=2300248",
        "released": "2026-11-21", "license": "CC0-1.0", "tags": ["ambient"],
    }
    return verify_track(sign_track(build_track(fields), key, "2026-11-21T12:00:00Z")).to_json()


def item(seq: int, *, catalog: str = CATALOG, value_seq: int | None = None, key: SigningKey = ARTIST,
         signer: SigningKey | None = None, expires: float = NOW + 3600) -> MutableItem:
    value = FeedValue(catalog=catalog, seq=seq if value_seq is None else value_seq, count=1, expires=int(expires)).encode()
    signature = (signer or key).sign(signing_bytes(FEED_SALT, seq, value))
    return MutableItem(public=key.public_key, salt=FEED_SALT, seq=seq, value=value, signature=signature,
                       authoritative=True)


@pytest.fixture
def node(tmp_path: Path) -> Any:
    n = Node(Settings(data_dir=tmp_path / "n", dht=False), clock=lambda: NOW)
    yield n
    n.close()


def test_follow_rows_and_catalogs(tmp_path: Path) -> None:
    with Library(tmp_path / "lib.sqlite3") as lib:
        row = lib.add_follow(ARTIST.did, audio=False, now=NOW)
        assert (row.did, row.audio, row.highest_seq, row.catalog) == (ARTIST.did, False, None, None)
        assert lib.add_follow(ARTIST.did, audio=True, now=NOW + 5).audio  # following again: only audio changes
        assert lib.follows()[0].followed_at == NOW
        assert lib.raise_follow_seq(ARTIST.did, 7) and not lib.raise_follow_seq(ARTIST.did, 3)
        assert lib.follow(ARTIST.did).highest_seq == 7  # type: ignore[union-attr]

        track = verify_track(record())
        first = CatalogRow(ARTIST.did, CATALOG, b"d4:infod", "feeds/x/a.ndjson", 9, 1, NOW)
        assert lib.store_catalog(first, [track], follow=True) is None
        assert lib.follow(ARTIST.did).catalog == CATALOG and lib.follow(ARTIST.did).highest_seq == 9  # type: ignore[union-attr]
        assert [k.id for k in lib.known_records(ARTIST.did)] == [track.id] and lib.known_record_count(ARTIST.did) == 1
        assert lib.known_record(track.id).source == f"catalog:{CATALOG}"  # type: ignore[union-attr]
        assert lib.catalog_artists() == [ARTIST.did] and lib.catalog_artists(exclude=ARTIST.did) == []
        second = CatalogRow(ARTIST.did, "cd" * 20, b"d4:infod", "feeds/x/b.ndjson", 4, 1, NOW)
        assert lib.store_catalog(second, [track], follow=True) == first  # the replaced one comes back to drop
        assert lib.follow(ARTIST.did).highest_seq == 9  # type: ignore[union-attr]  # never lowered

        assert lib.remove_follow(ARTIST.did) == second
        assert lib.known_records() == [] and lib.catalogs() == [] and lib.follows() == []
        with pytest.raises(NotFoundError):
            lib.remove_follow(ARTIST.did)


def test_did_check() -> None:
    assert feeds.check_did(f"  {ARTIST.did} ") == ARTIST.did
    for junk in ("", "did:key:", "did:key:z6MkJunk", "did:web:example.com", ARTIST.did + "#x", "z6Mk"):
        with pytest.raises(CallerError):
            feeds.check_did(junk)


def test_catalog_torrent_is_deterministic() -> None:
    data = b"".join(sorted([record(), record(title="Other")]))
    ih, metainfo = feeds.catalog_torrent(data)
    assert feeds.catalog_torrent(data) == (ih, metainfo) and len(ih) == 40
    assert feeds.catalog_torrent(data + b"\n")[0] != ih


def test_judge_item() -> None:
    pub = ARTIST.public_key
    assert isinstance(feeds.judge_item(pub, None, item(1), NOW), FeedValue)
    assert isinstance(feeds.judge_item(pub, 4, item(5), NOW), FeedValue)
    for bad in (item(4), item(3)):  # a replay, a rollback
        assert isinstance(feeds.judge_item(pub, 4, bad, NOW), str)
    assert "signature" in str(feeds.judge_item(pub, None, item(5, signer=OTHER), NOW))
    assert isinstance(feeds.judge_item(pub, None, item(5, value_seq=6), NOW), str)  # the value lies about its seq
    assert isinstance(feeds.judge_item(pub, None, item(5, expires=NOW - 1), NOW), str)
    assert isinstance(feeds.judge_item(OTHER.public_key, None, item(5), NOW), str)  # another artist's key


def test_poller_ignores_replays_and_keeps_the_highest_seq(node: Node) -> None:
    feeds.follow(node, ARTIST.did)
    node.library.store_catalog(CatalogRow(ARTIST.did, CATALOG, b"d4:infod", "feeds/x/a.ndjson", 5, 1, NOW),
                               [verify_track(record())], follow=True)
    for seq in (5, 3, 0):  # the same item again, an older one: ignored, not an error
        result = feeds.handle_item(node, ARTIST.did, item(seq, catalog="ef" * 20))
        assert not result.accepted and result.reason
        assert node.library.follow(ARTIST.did).error is None  # type: ignore[union-attr]
    forged = feeds.handle_item(node, ARTIST.did, item(9, signer=OTHER))
    assert not forged.accepted and "signature" in (forged.reason or "")
    assert node.library.follow(ARTIST.did).error  # type: ignore[union-attr]
    refresh = feeds.handle_item(node, ARTIST.did, item(8))  # a newer item, same catalog: the seq moves on
    assert refresh.accepted
    row = node.library.follow(ARTIST.did)
    assert row is not None and row.highest_seq == 8 and row.catalog == CATALOG and row.error is None
    assert not feeds.handle_item(node, ARTIST.did, item(7)).accepted
    assert node.library.follow(ARTIST.did).highest_seq == 8  # type: ignore[union-attr]


def test_only_older_items_are_logged_once_each(node: Node, caplog: pytest.LogCaptureFixture) -> None:
    feeds.follow(node, ARTIST.did)
    node.library.store_catalog(CatalogRow(ARTIST.did, CATALOG, b"d4:infod", "feeds/x/a.ndjson", 5, 1, NOW),
                               [verify_track(record())], follow=True)
    caplog.set_level(logging.INFO, logger="osp")
    for _poll in range(3):  # the held item, polled again and again: not a replay, nothing logged
        assert not feeds.handle_item(node, ARTIST.did, item(5)).accepted
    assert "ignored item" not in caplog.text
    for _poll in range(3):  # an older item (a replay or a rollback): logged once
        assert not feeds.handle_item(node, ARTIST.did, item(3)).accepted
    assert caplog.text.count("ignored item seq 3") == 1 and "seq 5" not in caplog.text


def test_no_identity_and_nothing_published_puts_nothing_quietly(node: Node) -> None:
    quiet = SimpleNamespace(engine=object(), settings=SimpleNamespace(dht=True), keystore=node.keystore,
                            library=node.library, signing_key=node.signing_key)
    assert not node.keystore.exists()
    assert feeds.publish_feed(quiet) is None  # type: ignore[arg-type]  # no KeystoreError ("run osp id init")


def test_follow_refuses_junk_and_self(node: Node) -> None:
    node.keystore.create()
    own = node.signing_key().did
    with pytest.raises(CallerError, match="own identity"):
        feeds.follow(node, own)
    with pytest.raises(CallerError):
        feeds.follow(node, "did:key:nope")
    feeds.follow(node, ARTIST.did, audio=True)
    assert [f["did"] for f in feeds.following(node)] == [ARTIST.did] and feeds.following(node)[0]["audio"]
    assert feeds.unfollow(node, ARTIST.did) and feeds.following(node) == []
    with pytest.raises(NotFoundError):
        feeds.unfollow(node, ARTIST.did)


def test_known_records_answer_the_peer_search_route(node: Node) -> None:
    from osp.discovery.search import Query
    from osp.node.search import peer_answer
    from osp.records import strict_loads

    feeds.follow(node, ARTIST.did)
    track = verify_track(record())
    node.library.store_catalog(CatalogRow(ARTIST.did, CATALOG, b"d4:infod", "feeds/x/a.ndjson", 5, 1, NOW), [track],
                               follow=True)
    answer = strict_loads(peer_answer(node, Query.parse([], ARTIST.did, [], 10)))
    assert [r["id"] for r in answer["results"]] == [track.id]
    assert strict_loads(peer_answer(node, Query.parse(["glacier"], None, [], 10)))["results"][0]["id"] == track.id
    assert strict_loads(peer_answer(node, Query.parse([], OTHER.did, [], 10)))["results"] == []
    assert node.resolve(track.id).id == track.id  # a followed artist's record resolves here, without a peer


def test_a_refused_catalog_is_not_downloaded_again(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    from osp.core.errors import IntegrityError, PeerError

    feeds.follow(node, ARTIST.did)
    calls: list[str] = []
    failure: list[Exception] = [IntegrityError("the catalog is 4294967296 bytes, over 8388608", check="size")]

    def download(node: Node, did: str, infohash: str, deadline: float) -> Any:
        calls.append(infohash)
        raise failure[0]

    monkeypatch.setattr(feeds, "_download_catalog", download)
    first = feeds.handle_item(node, ARTIST.did, item(1))
    assert not first.accepted and "over" in str(first.reason) and calls == [CATALOG]
    again = feeds.handle_item(node, ARTIST.did, item(2))  # a re-put of the same catalog: a higher seq
    assert not again.accepted and again.reason == first.reason and calls == [CATALOG]  # not fetched again
    assert node.library.follow(ARTIST.did).error == first.reason  # type: ignore[union-attr]
    failure[0] = PeerError("the catalog did not arrive")  # not arrived: tried again at the next poll
    feeds.handle_item(node, ARTIST.did, item(3, catalog="cd" * 20))
    feeds.handle_item(node, ARTIST.did, item(4, catalog="cd" * 20))
    assert calls == [CATALOG, "cd" * 20, "cd" * 20]


def test_a_stuck_follow_does_not_hold_up_the_others(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    feeds.follow(node, ARTIST.did)
    feeds.follow(node, OTHER.did)
    release = threading.Event()
    seen: list[str] = []

    def poll(node: Node, did: str, timeout: float = 10.0) -> feeds.PollResult:
        if did == ARTIST.did:
            release.wait(20)  # a catalog that never arrives
        return feeds.PollResult(did, None, False, reason="test")

    monkeypatch.setattr(feeds, "poll_feed", poll)
    service = node.feeds
    service.on_poll = lambda result: seen.append(result.did)
    thread = threading.Thread(target=service._poller, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 10
        while OTHER.did not in seen and time.monotonic() < end:
            release.wait(0.05)
        assert seen == [OTHER.did]  # polled while the first follow's poll is stuck
    finally:
        release.set()
        service.close()
        thread.join(10)
    assert not thread.is_alive()


def test_missing_audio_comes_from_the_records_table(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    import osp.records.track as track_module

    feeds.follow(node, ARTIST.did, audio=True)
    track = verify_track(record())
    node.library.store_catalog(CatalogRow(ARTIST.did, CATALOG, b"d4:infod", "feeds/x/a.ndjson", 5, 1, NOW), [track],
                               follow=True)
    queued: list[str] = []
    monkeypatch.setattr(node.feeds, "fetch_audio", lambda tracks: queued.extend(t.id for t in tracks))
    monkeypatch.setattr(track_module, "_validator", lambda: pytest.fail("a stored record was verified again"))
    node.feeds._missing_audio(ARTIST.did)
    assert queued == [track.id]
