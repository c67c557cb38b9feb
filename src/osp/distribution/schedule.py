"""Which pieces a stream needs, and when: the request-scheduling policy (pure).

A player reads a track through ``/stream/`` in jumps: the start, then the tail (Ogg
duration, MP3 ID3v1/APE tags: every demuxer probes it, design.md §8), then back, and
later wherever the listener seeks.  Each jump is a **read**; the rules:

1. **The newest read outranks everything.**  A player that jumps has stopped waiting for
   what it asked before, so a new read *preempts*: every earlier deadline is dropped and
   the requests still queued at peers for other pieces are cancelled, so the new range
   does not wait behind the read-ahead already in the link's queue.
2. **Urgent first**: the pieces covering the first ``urgent`` bytes of the read (what a
   demuxer needs to probe or decode its first frames) are due at once, in order (deadline
   0, 1, 2 … ms: libtorrent serves deadlines in order); the pieces every player probes
   (``probe_pieces``, *pinned* while missing) stay due now, in the order players read them.
3. **Then a rolling read-ahead** of ``ahead`` bytes after them, with deadlines staggered
   by ``step_ms`` per piece so they arrive in order; when the reader reaches a piece still
   missing, the window rolls forward from there (without preempting: same read).
4. Everything else is left to the engine's rarest-first download (listeners of one track
   then hold different pieces to trade), which the probe pieces hold back until they are
   in (``Engine.focus``) and deadlines always outrank.
5. **The swarm first, web seeds when it is away or late**: HTTP sources fetch a read's
   urgent pieces (and the probe pieces) at once while no BitTorrent peer is connected (a
   swarm is slow to connect: the opening bytes come over HTTP), and otherwise only those
   still missing ``HTTP_LATE`` seconds after they were wanted (``http_urgent``); the
   read-ahead and the rest only while no BitTorrent peer has been connected for
   ``BULK_GRACE`` seconds (``http_bulk``).  A node publishing from home is not drained
   over HTTP by every listener while the swarm can carry them, and one uplink does not
   carry the same piece twice (BitTorrent and HTTP to the same seeder).

These functions take numbers and return numbers; ``streaming.StreamSource`` applies them
to the engine (libtorrent piece deadlines, ``Engine.prioritize``) and ``webseed`` to HTTP
sources.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

URGENT_BYTES = 64 * 1024
READ_AHEAD_BYTES = 512 * 1024
STEP_MS = 100
BULK_GRACE = 2.0  #: seconds without a BitTorrent peer before web seeds carry the bulk
HTTP_LATE = 0.5  #: seconds an urgent piece may wait for the swarm before web seeds fetch it too


@dataclass(frozen=True)
class Window:
    """The pieces one read wants, with deadlines in milliseconds from now (``0`` = now)."""

    pieces: tuple[tuple[int, int], ...]  #: ``(piece, deadline_ms)`` in reading order
    preempt: bool  #: drop earlier deadlines and cancel queued requests first

    @property
    def urgent(self) -> tuple[int, ...]:
        """The pieces due now (deadlines under ``STEP_MS``)."""
        return tuple(p for p, d in self.pieces if d < STEP_MS)


def read_window(
    start: int,
    size: int,
    piece_length: int,
    have: Callable[[int], bool] = lambda _: False,
    *,
    preempt: bool = True,
    pinned: Sequence[int] = (),
    urgent: int = URGENT_BYTES,
    ahead: int = READ_AHEAD_BYTES,
    step_ms: int = STEP_MS,
) -> Window:
    """The window of a read at byte ``start`` of a ``size``-byte file cut in ``piece_length``
    pieces: pieces covering ``[start, start + urgent)`` due at 0 ms, then those covering the
    next ``ahead`` bytes due at ``step_ms``, ``2 * step_ms``, …; pieces ``have`` says are
    here are left out (their slot still counts, so deadlines keep their spacing).
    ``pinned`` pieces (``probe_pieces``: every player reads them) missing here stay due at
    0 ms, right after the read's own urgent pieces, so a read never drops them.

    ``ValueError`` unless ``0 <= start < size`` and ``piece_length > 0``.
    """
    if piece_length <= 0 or not 0 <= start < size:
        raise ValueError(f"no window at byte {start} of {size} with pieces of {piece_length}")
    last_piece = (size - 1) // piece_length
    first = start // piece_length
    urgent_last = min(last_piece, (start + max(1, urgent) - 1) // piece_length)
    ahead_last = min(last_piece, (start + max(1, urgent) + max(0, ahead) - 1) // piece_length)
    out: list[tuple[int, int]] = []
    mine = [p for p in range(first, urgent_last + 1) if not have(p)]
    pins = [p for p in dict.fromkeys(pinned) if 0 <= p <= last_piece]
    if first in pins:  # a probe: players read the probe pieces in their order, from here on
        i = pins.index(first)
        rotated = pins[i:] + pins[:i]
        order = [p for p in rotated if not have(p)] + [p for p in mine if p not in rotated]
    else:
        order = mine + [p for p in pins if p not in mine and not have(p)]
    out = [(p, i) for i, p in enumerate(order)]
    listed = set(order)
    for piece in range(urgent_last + 1, ahead_last + 1):
        if not have(piece) and piece not in listed:
            out.append((piece, len(order) + (piece - urgent_last) * step_ms))
    return Window(tuple(out), preempt)


def probe_pieces(size: int, piece_length: int, *, urgent: int = URGENT_BYTES) -> list[int]:
    """The pieces every player reads before it plays: the first piece, then those of the
    last ``urgent`` bytes (Ogg duration, MP3 ID3v1/APE tags, design.md §8), then the rest of
    the first ``urgent`` bytes; in that order, which is the order ffmpeg reads them in."""
    if size <= 0 or piece_length <= 0:
        return []
    last = (size - 1) // piece_length
    head = list(range(0, min(last, (urgent - 1) // piece_length) + 1))
    tail = list(range(max(0, size - urgent) // piece_length, last + 1))
    return list(dict.fromkeys([head[0], *tail, *head[1:]]))


def http_bulk(now: float, bittorrent_peers: int, last_peer_seen: float, *, grace: float = BULK_GRACE) -> bool:
    """Whether web seeds should carry the bulk of a download (rule 5): no BitTorrent peer is
    connected and none has been for ``grace`` seconds (``last_peer_seen``: when one last
    was, or when the transfer started; seconds on the same clock as ``now``)."""
    return bittorrent_peers == 0 and now - last_peer_seen >= grace


def http_urgent(now: float, wanted_at: float, bittorrent_peers: int, *, late: float = HTTP_LATE) -> bool:
    """Whether web seeds should fetch an urgent piece wanted since ``wanted_at`` (rule 5):
    at once while no BitTorrent peer is connected, else once it is ``late`` seconds late."""
    return bittorrent_peers == 0 or now - wanted_at >= late
