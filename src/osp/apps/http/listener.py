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
  file descriptor is freed instead of waiting for a head; and **per-source caps**
  (``max_per_address`` connections from one address, ``max_per_network`` from one IPv4
  /24 or IPv6 /64), so one host cannot take the whole listener (peer listener: 32 and
  256 of 512; a reverse proxy in front of it counts as one address);
- a **request-body deadline** (``body_timeout``, 30 s from the end of the head for the
  whole body; bodies are at most 1 MiB and only the loopback control listener reads any,
  so a real client needs well under a second): a body that trickles in is aborted.  The
  control listener's web app uploads (up to 1 GiB, authenticated before a byte is read) get
  ``Content-Length / body_min_rate`` seconds more (``body_min_rate`` 2 MiB/s);
- **no keep-alive past an unread body**: a response sent before its request body was read
  whole (401/403/413/415 and any route that ignores a body) carries ``Connection: close``
  and the connection is closed once it is sent, instead of waiting for, or draining, a
  body that may never end (issue 6 item 3, hostile-peer review: 64 such connections
  silenced the control listener);
- a **write-idle timeout** (``write_idle_timeout``, 60 s on the peer listener, off on the
  control listener, where paused media players legitimately stop reading): while the
  transport's send buffer is over its high-water mark, a connection whose buffer has not
  shrunk by a byte for that long is aborted.  It is progress based, never a total time,
  so a web seed taking an hour over a slow link keeps going;
