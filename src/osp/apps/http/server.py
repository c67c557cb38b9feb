"""Runs a ``Node`` with its three HTTP listeners, each on its own thread and event loop.

``NodeServer(node)`` takes the data directory's node lock (``nodelock``: a second node
on the same directory is refused), binds the peer, control and share sockets (port 0
picks free ports; a busy default port falls back to a free one when allowed) and reads or
creates the API token.  ``run()`` starts the engine and the listeners (``listener``:
separate worker budgets, request-head timeout, connection caps), writes ``node.json``
(pid and URLs, so CLI commands find the running node) and serves until SIGINT/SIGTERM
or ``stop()``; then it saves resume data, closes the node, removes ``node.json`` and
releases the lock.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Collection

from osp.apps.http.control import control_app
from osp.apps.http.credentials import ensure_token
from osp.apps.http.listener import Limits, Listener, connection_caps, raise_nofile_limit
from osp.apps.http.nodelock import NodeLock
from osp.apps.http.peer import peer_app
from osp.apps.web.share import share_app
from osp.apps.web.tracker_socket import TrackerHub
from osp.core.errors import CallerError
from osp.distribution.ratelimit import UploadBudget
from osp.node.core import Node

__all__ = ["Limits", "NodeServer", "ensure_token"]

CONTROL_BODY_MIN_RATE = 2 * 1024 * 1024
"""Bytes/s the control listener's slowest acceptable upload: a 1 GiB web app upload (loopback,
authenticated before its body is read) gets 512 s on top of ``Limits.body_timeout``."""


def _bind(host: str, port: int, *, fallback: bool = False) -> tuple[socket.socket, bool]:
    """A listening socket on ``host:port`` and whether it fell back to a free port.

    With ``fallback`` a busy ``port`` (``EADDRINUSE``) is replaced by a free one; otherwise
    (and for any other error) raises ``CallerError``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    moved = False
    try:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if not (fallback and port and exc.errno == errno.EADDRINUSE):
                raise
            sock.bind((host, 0))
            moved = True
    except OSError as exc:
        sock.close()
        raise CallerError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock, moved


