"""The cache quota with real nodes on loopback (issue 7, "Listeners seed what they play").

A listener with a small quota fetches three tracks, plays them in a given order (a manual
clock, never a sleep) and keeps exactly the most recently played within the quota: the
evicted file is deleted, the engine no longer seeds it, ``osp ls`` and ``osp status`` say
so.  A smaller quota at the next start evicts at start-up; a track being streamed is never
evicted; the publisher's own tracks never count.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from osp.core.settings import Settings
from osp.node import Node, TrackMetadata
from tests.integration.nodes import jsonl, node_server, osp


class ManualClock:
    """Unix seconds that move only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_small_cache_keeps_the_most_recently_played(tmp_path: Path, music: list[Path],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="osp.cache")
    by_size = sorted(music, key=lambda p: p.stat().st_size)
    clock = ManualClock(1_800_000_000.0)
    with node_server(tmp_path / "a", "127.0.0.2", cache_size=0) as a:
        # t2 is the smallest, so t1 and t2 fit where t1 and t3 fit exactly
        published = {name: a.node.publish(path, TrackMetadata(title=name)) for name, path in
                     (("t2", by_size[0]), ("t1", by_size[1]), ("t3", by_size[2]))}
        ids = {name: p.track.id for name, p in published.items()}
        size = {name: int(p.track.record["size"]) for name, p in published.items()}
        quota = size["t1"] + size["t3"]
        with node_server(tmp_path / "b", "127.0.0.3", clock=clock, cache_size=quota) as b:
            auth = {"Authorization": f"Bearer {b.token}"}

            def fetch(name: str) -> None:
                clock.now += 100
                state = b.node.fetch(ids[name], a.peer_url).wait(60)
                assert state.state == "complete", state

            def play(name: str) -> None:
                clock.now += 100
                r = httpx.get(f"{b.control_url}/stream/{ids[name]}", headers={**auth, "Range": "bytes=0-1023"}, timeout=30)
                assert r.status_code == 206 and len(r.content) == 1024

            fetch("t1")
            fetch("t2")
            assert {t.id for t in b.node.tracks()} == {ids["t1"], ids["t2"]}, "both fit"
            play("t2")
            play("t1")
            t2_file = b.node.settings.data_dir / b.node.library.file(published["t2"].track.record["cid"]).path  # type: ignore[union-attr]
            assert t2_file.exists()
            fetch("t3")  # over the quota: t2 was played least recently

            assert {t.id for t in b.node.tracks()} == {ids["t1"], ids["t3"]}
            evictions = [r.getMessage() for r in caplog.records if r.name == "osp.cache"]
            assert len(evictions) == 1 and ids["t2"] in evictions[0], "each eviction is logged once"
            assert not t2_file.exists(), "the evicted file is deleted"
            engine = b.node.engine
            assert engine is not None and not engine.has_torrent(published["t2"].infohash)
            assert engine.has_torrent(published["t1"].infohash) and engine.has_torrent(published["t3"].infohash)
            listed = {t["id"] for t in jsonl(osp(b.node.settings.data_dir, "ls", "--json"))}
            assert listed == {ids["t1"], ids["t3"]}
            (status,) = jsonl(osp(b.node.settings.data_dir, "status", "--json"))
            assert status["cache"] == {"used": quota, "quota": quota, "tracks": 2}
            assert "cache " in osp(b.node.settings.data_dir, "status").stdout
            last = {t.id: t.last_played for t in b.node.tracks()}
            assert last == {ids["t1"]: clock.now - 100, ids["t3"]: clock.now}
        assert a.node.enforce_cache() == [] and len(a.node.tracks()) == 3, "published tracks never count"

    # the next start with room for one track evicts at start-up, least recently played first
    settings = Settings(data_dir=tmp_path / "b", listen=("127.0.0.3", 0), http=("127.0.0.3", 0),
                        control=("127.0.0.1", 0), dht=False, allow_private_peers=True, cache_size=size["t3"])
    node = Node(settings, clock=clock)
    try:
        node.start_engine()
        assert [t.id for t in node.tracks()] == [ids["t3"]]
        assert node.engine is not None and node.engine.infohashes() == [published["t3"].infohash]
    finally:
        node.close()

    # a track being streamed is never evicted, even by a quota of 0; once the stream ends it is
    node = Node(settings.replace(cache_size=0), clock=clock)
    try:
        reading = node.stream_source(ids["t3"]).read(0, 9)
        assert len(next(reading)) == 10
        assert node.enforce_cache() == [] and node.cache_usage().used == size["t3"]
        reading.close()
        assert node.enforce_cache() == [ids["t3"]] and node.tracks() == []
        assert node.cache_usage().to_json() == {"used": 0, "quota": 0, "tracks": 0}
    finally:
        node.close()



def test_records_of_one_file_count_once_and_go_together(tmp_path: Path, music: list[Path]) -> None:
    """The same audio signed by two keys is two records and one file: the quota counts its
    bytes once (it did N times, evicting the user's other tracks early), and evicting it
    removes both records with the file."""
    with node_server(tmp_path / "a", "127.0.0.81") as a, node_server(tmp_path / "a2", "127.0.0.82") as a2:
        one = a.node.publish(music[0], TrackMetadata(title="Same audio"))
        two = a2.node.publish(music[0], TrackMetadata(title="Same audio, other key"))
        other = a.node.publish(music[1], TrackMetadata(title="Other"))
        b = Node(Settings(data_dir=tmp_path / "b", listen=("127.0.0.83", 0), http=("127.0.0.83", 0),
                          control=("127.0.0.1", 0), dht=False, allow_private_peers=True))
        try:
            size = one.track.record["size"]
            for published, peer in ((one, a.peer_url), (two, a2.peer_url), (other, a.peer_url)):
                assert b.fetch(published.track.id, peer).wait(60).state == "complete"
            usage = b.cache_usage()
            assert (usage.used, usage.tracks) == (size + other.track.record["size"], 2)
            # a quota that holds only the larger item evicts the shared file's two records at once
            b.settings = b.settings.replace(cache_size=max(size, other.track.record["size"]))
            b.library.set_last_played(one.track.id, 1.0)
            b.library.set_last_played(two.track.id, 2.0)
            b.library.set_last_played(other.track.id, 3.0)
            assert sorted(b.enforce_cache()) == sorted([one.track.id, two.track.id])
            assert b.library.track(other.track.id) is not None
            assert b.library.file(one.track.record["cid"]) is None
        finally:
            b.close()
