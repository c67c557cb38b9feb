"""Artist feeds on a private DHT (spec §9 feeds; BEP 44 + BEP 46): in-process nodes on
127.0.0.N plus bare DHT engines.

An artist publishes two tracks; a follower (with --audio) gets the catalog, the verified
records and the audio; the follower keeps the highest seq (a replayed item is ignored);
a catalog holding another artist's record loses that record; then the artist goes
offline and a third node that never saw it follows and gets the catalog and a track
from the follower.  The tests of this module share one network and run in order.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from osp.apps.http import NodeServer
from osp.discovery.feed import FEED_SALT, MAX_CATALOG_BYTES, catalog_encode
from osp.distribution.engine import Engine, make_v1_torrent
from osp.distribution.events import EngineConfig
from osp.distribution.pieces import piece_length_for
from osp.identity import SigningKey
from osp.node import Node, feeds
from osp.node.publish import TrackMetadata
from osp.records import build_track, sign_track, verify_track
from tests.integration.nodes import node_server

FILLERS = 4  #: bare DHT engines besides the three nodes: a private DHT of 7


def wait_for(what: str, check: Callable[[], Any], deadline: float = 45.0) -> Any:
    """Poll ``check`` (every 0.1 s) until it returns something truthy; fail past ``deadline`` s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def dht_node(data_dir: Path, ip: str, bootstrap: list[tuple[str, int]]) -> Iterator[NodeServer]:
    with node_server(data_dir, ip, dht=True, bootstrap=tuple(bootstrap), feed_poll_interval=1.0) as srv:
        yield srv


@dataclass
class Net:
    fillers: list[Engine]
    artist: NodeServer
    follower: NodeServer
    stack: contextlib.ExitStack
    tmp: Path

    def bootstrap(self) -> list[tuple[str, int]]:
        return [(f"127.0.0.{21 + i}", e.listen_port) for i, e in enumerate(self.fillers)]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> Iterator[Net]:
    monkeypatch_module.setattr(feeds, "REPUT_RETRY", 1.0)
    tmp = tmp_path_factory.mktemp("feeds")
    with contextlib.ExitStack() as stack:
        fillers: list[Engine] = []
        for i in range(FILLERS):
            known = [(f"127.0.0.{21 + j}", e.listen_port) for j, e in enumerate(fillers)]
            engine = Engine(EngineConfig(listen=(f"127.0.0.{21 + i}", 0), dht=True, bootstrap=tuple(known),
                                         local_network=True))
            stack.callback(engine.close)
            fillers.append(engine)
        boot = [(f"127.0.0.{21 + i}", e.listen_port) for i, e in enumerate(fillers)]
        artist = stack.enter_context(dht_node(tmp / "artist", "127.0.0.11", boot))
        follower = stack.enter_context(dht_node(tmp / "follower", "127.0.0.12", boot))
        yield Net(fillers, artist, follower, stack, tmp)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def follow_row(node: Node, did: str) -> dict[str, Any]:
    return next(f for f in feeds.following(node) if f["did"] == did)


def test_follower_gets_the_catalog_records_and_audio(net: Net, audio_files: dict[str, Path]) -> None:
    artist, follower = net.artist.node, net.follower.node
    did = artist.signing_key().did
    feeds.follow(follower, did, audio=True)
    published = [artist.publish(audio_files[fmt], TrackMetadata(title=f"Feed {fmt}", tags=("feedtest",)))
                 for fmt in ("mp3", "ogg")]
    ids = {p.track.id for p in published}
    started = time.monotonic()

    catalog = wait_for("the artist's feed to be put", lambda: (artist.feeds.published or None)
                       if artist.feeds.published and artist.feeds.published.count == 2 else None)
    row = wait_for("the follower to store the catalog",
                   lambda: (r := follow_row(follower, did))["catalog"] == catalog.infohash and r)
    print(f"publish → follower holds the catalog: {time.monotonic() - started:.2f} s")
    assert row["tracks"] == 2 and row["error"] is None and row["seq"] == catalog.seq
    known = follower.library.known_records(did)
    assert {k.id for k in known} == ids and all(verify_track(k.record).record["artist"] == did for k in known)
    assert follower.library.catalog_artists(exclude=follower.signing_key().did) == [did]  # (its own: its Follow)
    held = follower.library.catalog(did)
    assert held is not None and (follower.settings.data_dir / held.path).is_file()
    assert follower.engine is not None and catalog.infohash in follower.engine.infohashes()  # seeded on

    wait_for("the follower to fetch the audio", lambda: all(follower.library.track(i) for i in ids), 60)
    for p in published:
        mine = follower.library.track(p.track.id)
        assert mine is not None and mine.origin == "fetched" and mine.cid == p.track.record["cid"]


def test_the_follower_keeps_the_highest_seq(net: Net) -> None:
    artist, follower = net.artist.node, net.follower.node
    did = artist.signing_key().did
    assert follower.engine is not None
    old = follower.engine.dht_get_mutable(artist.signing_key().public_key, FEED_SALT)
    assert old is not None
    before = follow_row(follower, did)["seq"]
    started = time.monotonic()
    again = feeds.publish_feed(artist)  # a refresh: same catalog, a higher seq
    put = time.monotonic() - started
    assert again is not None and again.seq > before
    wait_for("the follower to move to the new seq", lambda: follow_row(follower, did)["seq"] == again.seq)
    print(f"put {put:.2f} s; put → follower at the new seq {time.monotonic() - started - put:.2f} s (poll every 1 s)")
    replay = feeds.handle_item(follower, did, old)  # the older item, as a replaying DHT node would give it
    assert not replay.accepted
    assert follow_row(follower, did)["seq"] == again.seq and follow_row(follower, did)["error"] is None
    assert follower.library.follow(did).highest_seq == again.seq  # type: ignore[union-attr]


