"""The WebTorrent tracker's WebSocket adapter on a real share listener with short timeouts:
idle sockets are closed, a peer that stops reading is dropped, WebSockets are capped."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from osp.apps.http.listener import Limits, Listener, _PeerNoise, protocol_log
from osp.apps.web.share import share_app
from osp.apps.web.tracker_socket import TrackerHub
from osp.core.settings import Settings
from osp.node import Node
from tests.integration.wsclient import Closed, WsClient, wait_for

IP = "127.0.0.63"
IH = (b"\xaa" * 20).decode("latin-1")


def pid(n: int) -> str:
    return (b"-WW0208-" + bytes([n]) * 12).decode("latin-1")


@contextlib.contextmanager
def share_listener(tmp: Path, hub: TrackerHub, limits: Limits) -> Iterator[str]:
    node = Node(Settings(data_dir=tmp, listen=(IP, 0), http=(IP, 0), control=("127.0.0.1", 0), share=(IP, 0),
                         dht=False, allow_private_peers=True))
    sock = socket.socket()
    sock.bind((IP, 0))
    sock.listen(128)
    listener = Listener("share", share_app(node, hub), sock, limits, websockets=True)
    listener.start()
    try:
        wait_for(lambda: listener.started, "the share listener")
        yield f"ws://{IP}:{sock.getsockname()[1]}/announce"
    finally:
        listener.stop()
        listener.thread.join(10)
        node.close()


@pytest.fixture
def hub() -> TrackerHub:
    return TrackerHub(lambda ih: ih == b"\xaa" * 20, idle_timeout=1.0, first_message_timeout=0.5,
                      send_queue_bytes=128 * 1024, tick_interval=0.2)


def test_idle_sockets_are_closed(tmp_path: Path, hub: TrackerHub) -> None:
    with share_listener(tmp_path, hub, Limits()) as url:
        silent = WsClient(url)
        talker = WsClient(url)
        talker.send({"action": "announce", "info_hash": IH, "peer_id": pid(1)})
        assert talker.recv()["incomplete"] == 1
        with pytest.raises(Closed) as closed:
            silent.recv(5)  # nothing sent within first_message_timeout
        assert closed.value.code == 1008 and closed.value.reason == "idle"
        assert hub.stats().peers == 1
        with pytest.raises(Closed):
            talker.recv(5)  # silent for idle_timeout after its announce
        wait_for(lambda: hub.stats().peers == 0 and hub.stats().connections == 0, "the idle peer leaves")


def test_a_peer_that_stops_reading_is_dropped(tmp_path: Path, hub: TrackerHub) -> None:
    with share_listener(tmp_path, hub, Limits(write_idle_timeout=30)) as url:
        slow = WsClient(url)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.send({"action": "announce", "info_hash": IH, "peer_id": pid(1), "left": 1})
        assert slow.recv()["incomplete"] == 1
        # scrapes of 64 hashes (~4 KiB answers each) that it never reads
        scrape = {"action": "scrape", "info_hash": [(bytes([n]) * 20).decode("latin-1") for n in range(64)]}
        sent = 0
        while hub.stats().connections == 1:
            try:
                slow.send(scrape)
            except OSError:
                break  # already reset
            sent += 1
            assert sent < 2000, "the slow peer was never dropped"
        # dropped once its queue passed 128 KiB, not after buffering everything it asked for
        assert sent * 4_000 < 16 * 1024 * 1024
        wait_for(lambda: hub.stats().connections == 0, "the slow socket is gone")
        slow.close()


def test_offers_flooding_a_slow_peer_do_not_drop_it(tmp_path: Path, hub: TrackerHub) -> None:
    """Relayed messages fill half a socket's queue at most, then are discarded: a peer
    cannot get another one (a browser on a slow link, the node's libtorrent) dropped."""
    hub.first_message_timeout = hub.idle_timeout = 120.0
    with share_listener(tmp_path, hub, Limits(write_idle_timeout=120)) as url:
        slow = WsClient(url)
        slow.send({"action": "announce", "info_hash": IH, "peer_id": pid(1), "left": 1})
        assert slow.recv()["incomplete"] == 1
        sender = WsClient(url)
        wait_for(lambda: hub.stats().connections == 2, "the sender's socket")
        sdp = "v=0\r\n" + "a=x\r\n" * 2500  # ~15 KiB per offer, every one relayed to the slow peer
        sent = 0
        while hub.relays_dropped < 20 and hub.stats().connections == 2:  # the queue is half full: the old adapter dropped the peer here
            sent += 1
            assert sent < 2000, "the slow peer's queue never filled"
            sender.send({"action": "announce", "info_hash": IH, "peer_id": pid(2), "left": 1,
                         "offers": [{"offer_id": (bytes([sent % 256]) * 20).decode("latin-1"),
                                     "offer": {"type": "offer", "sdp": sdp}}]})
            assert sender.recv()["action"] == "announce"
        assert hub.stats().connections == 2 and hub.stats().peers == 2
        # the slow peer reads its backlog and is still served
        offers = 0
        slow.send({"action": "scrape", "info_hash": IH})
        while True:
            message = slow.recv()
            if message["action"] == "scrape":
                break
            offers += 1
        assert 0 < offers <= sent - 20
        assert message["files"][IH]["incomplete"] == 2
        sender.close()
        slow.close()


def test_websockets_are_capped_in_all(tmp_path: Path, hub: TrackerHub) -> None:
    hub.first_message_timeout = hub.idle_timeout = 30.0
    with share_listener(tmp_path, hub, Limits(max_websockets=3, max_websockets_per_address=3)) as url:
        held = [WsClient(url) for _ in range(3)]
        assert admitted(url, "127.0.0.1") is None  # refused, not merely silent (the socket times out)
        held[0].close()

        def fits() -> bool:
            try:
                ws = WsClient(url, timeout=3)
            except (Closed, OSError, TimeoutError):
                return False
            held.append(ws)
            return True

        wait_for(fits, "a freed WebSocket slot", 10)
        for ws in held:
            ws.close()


def admitted(url: str, source: str) -> WsClient | None:
    """A socket from ``source`` that the tracker answers, or ``None`` if it was refused."""
    try:
        ws = WsClient(url, timeout=3, source=source)
        ws.send({"action": "scrape", "info_hash": IH})
        assert ws.recv(3)["action"] == "scrape"
    except (Closed, OSError):  # reset at the upgrade (a timeout too: nothing answered)
        return None
    return ws


def test_websockets_are_capped_per_network(tmp_path: Path, hub: TrackerHub) -> None:
    """One host with many addresses of a /24 (or /64) cannot take every WebSocket slot."""
    hub.first_message_timeout = hub.idle_timeout = 30.0
    limits = Limits(max_websockets=8, max_websockets_per_address=2, max_websockets_per_network=4)
    with share_listener(tmp_path, hub, limits) as url:
        held = [admitted(url, f"127.0.0.{n}") for n in (101, 101, 102, 102)]
        assert all(held)
        assert admitted(url, "127.0.0.103") is None  # the /24 has its 4
        other = admitted(url, "127.0.1.101")  # another /24 still gets in
        assert other is not None
        held[0].close()  # type: ignore[union-attr]
        late = wait_for(lambda: admitted(url, "127.0.0.103"), "a freed slot of the /24", 10)
        for ws in [*held, other, late]:
            ws.close()


def test_malformed_requests_are_logged_once_a_minute(tmp_path: Path, hub: TrackerHub) -> None:
    """uvicorn's "Invalid HTTP request received." per request was a log any peer could fill."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    noise = next(f for f in protocol_log.filters if isinstance(f, _PeerNoise))
    noise._last, noise.left_out = None, 0
    with share_listener(tmp_path, hub, Limits()) as url:
        protocol_log.addHandler(handler)  # after uvicorn's logging setup, which drops handlers
        address = urlsplit(url)
        try:
            for _ in range(20):
                with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
                    sock.sendall(b"GARBAGE\x00\r\n\r\n")
                    assert sock.recv(100).startswith(b"HTTP/1.1 400")
        finally:
            protocol_log.removeHandler(handler)
    assert [r.getMessage() for r in records] == ["Invalid HTTP request received."]
    assert noise.left_out == 19


def test_peer_noise_counts_what_it_left_out() -> None:
    now = [0.0]
    noise = _PeerNoise(interval=60, clock=lambda: now[0])

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error.osp", logging.WARNING, __file__, 1, message, (), None)

    assert noise.filter(record("Invalid HTTP request received."))
    assert not noise.filter(record("Invalid HTTP request received."))
    assert noise.filter(record("something else"))
    now[0] = 61
    late = record("Invalid HTTP request received.")
    assert noise.filter(late) and late.getMessage() == "Invalid HTTP request received. (1 more since the last report)"
