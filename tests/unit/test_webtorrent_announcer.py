"""``osp.node.webtorrent``: every torrent the engine holds gets the node's WebTorrent tracker."""

from __future__ import annotations

import time

from osp.core.errors import NotFoundError
from osp.node.webtorrent import WebTorrentAnnouncer, tracker_url

URL = "ws://127.0.0.1:8789/announce"


class FakeEngine:
    """The three ``Engine`` calls the announcer makes, over a dict of handles."""

    def __init__(self) -> None:
        self.trackers: dict[str, list[str]] = {}

    def infohashes(self) -> list[str]:
        return list(self.trackers)

    def add_tracker(self, infohash: str, url: str) -> None:
        if infohash not in self.trackers:
            raise NotFoundError(infohash)
        self.trackers[infohash].append(url)

    def sources(self, infohash: str) -> tuple[list[str], list[str]]:
        if infohash not in self.trackers:
            raise NotFoundError(infohash)
        return list(self.trackers[infohash]), []


def test_tracker_url() -> None:
    assert tracker_url("http://127.0.0.1:8789") == URL
    assert tracker_url("https://node.example") == "wss://node.example/announce"
    assert tracker_url("http://[::1]:9") == "ws://[::1]:9/announce"


def test_every_torrent_gets_the_tracker_once_and_again_after_a_re_add() -> None:
    engine = FakeEngine()
    engine.trackers = {"a" * 40: [], "b" * 40: []}
    announcer = WebTorrentAnnouncer(engine, URL)  # type: ignore[arg-type]
    assert announcer.sweep() == 2 and announcer.sweep() == 0
    assert engine.trackers == {"a" * 40: [URL], "b" * 40: [URL]}
    engine.trackers["c" * 40] = []
    assert announcer.sweep() == 1
    # removed and added again between two looks: a new handle without the tracker
    engine.trackers["a" * 40] = []
    assert announcer.sweep() == 0  # a plain look cannot tell ...
    assert announcer.sweep(verify=True) == 1 and engine.trackers["a" * 40] == [URL]  # ... a verifying one can
    del engine.trackers["b" * 40]
    announcer.sweep()
    assert announcer.announced == {"a" * 40, "c" * 40}


def test_the_thread_sweeps_and_stops() -> None:
    engine = FakeEngine()
    engine.trackers = {"a" * 40: []}
    announcer = WebTorrentAnnouncer(engine, URL, period=0.01)  # type: ignore[arg-type]
    announcer.start()
    engine.trackers["b" * 40] = []
    announcer.poke()
    deadline = time.monotonic() + 5
    while engine.trackers["b" * 40] != [URL]:
        assert time.monotonic() < deadline, "not swept"
        time.sleep(0.01)
    announcer.close()
    assert not announcer._thread.is_alive()
