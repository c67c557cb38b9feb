"""The WebSocket adapter of the WebTorrent tracker (``osp.discovery.wstracker``).

One ``TrackerHub`` per share listener, used from that listener's event loop only (the
core is not thread-safe; ``stats()`` may be read from any thread).  Each socket runs in
its own ASGI task: it feeds every text frame to the core and queues what the core sends
on a bounded per-socket queue (``send_queue_bytes``) that one writer task drains, so a
peer that stops reading is dropped, never buffered without bound.  Only the answers to a
socket's own messages can drop it: what other peers make the tracker relay to it (offers,
answers) may fill half its queue at most, and past that is discarded (``relays_dropped``),
so a peer flooding a swarm with offers cannot get the others (a browser on a slow link,
the node's own libtorrent) disconnected.  A socket is closed
when it has sent nothing for ``idle_timeout`` s (``first_message_timeout`` s before its
first message; real peers re-announce every ``Limits.interval`` = 120 s), when the core
says so (too many bad messages), or when its queue overflows.  Frame size, pings and
connection caps are the listener's (``osp.apps.http.listener``: 64 KiB messages, a ping
every 20 s, half the listener's connections (256 of 512), 16 per address and 64 per /24 or /64).  Nothing is logged per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from osp.discovery.wstracker import Close, Limits, Send, Tracker, TrackerStats

__all__ = ["TrackerHub"]


@dataclass
class _Socket:
    queue: asyncio.Queue[str | None]
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    queued_bytes: int = 0
    close_reason: str = ""


class TrackerHub:
    """The node's WebTorrent tracker on WebSockets: ``serve(websocket)`` is the route.

    ``allowed(info_hash)``: whether a 20-byte info hash may have a swarm (the node: a
    torrent it holds); ``limits``: the core's ``wstracker.Limits``; ``clock``: monotonic
    seconds (the core's ``now``).
    """

    def __init__(self, allowed: Callable[[bytes], bool], *, limits: Limits | None = None,
                 clock: Callable[[], float] = time.monotonic, idle_timeout: float = 300.0,
                 first_message_timeout: float = 30.0, send_queue_bytes: int = 512 * 1024,
                 tick_interval: float = 5.0) -> None:
        self.clock = clock
        self.tracker = Tracker(allowed, clock(), limits=limits)
        self.idle_timeout = idle_timeout
        self.first_message_timeout = first_message_timeout
        self.send_queue_bytes = send_queue_bytes
        self.tick_interval = tick_interval
        self._sockets: dict[int, _Socket] = {}
        self.relays_dropped = 0  #: relayed messages discarded because their target's queue was half full
        self._ticker: asyncio.Task[None] | None = None

    def stats(self) -> TrackerStats:
        """The core's counters now (safe from any thread)."""
        return self.tracker.stats()

    async def serve(self, websocket: WebSocket) -> None:
        """Run one tracker socket until it closes (never raises on a peer's behaviour)."""
        await websocket.accept()
        self._ensure_ticking()
        conn = self.tracker.connect()
        sock = _Socket(asyncio.Queue())
        self._sockets[conn] = sock
        writer = asyncio.create_task(self._write(websocket, sock))
        dropped = asyncio.create_task(sock.dropped.wait())
        timeout = self.first_message_timeout
        try:
            while not sock.dropped.is_set():
                receive = asyncio.ensure_future(websocket.receive())
                done, _ = await asyncio.wait({receive, dropped}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                if receive not in done:
                    receive.cancel()
                    if not done:
                        sock.close_reason = "idle"
                        sock.dropped.set()
                    break
                message = receive.result()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                events = self.tracker.receive(conn, text if isinstance(text, str) else "", self.clock())
                self._dispatch(events, conn)
                timeout = self.idle_timeout
        finally:
            self.tracker.disconnect(conn, self.clock())
            self._sockets.pop(conn, None)
            dropped.cancel()
            if sock.close_reason and not writer.done():
                sock.queue.put_nowait(None)  # unbounded queue: the byte budget is ours
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(writer), 2.0)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            if sock.close_reason:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(websocket.close(1008, sock.close_reason), 1.0)

    def _dispatch(self, events: list[Send | Close], origin: int) -> None:
        """Queue ``events`` that the core made of a message from connection ``origin``."""
        for event in events:
            sock = self._sockets.get(event.conn)
            if sock is None or sock.dropped.is_set():
                continue
            if isinstance(event, Close):
                sock.close_reason = event.reason
                sock.dropped.set()
                continue
            size = len(event.text)
            if event.conn != origin and sock.queued_bytes + size > self.send_queue_bytes // 2:
                self.relays_dropped += 1  # another peer's offer or answer: it goes, not the socket
                continue
            if sock.queued_bytes + size > self.send_queue_bytes:
                sock.close_reason = "too slow"  # it does not read what it asked for
                sock.dropped.set()
                continue
            sock.queued_bytes += size
            sock.queue.put_nowait(event.text)

    async def _write(self, websocket: WebSocket, sock: _Socket) -> None:
        """Send the socket's queue in order; a failed send drops the socket."""
        try:
            while True:
                text = await sock.queue.get()
                if text is None:
                    return
                sock.queued_bytes -= len(text)
                await websocket.send_text(text)
        except Exception:  # noqa: BLE001 - the peer went away: nothing to report
            sock.dropped.set()

    def _ensure_ticking(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            self.tracker.tick(self.clock())
