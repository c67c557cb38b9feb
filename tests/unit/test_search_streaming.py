"""Holders asked as the DHT names them (a lookup that lasts seconds, dead DHT nodes, does not
hold up the first results), the search-wide per-IP cap over streamed batches, and the
second lookup of a resolve by id whose first holders all failed.  A fake engine stands in
for libtorrent; the holders are HTTP servers on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from osp.core.errors import PeerError, RemoteNotFoundError
from osp.core.settings import Settings
from osp.discovery.keys import RendezvousKey
from osp.discovery.search import Query
from osp.node import discovery as D
from osp.node.core import Node
from osp.node.search import search
from osp.records import verify_track
from osp.records.track import VerifiedTrack
from tests.unit.test_feed_follow import ARTIST
from tests.unit.test_feed_follow import record as signed_record


def record(title: str = "Glacier Drift") -> dict[str, Any]:
    return verify_track(signed_record(ARTIST, title)).record


class FakeEngine:
    """``dht_get_peers`` streams ``peers`` at once, then runs on until ``timeout`` (a lookup
    waiting on dead DHT nodes); ``calls`` records each lookup's ``settle``."""

    def __init__(self, peers: list[tuple[str, int]]) -> None:
        self.peers = peers
        self.calls: list[float] = []
        self.stop = threading.Event()

    def reachability(self) -> Any:
        return SimpleNamespace(dht_nodes=5)

    def dht_get_peers(self, key: bytes, timeout: float = 10.0, *, settle: float = 1.0,
                      on_peers: Callable[[list[tuple[str, int]]], None] | None = None) -> list[tuple[str, int]]:
        self.calls.append(settle)
        if on_peers is not None:
            on_peers(list(self.peers))
        self.stop.wait(timeout)
        return list(self.peers)


def serve(body: bytes, asked: list[str]) -> http.server.ThreadingHTTPServer:
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path / "n", dht=True, allow_private_peers=True))
    yield n
    n.engine = None  # the fake: nothing to close
    n.close()


def test_a_streamed_holder_is_asked_before_its_lookup_ends(node: Node) -> None:
    asked: list[str] = []
    servers = [serve(json.dumps({"results": [record()]}).encode(), asked) for _ in range(3)]
    engine = FakeEngine([("127.0.0.1", s.server_address[1]) for s in servers])
    node.engine = engine  # type: ignore[assignment]
    try:
        found: list[float] = []
        start = time.monotonic()
        summary = search(node, Query.parse(["glacier", "drift"]), timeout=6.0,
                         on_result=lambda _r: found.append(time.monotonic() - start))
        assert found and found[0] < 3.0, found  # the lookups ran until the 6 s deadline
        assert summary.first_result_at is not None and summary.first_result_at < 3.0
        assert summary.keys == 2 and summary.results == 1
        # two keys streamed the same three holders on one address: two asked in all (per-IP cap)
        assert summary.asked == 2 and len(asked) == 2 and summary.answered == 2
    finally:
        engine.stop.set()
        for s in servers:
            s.shutdown()


def test_holder_candidates_stream_each_once_and_return_all(node: Node) -> None:
    engine = FakeEngine([("127.0.0.1", 4001), ("127.0.0.1", 4001), ("127.0.0.2", 4002), ("127.0.0.3", 4003)])
    engine.stop.set()  # the lookup ends at once
    node.engine = engine  # type: ignore[assignment]
    batches: list[list[tuple[str, str, int]]] = []
    key = RendezvousKey("word", "glacier", bytes(20))
    out = node.discovery.holder_candidates(key, 1.0, on_candidates=batches.append,
                                           exclude={"http://127.0.0.3:4003"})
    assert [u for u, _h, _p in out] == ["http://127.0.0.1:4001", "http://127.0.0.2:4002"]
    assert [u for b in batches for u, _h, _p in b] == ["http://127.0.0.1:4001", "http://127.0.0.2:4002"]
    assert sorted(node.discovery.holders(key, 1.0, settle=3.0)) == [
        "http://127.0.0.1:4001", "http://127.0.0.2:4002", "http://127.0.0.3:4003"]
    assert engine.calls == [D.LOOKUP_SETTLE, 3.0]


def test_resolve_looks_up_again_when_every_holder_failed(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    track = verify_track(record())
    lookups: list[tuple[float, frozenset[str]]] = []

    def holders(key: RendezvousKey, timeout: float, *, settle: float = 1.0, exclude: Any = ()) -> list[str]:
        lookups.append((settle, frozenset(exclude)))
        return ["http://good:1"]

    def remote(track_id: str, url: str, deadline: float | None = None) -> VerifiedTrack:
        if url.startswith("http://dead"):
            raise PeerError(f"cannot reach peer {url}")
        if url == "http://missing:1":
            raise RemoteNotFoundError("no such track")
        return track

    monkeypatch.setattr(node.discovery, "holders", holders)
    monkeypatch.setattr(node, "_resolve_remote", remote)
    got, used = node._resolve_holders(track.id, ["http://dead:1", "http://missing:1"])
    assert got.id == track.id and used == ["http://good:1"]
    assert lookups == [(D.RETRY_SETTLE, frozenset({"http://dead:1", "http://missing:1"}))]
    assert node.bad_peers.is_bad("http://dead:1")  # the unreachable one is skipped a while

    lookups.clear()
    got, used = node._resolve_holders(track.id, ["http://good:1"])  # the first holder answers: no second lookup
    assert used == ["http://good:1"] and lookups == []

    monkeypatch.setattr(node.discovery, "holders", lambda *a, **k: lookups.append((0.0, frozenset())) or [])
    with pytest.raises(PeerError, match="second DHT lookup .* found no other holder"):
        node._resolve_holders(track.id, ["http://dead:2"])
    assert len(lookups) == 1

    monkeypatch.setattr(node.discovery, "holders", lambda *a, **k: ["http://dead:3"])
    with pytest.raises(PeerError, match="then 1 more from a second DHT lookup"):
        node._resolve_holders(track.id, ["http://dead:4"])
