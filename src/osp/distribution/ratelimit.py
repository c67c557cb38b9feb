"""A token bucket for the node's upload cap on HTTP (gateway and web-seed bytes).

libtorrent caps BitTorrent uploads itself; this caps the bytes the peer listener
sends, so ``--upload-limit`` means what an operator expects.  Pure logic with an
injected clock and sleep: tests step a manual clock.  The peer listener waits with
``consume_async`` (an ``asyncio`` sleep on its event loop), never in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable


class TokenBucket:
    """``rate`` bytes/s with bursts up to ``burst`` bytes (default: a quarter second's worth).

    ``consume(n)`` blocks (via ``sleep``) until ``n`` bytes may be sent; ``await
    consume_async(n)`` waits without holding a thread; both are thread-safe.
    """

    def __init__(
        self,
        rate: int,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst or max(16 * 1024, rate // 4)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._last = clock()
        self._lock = threading.Lock()
        #: bytes let through so far (``UploadBudget`` reads it)
        self.sent = 0

    def _reserve(self, n: int) -> float:
        """Take ``n`` tokens (the balance may go negative); returns seconds to wait."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            self.sent += n
            return max(0.0, -self._tokens / self.rate)

    def consume(self, n: int) -> None:
        wait = self._reserve(n)
        if wait > 0:
            self._sleep(wait)

    async def consume_async(self, n: int) -> None:
        """Like ``consume`` but waits with ``asyncio.sleep`` (no worker thread is held)."""
        wait = self._reserve(n)
        if wait > 0:
            await asyncio.sleep(wait)


class UploadBudget:
    """One ``--upload-limit`` for BitTorrent and HTTP together.

    libtorrent caps BitTorrent and ``TokenBucket`` caps HTTP (gateway, web seed); each
    alone at ``limit`` let both together send up to twice the limit (measured 5.3 MB/s
    for ``--upload-limit 3000000``).  This controller gives libtorrent what HTTP leaves:
    every ``interval`` seconds the caller passes ``now`` (seconds, monotonic) and the
    bucket's running byte count, and sets libtorrent's cap to
    ``max(floor, limit - HTTP rate over the last window)``.  HTTP keeps its own bucket
    at ``limit``, so the total stays within ``limit + floor`` and BitTorrent is never
    starved to zero (``floor`` defaults to 1/16 of the limit, at least 16 KiB/s).
    Pure: no clock or I/O of its own.
    """

    def __init__(self, limit: int, *, floor: int | None = None, window: float = 2.0) -> None:
        if limit <= 0:
            raise ValueError("limit must be positive")
        self.limit = limit
        self.floor = min(limit, floor if floor is not None else max(16 * 1024, limit // 16))
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def http_rate(self) -> float:
        """HTTP bytes/s over the samples in the window (0 until two samples exist)."""
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def bittorrent_limit(self, now: float, http_sent: int) -> int:
        """Record ``(now, http_sent)`` and return libtorrent's upload cap in bytes/s."""
        self._samples.append((now, http_sent))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()
        return max(self.floor, int(self.limit - self.http_rate()))
