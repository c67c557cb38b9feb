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

    def _reserve(self, n: int) -> float:
        """Take ``n`` tokens (the balance may go negative); returns seconds to wait."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
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
