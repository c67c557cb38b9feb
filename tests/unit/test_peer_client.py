"""The outbound HTTP client: an overall deadline per request (issue 6 item 3) and the
egress guard, on by default (design.md §4 "Outbound requests")."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from osp.content.cid import CID
from osp.core.errors import CallerError, PeerError
from osp.distribution.gateway_client import GatewayClient
from osp.distribution.peer_client import PeerClient, typed_base_url


def _trickle(conn: socket.socket, stop: threading.Event, headers_too: bool) -> None:
    """Answer one request one byte every 0.5 s (in the headers, or in the body)."""
    with conn:
        try:
            conn.recv(4096)
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
            if headers_too:
                head = head[:-4]  # the headers never end
            else:
                conn.sendall(head)
            payload = head if headers_too else b"x" * 100_000
            for byte in payload:
                if stop.wait(0.5):
                    return
                conn.sendall(bytes([byte]))
        except OSError:
            return


@pytest.fixture(params=["body", "headers"])
def trickler(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback server that sends one byte every 0.5 s, forever (until the test ends)."""
    stop = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    workers: list[threading.Thread] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            t = threading.Thread(target=_trickle, args=(conn, stop, request.param == "headers"), daemon=True)
            t.start()
            workers.append(t)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(5)
        for t in workers:
            t.join(5)
        server.close()


def test_a_trickling_peer_cannot_outlast_the_deadline(trickler: str) -> None:
    started = time.monotonic()
    with PeerClient(trickler, deadline=2.0, allow_private=True) as client, pytest.raises(PeerError) as exc:
        client.get_bytes("/osp/v0/node", 1_000_000)
    elapsed = time.monotonic() - started
    assert "2 s deadline" in exc.value.message
    assert 1.9 < elapsed < 3.5, elapsed


def test_a_trickling_gateway_cannot_outlast_the_deadline(trickler: str) -> None:
    cid = CID.decode("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    started = time.monotonic()
    with GatewayClient(trickler, deadline=2.0, allow_private=True) as client, pytest.raises(PeerError):
        client.block(cid)
    assert time.monotonic() - started < 3.5


def test_the_egress_guard_is_on_by_default() -> None:
    for url in ("http://127.0.0.1:9", "http://localhost:9", "http://10.0.0.1", "http://169.254.169.254",
                "http://[::1]:9", "http://100.64.0.1"):
        with pytest.raises(PeerError, match="non-global"):
            PeerClient(url)
        with pytest.raises(PeerError, match="non-global"):
            GatewayClient(url)


def test_typed_urls_that_are_not_urls_are_the_callers_fault() -> None:
    assert typed_base_url("http://127.0.0.2:8787/") == "http://127.0.0.2:8787"
    for bad in ("127.0.0.2:8787", "nonsense", "ftp://x", "http://", "http://h:99999"):
        with pytest.raises(CallerError):
            typed_base_url(bad)


@pytest.mark.parametrize("text,public", [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("::1", False), ("fd00::1", False), ("fe80::1", False), ("ff02::1", False),
    ("::ffff:127.0.0.1", False), ("::127.0.0.1", False), ("::10.0.0.1", False),
    ("2002:7f00:1::1", False), ("2002:a00:1::1", False), ("2002:5db8:d822::1", True),
    ("64:ff9b::7f00:1", False), ("64:ff9b::a9fe:a9fe", False), ("64:ff9b::5db8:d822", True),
    ("64:ff9b:1::1", False),
])
def test_egress_guard_sees_ipv4_inside_ipv6(text: str, public: bool) -> None:
    """Addresses a hostile DNS name may resolve to (found by review: 6to4, NAT64 and
    IPv4-compatible forms of loopback passed ``is_global``)."""
    import ipaddress

    from osp.distribution.peer_client import is_public_address

    assert is_public_address(ipaddress.ip_address(text)) is public
