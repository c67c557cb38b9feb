"""A small blocking WebSocket client for tests (wsproto over a plain socket, with deadlines)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)


class Closed(Exception):
    """The server closed the WebSocket (``code``, ``reason``) or the connection."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed {code} {reason}")
        self.code = code
        self.reason = reason


class WsClient:
    """``WsClient("ws://host:port/path")``: ``send(obj)``, ``recv(timeout) -> obj``, ``close()``."""

    def __init__(self, url: str, timeout: float = 10.0, source: str | None = None) -> None:
        """``source``: the local address to connect from (a loopback one in tests)."""
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.texts: list[str] = []
        self._partial = ""  # a text message that arrives in several events
        self.closed: Closed | None = None
        self.sock.sendall(self.ws.send(Request(host=parts.netloc, target=parts.path or "/")))
        deadline = time.monotonic() + timeout
        while True:
            for event in self._read(deadline):
                if isinstance(event, AcceptConnection):
                    return
                if isinstance(event, RejectConnection):
                    raise Closed(event.status_code, "rejected")

    def _read(self, deadline: float) -> list[Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no WebSocket data in time")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        self.ws.receive_data(data or None)
        if not data:
            self.closed = self.closed or Closed(None, "connection closed")
        events = list(self.ws.events())
        for event in events:
            if isinstance(event, TextMessage):
                self._partial += event.data
                if event.message_finished:
                    self.texts.append(self._partial)
                    self._partial = ""
            elif isinstance(event, BytesMessage):
                self.texts.append(repr(event.data))
            elif isinstance(event, Ping):
                self.sock.sendall(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.closed = Closed(event.code, event.reason)
        return events

    def send_text(self, text: str) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def send(self, message: dict[str, Any]) -> None:
        self.send_text(json.dumps(message))

    def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next JSON message; ``Closed`` once the server closed, ``TimeoutError`` at the deadline."""
        deadline = time.monotonic() + timeout
        while not self.texts:
            if self.closed is not None:
                raise self.closed
            self._read(deadline)
        return dict(json.loads(self.texts.pop(0)))

    def close(self) -> None:
        try:
            self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.sock.close()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """``check()`` until it returns something truthy (returned), polled every 0.05 s;
    ``AssertionError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