- **WebSockets** (only on a listener built with ``websockets=True``, wsproto: the share
  listener's WebTorrent tracker): an upgraded connection leaves the request-head and body
  timers (its app closes idle sockets), keeps counting against the per-source caps until
  it closes, is capped apart (``max_websockets`` in all, ``max_websockets_per_address``
  from one address, ``max_websockets_per_network`` from one /24 or /64, so that one host
  with a /64 of addresses cannot hold every slot: an upgrade past a cap is dropped), keeps the write-idle timeout, and
  takes messages of at most ``ws_max_size`` bytes, without compression (no deflate
  bombs), with a ping every 20 s (no pong in 20 s: closed).  An ``Upgrade`` request on a
  listener without WebSockets is answered as plain HTTP and logs nothing (uvicorn would
  log two warnings per request: a log a peer could fill);
- **malformed requests logged once a minute**: uvicorn logs a warning for each request
  h11 cannot parse ("Invalid HTTP request received."), a line any peer can write as
  often as it likes; ``_PeerNoise`` lets one through per minute, with the count of the
  others;
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
import ipaddress
import logging
import resource
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

from osp.apps.http.common import BodyCutShort

log = logging.getLogger("osp.http")


@dataclass(frozen=True)
class Limits:
    """Per-listener resource limits.

    Fields:
        header_timeout: seconds a client has to send a complete request head, counted
            from the connection's start or from the end of its previous response.
        body_timeout: seconds a client has, from the end of a head, to send that
            request's whole body; ``None``: no deadline.
        write_idle_timeout: seconds a response may sit with a full send buffer that does
            not shrink (the client reads nothing) before the connection is aborted;
            ``None``: never.
        max_connections: open connections at most; the next one is closed at once.
        max_per_address: open connections from one source address at most (``None``: no cap).
        max_per_network: open connections from one IPv4 /24 or IPv6 /64 at most (``None``: no cap).
        max_websockets: open WebSocket connections at most (listeners with WebSockets).
        max_websockets_per_address: open WebSocket connections from one address at most.
        max_websockets_per_network: open WebSocket connections from one IPv4 /24 or IPv6 /64 at
            most (``None``: a quarter of ``max_websockets``, at least ``max_websockets_per_address``).
        ws_max_size: bytes of one WebSocket message at most (a longer one closes the socket, code 1009).
        body_min_rate: bytes/s a large body may take at the slowest: a request announcing
            ``Content-Length`` gets ``body_timeout + Content-Length / body_min_rate`` seconds
            (the control listener's 1 GiB web app uploads); ``None``: ``body_timeout`` for all.
    """

    header_timeout: float = 10.0
    body_timeout: float | None = 30.0
    write_idle_timeout: float | None = 60.0
    max_connections: int = 256
    max_per_address: int | None = 32
    max_per_network: int | None = 256
    max_websockets: int = 512
    max_websockets_per_address: int = 16
    max_websockets_per_network: int | None = None
    ws_max_size: int = 64 * 1024
    body_min_rate: float | None = None


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


def source_keys(host: str) -> tuple[str, str]:
    """``(address, network)`` of a client address: the network is its IPv4 /24 or IPv6
    /64 (an IPv4-mapped IPv6 address counts as IPv4); a name that is not an IP address is
    its own network."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host, host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ip), str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def reset(transport: asyncio.Transport) -> None:
    """Drop a connection with a TCP reset: ``SO_LINGER`` 0 discards what is still queued in
    the kernel, so a client that stopped reading cannot keep megabytes of send buffer
    (a plain close leaves them in FIN-WAIT-1 until the client reads)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class _PeerNoise(logging.Filter):
    """Lets uvicorn's messages about a peer's malformed request (``NOISE``) through once
    per ``interval`` seconds, the next one counting those left out; others pass."""

    NOISE = frozenset({"Invalid HTTP request received."})

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self.left_out = 0
        self._last: float | None = None
        self._lock = threading.Lock()  # one filter for every listener thread

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() not in self.NOISE:
            return True
        with self._lock:
            now = self.clock()
            if self._last is not None and now - self._last < self.interval:
                self.left_out += 1
                return False
            if self.left_out:
                record.msg = f"{record.getMessage()} ({self.left_out} more since the last report)"
                record.args = ()
            self._last, self.left_out = now, 0
        return True


#: The listeners' protocol logger: a child of uvicorn's, so its messages reach uvicorn's
#: handlers, with ``_PeerNoise`` (uvicorn's own logging setup leaves a child logger alone).
protocol_log = logging.getLogger("uvicorn.error.osp")
protocol_log.addFilter(_PeerNoise())


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with head, body and write-idle timeouts and connection caps."""

    limits: Limits = Limits()
    per_address: Counter[str] = Counter()  # replaced per listener by protocol_class
    per_network: Counter[str] = Counter()
    websockets: Counter[str] = Counter()  # open WebSockets per address, and "" for all of them

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = protocol_log
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_cycle: Any = None
        self._write_timer: asyncio.TimerHandle | None = None
        self._source: tuple[str, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections or self._over_source_caps():
            reset(transport)
            return
        self._arm_head_timer()

    def _over_source_caps(self) -> bool:
        """Count this connection against its source address and network; True past a cap."""
        if self.client is None:
            return False
        self._source = address, network = source_keys(str(self.client[0]))
        self.per_address[address] += 1
        self.per_network[network] += 1
        cap_address, cap_network = self.limits.max_per_address, self.limits.max_per_network
        return ((cap_address is not None and self.per_address[address] > cap_address)
                or (cap_network is not None and self.per_network[network] > cap_network))

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timeout)

    def _head_timeout(self) -> None:
        """No request in progress ``header_timeout`` s after the last response: close."""
        self._head_timer = None
        if self.cycle is None or self.cycle.response_complete:
            reset(self.transport)

    def handle_events(self) -> None:
        super().handle_events()
        waiting = (self.cycle is not None and not self.cycle.response_started
                   and self.conn.their_state is h11.SEND_BODY)
        if self._body_timer is not None and (not waiting or self._body_cycle is not self.cycle):
            self._body_timer.cancel()
            self._body_timer = None
        if waiting and self._body_timer is None and self.limits.body_timeout is not None:
            self._body_cycle = self.cycle
            self._body_timer = self.loop.call_later(self._body_deadline(), self._body_timeout)

    def _body_deadline(self) -> float:
        """``body_timeout``, plus ``Content-Length / body_min_rate`` when both are known."""
        assert self.limits.body_timeout is not None
        rate = self.limits.body_min_rate
        length = dict(self.cycle.scope.get("headers", [])).get(b"content-length", b"") if rate else b""
        extra = int(length) / rate if rate and length.isdigit() and len(length) <= 18 else 0.0
        return self.limits.body_timeout + extra

    def _body_timeout(self) -> None:
        """The request body is not in ``body_timeout`` s after its head: abort, unless a
        response is already on its way (it carries ``Connection: close``)."""
        self._body_timer = None
        if (self._body_cycle is self.cycle and self.conn.their_state is h11.SEND_BODY
                and not self.cycle.response_started):
            reset(self.transport)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.limits.write_idle_timeout is not None and self._write_timer is None:
            self._watch_writes(None)

    def _watch_writes(self, last: int | None) -> None:
        """While writing is paused: abort once the send buffer has not shrunk for
        ``write_idle_timeout`` s, else look again that much later."""
        self._write_timer = None
        size = self.transport.get_write_buffer_size()
        if last is not None and size >= last:
            reset(self.transport)
            return
        assert self.limits.write_idle_timeout is not None
        self._write_timer = self.loop.call_later(self.limits.write_idle_timeout, self._watch_writes, size)

    def resume_writing(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        super().resume_writing()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def _unsupported_upgrade_warning(self) -> None:
        """Nothing logged: a peer sending ``Upgrade`` headers must not fill the log."""

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        """Hand the connection to the WebSocket protocol, within the WebSocket caps; it
        keeps the per-source counts (released when it closes) and the write-idle timeout."""
        self._cancel_timers()
        address = self._source[0] if self._source is not None else ""
        network = f"net:{self._source[1]}" if self._source is not None else ""
        limits = self.limits
        per_network = limits.max_websockets_per_network
        if per_network is None:
            per_network = max(limits.max_websockets // 4, limits.max_websockets_per_address)
        if (self.websockets[""] >= limits.max_websockets
                or (address and self.websockets[address] >= limits.max_websockets_per_address)
                or (network and self.websockets[network] >= per_network)):
            reset(self.transport)
            return
        super().handle_websocket_upgrade(event)
        protocol = self.transport.get_protocol()
        if isinstance(protocol, _GuardedWS):
            protocol.guard(self.limits, self._source, self._release_source, self.websockets)
            self._source = None
        else:  # pragma: no cover - only _GuardedWS is configured
            self._release_source()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._write_timer = None

    def _release_source(self, source: tuple[str, str] | None = None) -> None:
        source = source or self._source
        self._source = None
        if source is not None:
            address, network = source
            for counter, key in ((self.per_address, address), (self.per_network, network)):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        if self._source is not None:
            self._release_source()
        super().connection_lost(exc)


class _GuardedWS(WSProtocol):
    """uvicorn's wsproto protocol after an upgrade from ``_GuardedH11``: releases the
    connection's per-source counts when it closes and aborts a connection whose send
    buffer stays full and does not shrink for ``write_idle_timeout`` s."""

    _release: Callable[[tuple[str, str] | None], None] | None = None
    _source: tuple[str, str] | None = None
    _write_timer: asyncio.TimerHandle | None = None
    _limits: Limits = Limits()
    _websockets: Counter[str] | None = None
    _keys: tuple[str, ...] = ()  # its keys in _websockets: "" (all), its address, "net:" + its network

    def guard(self, limits: Limits, source: tuple[str, str] | None, release: Callable[[tuple[str, str] | None], None],
              websockets: Counter[str]) -> None:
        """Take over the counts of the h11 connection it was upgraded from (``source``:
        its address and network, released by ``release`` when this connection closes)."""
        self._limits, self._source, self._release = limits, source, release
        address = source[0] if source is not None else ""
        self._websockets = websockets
        self._keys = ("", address, f"net:{source[1]}") if source is not None else ("",)
        for key in self._keys:
            websockets[key] += 1

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._limits.write_idle_timeout is not None and self._write_timer is None:
            self._watch_writes(None)

    def _watch_writes(self, last: int | None) -> None:
        self._write_timer = None
        size = self.transport.get_write_buffer_size()
        if last is not None and size >= last:
            reset(self.transport)
            return
        assert self._limits.write_idle_timeout is not None
        self._write_timer = self.loop.call_later(self._limits.write_idle_timeout, self._watch_writes, size)

    def resume_writing(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        if self._release is not None:
            self._release(self._source)
            self._release = None
        if self._websockets is not None:
            for key in self._keys:
                self._websockets[key] -= 1
                if self._websockets[key] <= 0:
                    del self._websockets[key]
            self._websockets = None
        super().connection_lost(exc)


def protocol_class(limits: Limits) -> type[H11Protocol]:
    """An h11 protocol class bound to ``limits``, with its own per-source counters (one per listener)."""
    return type("GuardedH11", (_GuardedH11,), {"limits": limits, "per_address": Counter(), "per_network": Counter(),
                                                "websockets": Counter()})


_STOPPING = b'{"error": "busy", "message": "the node is stopping: try again once it runs"}'
_STOPPING_START = {"type": "http.response.start", "status": 503, "headers": [
    (b"content-type", b"application/json"), (b"content-length", str(len(_STOPPING)).encode()), (b"connection", b"close"),
    (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]}
_STOPPING_BODY = {"type": "http.response.body", "body": _STOPPING, "more_body": False}


class CloseUnreadBodies:
    """ASGI wrapper: a response that starts before its request body was read whole gets
    ``Connection: close`` (RFC 9112 §9.6), so the server closes the connection once the
    response is sent instead of keeping it open for a body that may never end."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        read_whole = b"transfer-encoding" not in headers and headers.get(b"content-length", b"0").strip() in (b"", b"0")

        async def receive_tracked() -> dict[str, Any]:
            nonlocal read_whole
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                read_whole = True
            return message

        started = False

        async def send_closing(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not read_whole:
                    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                    message = {**message, "headers": [*kept, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, receive_tracked, send_closing)
        except BodyCutShort:
            pass  # logged once where it happened; uvicorn closes the unfinished response's connection
        except asyncio.CancelledError:
            # The node is stopping (Ctrl-C) and uvicorn cancels what still runs after its graceful
            # shutdown (an upload, a stream): the client gets a 503 if nothing was sent yet, the
            # node's terminal gets no traceback.
            if not started:
                with contextlib.suppress(Exception):
                    await send(_STOPPING_START)
                    await send(_STOPPING_BODY)


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

    def __init__(self, name: str, app: Any, sock: socket.socket, limits: Limits, *, websockets: bool = False) -> None:
        """``websockets``: accept WebSocket upgrades (wsproto, within ``limits``' WebSocket caps)."""
        self.name = name
        self.sock = sock
        self.limits = limits
        self.accept_log = _AcceptErrorLog(name)
        config = uvicorn.Config(CloseUnreadBodies(app), interface="asgi3", log_level="warning", access_log=False, lifespan="off", http=protocol_class(limits),
                                ws=_GuardedWS if websockets else "none", ws_max_size=limits.ws_max_size,
                                ws_per_message_deflate=False, ws_ping_interval=20.0, ws_ping_timeout=20.0,
                                timeout_graceful_shutdown=5)
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
