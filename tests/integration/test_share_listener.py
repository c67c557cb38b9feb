"""The share listener of a real node: its routes and headers, and the WebTorrent tracker
on ``/announce`` driven by raw WebSocket clients and by the node's own libtorrent."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.apps.web.share import SHARE_CSP, share_dir
from osp.node import TrackMetadata
from tests.integration.nodes import node_server
from tests.integration.wsclient import Closed, WsClient, wait_for


def binary(hex_or_bytes: str | bytes) -> str:
    raw = bytes.fromhex(hex_or_bytes) if isinstance(hex_or_bytes, str) else hex_or_bytes
    return raw.decode("latin-1")


def pid(n: int) -> str:
    return binary(b"-WW0208-" + bytes([n]) * 12)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, dict[str, Any]]]:
    """A node whose libtorrent announces to its own tracker (the default)."""
    with node_server(tmp_path_factory.mktemp("share"), "127.0.0.61") as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        yield srv, published.track.record


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, str]]:
    """A node with ``webtorrent=False``: its swarm holds only the test's fake peers."""
    with node_server(tmp_path_factory.mktemp("quiet"), "127.0.0.62", webtorrent=False) as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        yield srv, binary(published.infohash)


@contextlib.contextmanager
def client(srv: NodeServer) -> Iterator[WsClient]:
    ws = WsClient("ws" + srv.share_url.removeprefix("http") + "/announce")
    try:
        yield ws
    finally:
        ws.close()


def test_share_routes_and_headers(bridge: tuple[NodeServer, dict[str, Any]]) -> None:
    srv, record = bridge
    assert srv.node.share_url == srv.share_url and srv.share_url.startswith("http://127.0.0.61:")
    with httpx.Client(base_url=srv.share_url, timeout=10) as http:
        config = http.get("/config.json")
        assert config.json() == {"peer": None, "peerPort": int(srv.peer_url.rpartition(":")[2]), "tracker": "/announce"}
        for r in (config, http.get("/nothing-here"), http.get(f"/t/{record['id']}")):
            assert r.headers["content-security-policy"] == SHARE_CSP
            assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"
            assert "set-cookie" not in r.headers and "access-control-allow-origin" not in r.headers
        if (share_dir() / "share.html").is_file():
            page = http.get(f"/t/{record['id']}")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert page.content == (share_dir() / "share.html").read_bytes()  # the same file for every id
            assert http.get("/t/anything").content == page.content
        if (share_dir() / "vendor" / "sw.min.js").is_file():
            sw = http.get("/sw.min.js")
            assert sw.status_code == 200 and sw.headers["content-type"].startswith("text/javascript")
            assert http.get("/share/vendor/sw.min.js").content == sw.content
        assert http.get("/share/../share.py").status_code == 404
        assert http.post(f"/t/{record['id']}").status_code == 405
        assert http.get("/announce").status_code in (400, 404)  # a WebSocket route: not plain HTTP


def test_libtorrent_announces_every_torrent_to_the_nodes_own_tracker(bridge: tuple[NodeServer, dict[str, Any]]) -> None:
    srv, record = bridge
    infohash = record["torrent"][20:60]
    engine = srv.node.engine
    assert engine is not None
    trackers, _ = engine.sources(infohash)
    announce = "ws" + srv.share_url.removeprefix("http") + "/announce"
    assert trackers == [announce]
    wait_for(lambda: srv.tracker.tracker.swarm(bytes.fromhex(infohash)) == (1, 0), "libtorrent in the swarm as seeder")
    assert srv.tracker.stats().seeders >= 1
    # a browser's announce sees it
    with client(srv) as ws:
        ws.send({"action": "announce", "info_hash": binary(infohash), "peer_id": pid(1), "left": 1000,
                 "event": "started"})
        reply = ws.recv()
        assert (reply["complete"], reply["incomplete"], reply["interval"]) == (1, 1, 120)
    # never stored in the torrent the node serves
    with httpx.Client(base_url=srv.peer_url, timeout=10) as http:
        assert b"announce" not in http.get(f"/osp/v0/tracks/{record['id']}/torrent").content