def test_another_artists_record_in_a_catalog_is_dropped(net: Net) -> None:
    artist, follower = net.artist.node, net.follower.node
    did = artist.signing_key().did
    other = SigningKey.generate()
    mine = [r.record for r in artist.library.tracks() if r.origin == "published"]
    forged = dict(verify_track(mine[0]).record, title="Not Mine", artist=other.did)
    for key in ("id", "proof"):
        forged.pop(key, None)
    foreign = verify_track(sign_track(build_track(forged), other, "2026-11-21T12:00:00Z")).to_json()
    data = catalog_encode([*mine, foreign])
    infohash, metainfo = feeds.catalog_torrent(data)
    folder = feeds.feed_dir(artist.settings.data_dir, did)
    (folder / f"{infohash}.ndjson").write_bytes(data)
    assert artist.engine is not None
    artist.engine.add(metainfo, folder, seed_mode=True, file_name=f"{infohash}.ndjson")
    seq = feeds.put_feed(artist, infohash, len(mine) + 1, int(artist.library.meta("feed_seq") or 0), time.time())
    artist.library.set_meta("feed_seq", str(seq))

    row = wait_for("the follower to take the new catalog",
                   lambda: (r := follow_row(follower, did))["catalog"] == infohash and r)
    assert row["seq"] == seq
    assert {verify_track(k.record).record["artist"] for k in follower.library.known_records()} == {did}
    assert follower.library.known_record_count(did) == len(mine)


def test_an_oversized_catalog_is_refused_unfetched_and_not_retried(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed naming a 9 MiB catalog: the follower checks the size on the metadata while the
    download is held (not one byte on disk), refuses it, and a re-put of the same catalog
    (a higher seq) is not downloaded again; a feed naming a torrent the follower already
    holds (one of its tracks) leaves that torrent alone.  Then the artist's real feed."""
    artist, follower = net.artist.node, net.follower.node
    did = artist.signing_key().did
    assert artist.engine is not None and follower.engine is not None
    size = MAX_CATALOG_BYTES + 1024 * 1024
    folder = feeds.feed_dir(artist.settings.data_dir, did)
    big = folder / "big.ndjson"
    with open(big, "wb") as f:
        f.truncate(size)  # sparse zeros
    plen = piece_length_for(size)
    zero = hashlib.sha1(bytes(plen)).digest()
    metainfo = make_v1_torrent(feeds.CATALOG_FILE, size, [zero] * -(-size // plen))
    infohash = artist.engine.add(metainfo, folder, seed_mode=True, file_name=big.name)
    downloads: list[str] = []
    real = feeds._download_catalog

    def counting(node: Node, did_: str, ih: str, deadline: float) -> Any:
        downloads.append(ih)
        return real(node, did_, ih, deadline)

    monkeypatch.setattr(feeds, "_download_catalog", counting)
    results: list[feeds.PollResult] = []
    monkeypatch.setattr(follower.feeds, "on_poll", results.append)
    seq = feeds.put_feed(artist, infohash, 1, int(artist.library.meta("feed_seq") or 0), time.time())
    artist.library.set_meta("feed_seq", str(seq))
    wait_for("the follower to refuse the big catalog", lambda: "over" in str(follow_row(follower, did)["error"]))
    assert downloads == [infohash] and not follower.engine.has_torrent(infohash)
    assert not (feeds.feed_dir(follower.settings.data_dir, did) / f"{infohash}.ndjson").exists()
    again = feeds.put_feed(artist, infohash, 1, seq, time.time())  # a refresh of the same catalog
    artist.library.set_meta("feed_seq", str(again))
    wait_for("a poll of the refreshed item", lambda: any(r.seq == again for r in results))
    assert downloads == [infohash]  # remembered: not downloaded again

    track = next(r for r in follower.library.tracks() if r.artist == did)  # the follower holds its torrent
    audio_ih = verify_track(track.record).infohash
    assert follower.engine.has_torrent(audio_ih)
    seq = feeds.put_feed(artist, audio_ih, 1, again, time.time())
    artist.library.set_meta("feed_seq", str(seq))
    wait_for("the follower to refuse a catalog it holds as a track", lambda: any(r.seq == seq for r in results))
    assert follower.engine.has_torrent(audio_ih) and follower.library.track(track.id) is not None

    published = feeds.publish_feed(artist)  # back to the artist's real catalog
    assert published is not None
    wait_for("the follower to take the real catalog",
             lambda: (r := follow_row(follower, did))["catalog"] == published.infohash and r["error"] is None)


def test_a_new_node_gets_the_catalog_and_a_track_while_the_artist_is_offline(net: Net) -> None:
    artist, follower = net.artist.node, net.follower.node
    did = artist.signing_key().did
    catalog = follow_row(follower, did)["catalog"]
    ids = {k.id for k in follower.library.known_records(did)}
    net.artist.stop()  # the artist goes offline
    wait_for("the artist to stop", lambda: artist.engine is None, 30)

    with dht_node(net.tmp / "third", "127.0.0.13", net.bootstrap()) as third_srv:
        third = third_srv.node
        feeds.follow(third, did, audio=True)
        started = time.monotonic()
        row = wait_for("the third node to get the catalog from the follower",
                       lambda: (r := follow_row(third, did))["catalog"] == catalog and r, 60)
        print(f"follow → catalog from the follower (artist offline): {time.monotonic() - started:.2f} s")
        assert row["tracks"] == len(ids) and {k.id for k in third.library.known_records(did)} == ids
        got = wait_for("a track from the follower", lambda: [i for i in ids if third.library.track(i)], 60)
        print(f"follow → first track from the follower: {time.monotonic() - started:.2f} s")
        assert got
