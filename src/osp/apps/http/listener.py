"""One HTTP listener: a uvicorn server on its own thread, event loop and worker budget.

Why (issue 6, item 3): a listener that anonymous peers can reach must not be able to
silence the control listener.  So each listener gets

- its **own event loop on its own thread**, hence its own anyio default thread limiter
  (anyio keeps one per loop): slow ``/ipfs`` downloads or blocked workers on the peer
  listener never take a worker from the control listener;
- a **request-head timeout** (``Limits.header_timeout`` seconds from the connection's
  start or the end of its previous response): uvicorn's ``timeout_keep_alive`` only
  runs between requests and only until the first byte arrives, so a client that sends
  half a request head was never closed (slowloris);
- a **connection cap**: a connection past ``max_connections`` is closed at once, so its
  file descriptor is freed instead of waiting for a head;
- **accept errors logged once**: when ``accept()`` fails (``EMFILE``, ``ENFILE`` …),
  CPython 3.11's ``_accept_connection`` keeps looping up to the backlog (2048 in
  uvicorn), reporting a traceback and scheduling one more retry timer per failed call,
  so one burst grows into thousands of timers and a log of hundreds of MB
  (measured: 326,000 lines in 15 s at a 160-descriptor limit).  ``_ListenerLoop`` stops
  the burst at the first failure (one retry timer, 1 s later, as asyncio intends), and
  ``_AcceptErrorLog`` logs at most one line a minute about it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("osp.http")


@dataclass(frozen=True)
class Limits:
    """Per-listener resource limits.

    Fields:
        header_timeout: seconds a client has to send a complete request head, counted
            from the connection's start or from the end of its previous response.
        max_connections: open connections at most; the next one is closed at once.
    """

    header_timeout: float = 10.0
    max_connections: int = 256


def raise_nofile_limit() -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit (capped at 65536); returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return 65536 if soft == resource.RLIM_INFINITY else int(soft)


def connection_caps(nofile: int, peer: int = 512, control: int = 64) -> tuple[int, int]:
    """``(peer, control)`` connection caps that fit ``nofile`` descriptors.

    A quarter of the descriptors stays for the engine, SQLite and files; of the rest
    the peer listener gets up to two thirds and the control listener a third.
    """
    budget = max(24, nofile * 3 // 4 - 32)
    return max(8, min(peer, budget * 2 // 3)), max(8, min(control, budget // 3))


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a request-head timeout and a connection cap."""

    limits: Limits = Limits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            transport.abort()
            return
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timeout)

    def _head_timeout(self) -> None:
        self._head_timer = None
        waiting_for_head = self.conn.their_state in (h11.IDLE, h11.DONE)
        if waiting_for_head and (self.cycle is None or self.cycle.response_complete):
            self.transport.abort()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)


def protocol_class(limits: Limits) -> type[H11Protocol]:
    """An h11 protocol class bound to ``limits`` (one per listener)."""
    return type("GuardedH11", (_GuardedH11,), {"limits": limits})


class _StopAccepting(Exception):
    """Raised inside ``_accept_connection`` once its retry timer is scheduled."""


class _ListenerLoop(asyncio.SelectorEventLoop):
    """A selector loop whose accept loop stops at the first resource error (see module doc)."""

    _accepting = False

    def _accept_connection(self, *args: Any, **kwargs: Any) -> None:
        self._accepting = True
        try:
            super()._accept_connection(*args, **kwargs)  # type: ignore[misc]
        except _StopAccepting:
            pass
        finally:
            self._accepting = False

    def call_later(self, delay: float, callback: Any, *args: Any, context: Any = None) -> asyncio.TimerHandle:  # type: ignore[override]
        handle = super().call_later(delay, callback, *args, context=context)
        if self._accepting and getattr(callback, "__name__", "") == "_start_serving":
            raise _StopAccepting  # the retry is scheduled; do not try accept() again this tick
        return handle


class _AcceptErrorLog:
    """Loop exception handler: at most one line per ``interval`` seconds about failing
    ``accept()`` calls (with the count of failures not logged), none per retry."""

    def __init__(self, name: str, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.interval = interval
        self.clock = clock
        self.failures = 0
        self._last_logged: float | None = None

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        exc = context.get("exception")
        if message.startswith("socket.accept() out of system resource"):
            self.failures += 1
            now = self.clock()
            if self._last_logged is None or now - self._last_logged >= self.interval:
                reason = exc.strerror if isinstance(exc, OSError) else message
                log.warning("%s listener: accept() fails (%s), %d time(s) since the last report; new connections "
                            "wait in the backlog (retrying every second)", self.name, reason, self.failures)
                self._last_logged = now
                self.failures = 0
            return
        if "_start_serving" in repr(context.get("handle")) and isinstance(exc, ValueError):
            return  # a retry timer that fired after the listener closed: nothing to do
        loop.default_exception_handler(context)


class Listener:
    """A uvicorn server for ``app`` on ``sock``, run on its own thread and event loop."""

    def __init__(self, name: str, app: Any, sock: socket.socket, limits: Limits) -> None:
        self.name = name
        self.sock = sock
        self.limits = limits
        self.accept_log = _AcceptErrorLog(name)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http=protocol_class(limits),
                                ws="none", timeout_graceful_shutdown=5)
        self.server = _Server(config)
        self.thread = threading.Thread(target=self._run, name=f"osp-http-{name}", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=_ListenerLoop) as runner:
                runner.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported by NodeServer
            self.error = exc

    async def _serve(self) -> None:
        asyncio.get_running_loop().set_exception_handler(self.accept_log)
        await self.server.serve(sockets=[self.sock])

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    @property
    def done(self) -> bool:
        return not self.thread.is_alive() and self.thread.ident is not None

    def stop(self) -> None:
        """Ask the server to exit (thread-safe)."""
        self.server.should_exit = True


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``NodeServer`` owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