def test_offers_and_answers_are_relayed_between_peers(quiet: tuple[NodeServer, str]) -> None:
    srv, ih = quiet
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}
    answer = {"type": "answer", "sdp": "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\n"}
    offer_id = binary(bytes(range(100, 120)))
    with client(srv) as a, client(srv) as b, client(srv) as intruder:
        b.send({"action": "announce", "info_hash": ih, "peer_id": pid(2), "left": 5})
        assert b.recv()["incomplete"] == 1
        a.send({"action": "announce", "info_hash": ih, "peer_id": pid(1), "left": 5,
                "offers": [{"offer_id": offer_id, "offer": offer}]})
        assert a.recv()["incomplete"] == 2
        assert b.recv() == {"action": "announce", "offer": offer, "offer_id": offer_id, "peer_id": pid(1), "info_hash": ih}
        # no one else may answer it, nor take b's peer id
        intruder.send({"action": "announce", "info_hash": ih, "peer_id": pid(3), "to_peer_id": pid(1),
                       "offer_id": offer_id, "answer": answer})
        assert intruder.recv()["failure reason"] == "answer from a peer not in the swarm"
        intruder.send({"action": "announce", "info_hash": ih, "peer_id": pid(2), "left": 5})
        assert intruder.recv()["failure reason"] == "peer_id taken by another connection"
        b.send({"action": "announce", "info_hash": ih, "peer_id": pid(2), "to_peer_id": pid(1),
                "offer_id": offer_id, "answer": answer})
        assert a.recv() == {"action": "announce", "answer": answer, "offer_id": offer_id, "peer_id": pid(2), "info_hash": ih}
        # a torrent the node does not hold has no swarm
        a.send({"action": "announce", "info_hash": binary(b"\x01" * 20), "peer_id": pid(1)})
        assert a.recv()["failure reason"].startswith("this tracker serves only")
        a.send({"action": "scrape", "info_hash": ih})
        assert a.recv()["files"][ih] == {"complete": 0, "incomplete": 2, "downloaded": 0}
    wait_for(lambda: srv.tracker.stats().peers == 0, "peers leave with their sockets", 10)
    assert srv.tracker.stats().answers_relayed == 1


def test_hostile_sockets_are_closed(quiet: tuple[NodeServer, str]) -> None:
    srv, ih = quiet
    with client(srv) as big:
        big.send_text('{"action":"announce","x":"' + "y" * 70_000 + '"}')
        with pytest.raises(Closed) as closed:
            big.recv()
        assert closed.value.code in (1009, None)
    with client(srv) as bad:
        for _ in range(5):
            bad.send_text("{not json")
        replies = []
        with pytest.raises(Closed) as closed:
            while True:
                replies.append(bad.recv())
        assert [r["failure reason"] for r in replies] == ["invalid JSON"] * 5
        assert closed.value.code == 1008 and closed.value.reason == "too many bad messages"


def test_websockets_per_address_are_capped(quiet: tuple[NodeServer, str]) -> None:
    srv, ih = quiet
    cap = srv.share_limits.max_websockets_per_address
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(client(srv)) for _ in range(cap)]
        with pytest.raises((Closed, OSError, TimeoutError)):
            with client(srv) as extra:
                extra.send({"action": "scrape", "info_hash": ih})
                extra.recv(5)
        held[0].close()
        held[1].send({"action": "scrape", "info_hash": ih})
        assert "files" in held[1].recv()

        def another_fits() -> bool:
            try:
                with client(srv) as again:
                    again.send({"action": "scrape", "info_hash": ih})
                    return "files" in again.recv(5)
            except (Closed, OSError, TimeoutError):
                return False

        wait_for(another_fits, "a freed WebSocket slot", 10)


def test_a_fetched_torrent_joins_the_fetchers_own_tracker(tmp_path: Path, bridge: tuple[NodeServer, dict[str, Any]]) -> None:
    srv, record = bridge
    infohash = record["torrent"][20:60]
    with node_server(tmp_path / "fetcher", "127.0.0.64") as other:
        transfer = other.node.fetch(record["id"], [srv.peer_url])
        assert transfer.wait(45).state == "complete", transfer.state
        engine = other.node.engine
        assert engine is not None
        own = "ws" + other.share_url.removeprefix("http") + "/announce"
        wait_for(lambda: own in engine.sources(infohash)[0], "the fetcher's tracker on the fetched torrent", 10)
        wait_for(lambda: other.tracker.tracker.swarm(bytes.fromhex(infohash)) == (1, 0), "the fetcher in its swarm")
        stored = other.node.library.torrent(infohash)
        assert stored is not None and b"announce" not in stored.metainfo  # never stored


def test_the_peer_listener_takes_no_websocket_and_logs_nothing(bridge: tuple[NodeServer, dict[str, Any]],
                                                               caplog: pytest.LogCaptureFixture) -> None:
    srv, _ = bridge
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    with caplog.at_level("DEBUG"), httpx.Client(timeout=10) as http:
        for _ in range(20):
            r = http.get(f"{srv.peer_url}/osp/v0/node", headers=upgrade)
            assert r.status_code == 200 and r.headers["content-security-policy"] == "sandbox"
    assert not [rec for rec in caplog.records if "pgrade" in rec.getMessage()]
