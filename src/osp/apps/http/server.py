"""Runs a ``Node`` with its two HTTP listeners on one asyncio loop (uvicorn).

``NodeServer.run()`` binds the peer and control sockets (port 0 picks free ports), starts
the engine, writes ``node.json`` (pid and URLs, so CLI commands find the running node)
and serves until SIGINT/SIGTERM or ``stop()``; then it saves resume data, closes the
node and removes ``node.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from osp.apps.http.control import control_app
from osp.apps.http.peer import peer_app
from osp.core.errors import CallerError
from osp.node.core import Node


def ensure_token(path: Path) -> str:
    """The control API token in ``path`` (created 0600 with 256 random bits if missing)."""
    if path.exists():
        token = path.read_text("utf-8").strip()
        if len(token) >= 32:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return token


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CallerError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``NodeServer`` owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class NodeServer:
    """A node plus its peer and control listeners."""

    def __init__(self, node: Node) -> None:
        self.node = node
        s = node.settings
        self.peer_sock = _bind(*s.http)
        self.control_sock = _bind(*s.control)
        self.peer_url = _url(self.peer_sock)
        self.control_url = _url(self.control_sock)
        self.token = ensure_token(s.token_path)
        self.ready = threading.Event()
        self._servers: list[_Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def stop(self) -> None:
        """Ask the servers to exit (thread-safe)."""
        for server in self._servers:
            server.should_exit = True

    def _write_node_file(self) -> None:
        path = self.node.settings.node_file
        info = {
            "pid": os.getpid(),
            "http": self.peer_url,
            "control": self.control_url,
            "bittorrent": self.node.engine.listen_port if self.node.engine else None,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info), "utf-8")
        os.replace(tmp, path)

    async def serve(self, on_ready: Callable[[NodeServer], None] | None = None) -> None:
        """Serve until ``stop()``; install SIGINT/SIGTERM handlers when on the main thread."""
        self.node.http_url = self.peer_url
        await asyncio.to_thread(self.node.start_engine)
        control_port = self.control_sock.getsockname()[1]
        peer = _Server(uvicorn.Config(peer_app(self.node), log_level="warning", access_log=False, lifespan="off"))
        control = _Server(
            uvicorn.Config(
                control_app(self.node, self.token, lambda: control_port),
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        self._servers = [peer, control]
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        tasks = [
            asyncio.create_task(peer.serve(sockets=[self.peer_sock])),
            asyncio.create_task(control.serve(sockets=[self.control_sock])),
        ]
        while not (peer.started and control.started):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.02)
        self._write_node_file()
        self.ready.set()
        if on_ready:
            on_ready(self)
        try:
            await asyncio.gather(*tasks)
        finally:
            self.node.settings.node_file.unlink(missing_ok=True)
            await asyncio.to_thread(self.node.close)

    def run(self, on_ready: Callable[[NodeServer], None] | None = None) -> None:
        """Blocking ``serve``."""
        asyncio.run(self.serve(on_ready))