def _url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket; an unspecified bind address (``0.0.0.0``,
    ``::``) gives the loopback address of its family: the URL this machine's clients use
    (node.json, ``Node.http_url``)."""
    host, port = sock.getsockname()[:2]
    if host == "0.0.0.0":
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class NodeServer:
    """A node plus its peer, control and share listeners.

    ``limits``: ``(peer, control)`` listener limits; by default a 10 s request-head
    timeout, a 30 s request-body deadline (on the control listener, plus 1 s per 2 MiB
    a body announces: uploads) and connection caps that fit the process's
    file-descriptor limit (raised to the hard limit first); the peer listener also drops
    a response not read for 60 s and takes at most 32 connections per source address
    and 256 per /24 or /64 (``listener.Limits``).  ``share_limits``: the share listener's
    (by default the peer listener's, plus WebSockets: at most half its connections, 16
    per address).
    ``fallback_ports``: names among ``"http"``, ``"control"`` and ``"share"`` whose port may
    be replaced by a free one when busy (the CLI passes the ones left at their default);
    ``moved`` lists those that were.  ``tracker``: the WebTorrent tracker on the share
    listener (``TrackerHub``; ``tracker.stats()`` counts its peers).
    Raises ``CallerError`` if another node holds this data directory or a port is taken.
    """

    def __init__(self, node: Node, *, limits: tuple[Limits, Limits] | None = None,
                 share_limits: Limits | None = None, fallback_ports: Collection[str] = ()) -> None:
        self.node = node
        s = node.settings
        if limits is None:
            peer_cap, control_cap = connection_caps(raise_nofile_limit())
            limits = (Limits(max_connections=peer_cap),
                      Limits(max_connections=control_cap, write_idle_timeout=None, max_per_address=None,
                             max_per_network=None, body_min_rate=CONTROL_BODY_MIN_RATE))
        self.limits = limits
        # WebSockets count against max_connections too: half of them at most, so share pages still load
        share_cap = limits[0].max_connections
        self.share_limits = share_limits or Limits(max_connections=share_cap, max_websockets=max(4, share_cap // 2))
        self._lock = NodeLock(s.data_dir)
        try:
            self.token = ensure_token(s.token_path)
            self.peer_sock, peer_moved = _bind(*s.http, fallback="http" in fallback_ports)
            try:
                self.control_sock, control_moved = _bind(*s.control, fallback="control" in fallback_ports)
                try:
                    self.share_sock, share_moved = _bind(*s.share, fallback="share" in fallback_ports)
                except BaseException:
                    self.control_sock.close()
                    raise
            except BaseException:
                self.peer_sock.close()
                raise
        except BaseException:
            self._lock.release()
            raise
        self.moved = [name for name, m in (("http", peer_moved), ("control", control_moved), ("share", share_moved))
                      if m]
        self.peer_url = _url(self.peer_sock)
        self.control_url = _url(self.control_sock)
        self.share_url = _url(self.share_sock)
        self.tracker = TrackerHub(self._holds)
        self.ready = threading.Event()
        self._listeners: list[Listener] = []
        self._stopping = threading.Event()

    def _holds(self, info_hash: bytes) -> bool:
        """Whether the node's engine holds the torrent of a 20-byte v1 info hash (the
        tracker keeps swarms for those only)."""
        engine = self.node.engine
        return engine is not None and engine.has_torrent(info_hash.hex())

    def stop(self) -> None:
        """Ask the listeners to exit (thread-safe)."""
        self._stopping.set()
        for listener in self._listeners:
            listener.stop()

    def _write_node_file(self) -> None:
        path = self.node.settings.node_file
        info = {
            "pid": os.getpid(),
            "http": self.peer_url,
            "control": self.control_url,
            "share": self.share_url,
            "bittorrent": self.node.engine.listen_port if self.node.engine else None,
        }
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)  # never through a planted link
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(info))
        os.replace(tmp, path)

    async def serve(self, on_ready: Callable[[NodeServer], None] | None = None) -> None:
        """Serve until ``stop()``; install SIGINT/SIGTERM handlers when on the main thread."""
        try:
            await self._serve(on_ready)
        finally:
            self._lock.release()

    async def _serve(self, on_ready: Callable[[NodeServer], None] | None) -> None:
        self.node.http_url = self.peer_url
        self.node.share_url = self.share_url
        try:
            await asyncio.to_thread(self.node.start_engine)
        except BaseException:
            self.peer_sock.close()
            self.control_sock.close()
            self.share_sock.close()
            await asyncio.to_thread(self.node.close)
            raise
        control_port = self.control_sock.getsockname()[1]
        peer_limits, control_limits = self.limits
        self._listeners = [
            Listener("peer", peer_app(self.node), self.peer_sock, peer_limits),
            Listener("control", control_app(self.node, self.token, lambda: control_port), self.control_sock,
                     control_limits),
            Listener("share", share_app(self.node, self.tracker), self.share_sock, self.share_limits, websockets=True),
        ]
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        for listener in self._listeners:
            listener.start()
        if self._stopping.is_set():
            self.stop()
        try:
            while not all(listener.started for listener in self._listeners):
                if any(listener.done for listener in self._listeners):
                    break
                await asyncio.sleep(0.02)
            if all(listener.started for listener in self._listeners):
                self._write_node_file()
                self.ready.set()
                if on_ready:
                    on_ready(self)
            await self._watch()
        finally:
            self.stop()
            for listener in self._listeners:
                await asyncio.to_thread(listener.thread.join)
            self.node.settings.node_file.unlink(missing_ok=True)
            await asyncio.to_thread(self.node.close)
        errors = [listener.error for listener in self._listeners if listener.error is not None]
        if errors:
            raise errors[0]

    async def _watch(self) -> None:
        """Until a listener exits: keep BitTorrent + HTTP uploads under one ``--upload-limit``."""
        bucket, engine = self.node.upload_bucket, self.node.engine
        budget = UploadBudget(bucket.rate) if bucket is not None and engine is not None else None
        next_tick = time.monotonic()
        while not any(listener.done for listener in self._listeners):
            if budget is not None and engine is not None and bucket is not None and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + 1.0
                engine.set_upload_limit(budget.bittorrent_limit(time.monotonic(), bucket.sent))
            await asyncio.sleep(0.1)

    def run(self, on_ready: Callable[[NodeServer], None] | None = None) -> None:
        """Blocking ``serve``."""
        asyncio.run(self.serve(on_ready))
