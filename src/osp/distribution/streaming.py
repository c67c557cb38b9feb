"""Serving a track's bytes while it downloads (HTTP Range for local players).

``StreamSource.read(start, end)`` yields the file bytes ``[start, end]`` in order.  For
each piece not yet on disk it raises the piece's priority with a deadline (libtorrent
time-critical pieces) and waits until the piece has passed its hash check, so only
verified bytes are ever served.  Waiting is on a condition notified by the engine's
``PieceFinished`` events, bounded by ``piece_timeout`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from osp.core.errors import PeerError
from osp.distribution.engine import Engine

READ_AHEAD_PIECES = 8
READ_SIZE = 64 * 1024


class PieceWaiter:
    """A condition variable poked on every ``PieceFinished``/``TorrentFinished`` event."""

    def __init__(self) -> None:
        self.cond = threading.Condition()

    def notify(self, _event: object = None) -> None:
        with self.cond:
            self.cond.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.25))
        return True


@dataclass
class StreamSource:
    """Bytes of one track: a complete file (``engine``/``infohash`` ``None``) or a torrent
    still downloading into ``path``.  ``size`` in bytes; ``piece_length`` in bytes."""

    path_of: Callable[[], Path]
    size: int
    mime: str
    engine: Engine | None = None
    infohash: str | None = None
    piece_length: int = 0
    waiter: PieceWaiter | None = None
    piece_timeout: float = 60.0

    def _downloading(self) -> bool:
        return self.engine is not None and self.infohash is not None and self.engine.has_torrent(self.infohash)

    def _ensure(self, piece: int, last_piece: int) -> None:
        assert self.engine is not None and self.infohash is not None and self.waiter is not None
        engine, infohash = self.engine, self.infohash
        if engine.have_piece(infohash, piece):
            return
        engine.prioritize(infohash, piece, min(piece + READ_AHEAD_PIECES, last_piece))
        if not self.waiter.wait_until(lambda: engine.have_piece(infohash, piece), self.piece_timeout):
            raise PeerError(f"piece {piece} did not arrive within {self.piece_timeout:.0f} s: no peer has it")

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Yield bytes ``start..end`` inclusive (``0 <= start <= end < size``).

        While the torrent downloads, each piece is read through libtorrent once it has
        passed its hash check (its write cache may not be on disk yet); a complete file
        is read from disk.
        """
        pos = start
        last_piece = (self.size - 1) // self.piece_length if self.piece_length else 0
        handle = None
        try:
            while pos <= end:
                if self._downloading():
                    assert self.engine is not None and self.infohash is not None
                    piece = pos // self.piece_length
                    self._ensure(piece, last_piece)
                    data = self.engine.read_piece(self.infohash, piece, self.piece_timeout)
                    begin = pos - piece * self.piece_length
                    chunk = data[begin : begin + (end + 1 - pos)]
                    if not chunk:
                        raise PeerError(f"piece {piece} is shorter than the torrent says")
                    pos += len(chunk)
                    yield chunk
                    continue
                if handle is None:
                    handle = open(self.path_of(), "rb")
                handle.seek(pos)
                data = handle.read(min(READ_SIZE, end + 1 - pos))
                if not data:
                    raise PeerError("the file ended before its declared size")
                pos += len(data)
                yield data
        finally:
            if handle is not None:
                handle.close()
