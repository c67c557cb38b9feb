"""Serving a track's bytes while it downloads (HTTP Range for local players).

``StreamSource.read(start, end)`` yields the file bytes ``[start, end]`` in order.  A read
follows the policy of ``osp.distribution.schedule``: it is registered as the torrent's
newest read (``Reads``) and preempts every earlier one, its urgent pieces get deadline 0
and a read-ahead window follows, rolled forward at each piece the reader enters (the
download itself is rarest-first, so that listeners of one track hold different pieces to
trade); for each piece not yet verified it waits until
the piece has passed its hash check, so only verified bytes are ever served.  Waiting is
on a condition notified by the engine's ``PieceFinished`` events, bounded by
``piece_timeout`` seconds; while it waits, the newest read re-asserts its deadlines every
second (another read may have preempted and then finished), an older read does not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from osp.core.errors import PeerError
from osp.distribution.engine import Engine
from osp.distribution.schedule import read_window
from osp.distribution.webseed import WebSeeds

READ_SIZE = 64 * 1024
REASSERT_SECONDS = 1.0


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


class Reads:
    """The newest read of each torrent (thread-safe): ``begin`` returns a generation number,
    ``is_newest`` says whether a read is still the torrent's latest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._newest: dict[str, int] = {}
        self._pinned: dict[str, tuple[int, ...]] = {}
        self._count = 0

    def pin(self, infohash: str, pieces: tuple[int, ...]) -> None:
        """Pieces of the torrent every read keeps urgent until they are here
        (``schedule.probe_pieces``)."""
        with self._lock:
            self._pinned[infohash] = pieces

    def forget(self, infohash: str) -> None:
        """The torrent's transfer ended: drop what is kept for it."""
        with self._lock:
            self._pinned.pop(infohash, None)
            self._newest.pop(infohash, None)

    def pinned(self, infohash: str) -> tuple[int, ...]:
        with self._lock:
            return self._pinned.get(infohash, ())

    def begin(self, infohash: str) -> int:
        with self._lock:
            self._count += 1
            self._newest[infohash] = self._count
            return self._count

    def is_newest(self, infohash: str, generation: int) -> bool:
        with self._lock:
            return self._newest.get(infohash) == generation


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
    reads: Reads | None = None  #: shared per node: which read of a torrent is the newest
    http: WebSeeds | None = None  #: the transfer's web seeds, told each read's window too

    def _downloading(self) -> bool:
        return self.engine is not None and self.infohash is not None and self.engine.has_torrent(self.infohash)

    def _want(self, pos: int, generation: int, preempt: bool) -> None:
        """Ask the engine for the window of a read at ``pos`` (``schedule.read_window``)."""
        assert self.engine is not None and self.infohash is not None
        engine, infohash = self.engine, self.infohash
        if self.reads is not None and not self.reads.is_newest(infohash, generation):
            return  # a newer read outranks this one: it waits without competing
        window = read_window(pos, self.size, self.piece_length, lambda p: engine.have_piece(infohash, p),
                             preempt=preempt, pinned=self.reads.pinned(infohash) if self.reads is not None else ())
        if window.pieces or window.preempt:
            engine.prioritize(infohash, window.pieces, preempt=window.preempt)
        if self.http is not None:
            self.http.want(list(window.urgent))  # the read-ahead is the swarm's (schedule rule 5)

    def _ensure(self, pos: int, generation: int) -> None:
        """Wait until the piece holding byte ``pos`` is verified (rolling the window forward
        when it is missing); ``PeerError`` after ``piece_timeout`` seconds."""
        assert self.engine is not None and self.infohash is not None and self.waiter is not None
        engine, infohash = self.engine, self.infohash
        piece = pos // self.piece_length
        if engine.have_piece(infohash, piece):
            return
        deadline = time.monotonic() + self.piece_timeout
        while True:
            self._want(pos, generation, preempt=False)
            left = deadline - time.monotonic()
            if left <= 0:
                raise PeerError(f"piece {piece} did not arrive within {self.piece_timeout:.0f} s: no peer has it")
            if self.waiter.wait_until(lambda: engine.have_piece(infohash, piece), min(left, REASSERT_SECONDS)):
                return

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Yield bytes ``start..end`` inclusive (``0 <= start <= end < size``).

        While the torrent downloads, each piece is read through libtorrent once it has
        passed its hash check (its write cache may not be on disk yet); a complete file
        is read from disk.
        """
        pos = start
        handle = None
        generation = 0
        if self._downloading():
            assert self.infohash is not None
            generation = self.reads.begin(self.infohash) if self.reads is not None else 0
            self._want(start, generation, preempt=True)  # the newest read outranks every other
        try:
            while pos <= end:
                if self._downloading():
                    assert self.engine is not None and self.infohash is not None
                    piece = pos // self.piece_length
                    self._ensure(pos, generation)
                    data = self.engine.read_piece(self.infohash, piece, self.piece_timeout)
                    begin = pos - piece * self.piece_length
                    chunk = data[begin : begin + (end + 1 - pos)]
                    if not chunk:
                        raise PeerError(f"piece {piece} is shorter than the torrent says")
                    pos += len(chunk)
                    yield chunk
                    if pos < self.size and pos % self.piece_length == 0 and self._downloading():
                        self._want(pos, generation, preempt=False)  # the window rolls with the reader
                    continue
                if handle is None:
                    try:
                        handle = open(self.path_of(), "rb")
                    except FileNotFoundError as exc:
                        raise PeerError("the track's file went away while it streamed (cancelled or removed)") from exc
                handle.seek(pos)
                data = handle.read(min(READ_SIZE, end + 1 - pos))
                if not data:
                    raise PeerError("the file ended before its declared size")
                pos += len(data)
                yield data
        finally:
            if handle is not None:
                handle.close()
