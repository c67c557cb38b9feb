"""The OSP piece-length rule (OSP v0.1 §"Torrent", spec/osp-v0.1.md): pure, no I/O.

A track's torrent uses the smallest power of two, at least 16 KiB, that keeps the file
within 1024 pieces, capped at 16 MiB::

    piece_length_for(size) = min(16 MiB, max(16 KiB, next_pow2(ceil(size / 1024))))

16 KiB is the BitTorrent request block (BEP 3 practice) and BEP 52's minimum piece
length, so a piece is one request.  Audio-sized files get small pieces: the first
verified bytes of a 3–16 MiB track cross a 2 Mbit/s home uplink in ~65 ms instead of
~1 s for a 256 KiB piece, while ``pieces`` stays at most 20 KiB (v1, 20 bytes a piece).
The rule is a function of the size alone, so identical audio gives one torrent (one
swarm), and a fetching node can refuse any other piece length.
"""

from __future__ import annotations

__all__ = ["MAX_PIECES", "MAX_PIECE_LENGTH", "MIN_PIECE_LENGTH", "piece_count", "piece_length_for"]

MIN_PIECE_LENGTH = 16 * 1024  #: bytes; the BitTorrent block size and BEP 52's minimum
MAX_PIECE_LENGTH = 16 * 1024 * 1024  #: bytes; reached from 16 GiB files on
MAX_PIECES = 1024  #: pieces a torrent has at most, below the cap


def piece_length_for(size: int) -> int:
    """The piece length in bytes (a power of two, 16 KiB … 16 MiB) OSP v0.1 requires for a
    single-file torrent of ``size`` bytes.

    Examples: 1 MB and 5 MB → 16,384 (62 and 306 pieces); 50 MB → 65,536 (763 pieces);
    500 MB → 524,288 (954 pieces).  ``size`` 0 gives the minimum (libtorrent refuses an
    empty torrent, and an empty file is not audio).  Raises ``ValueError`` for a negative
    ``size``.
    """
    if size < 0:
        raise ValueError(f"negative file size {size}")
    per_piece = -(-size // MAX_PIECES)  # ceil(size / MAX_PIECES)
    length = MIN_PIECE_LENGTH
    while length < per_piece and length < MAX_PIECE_LENGTH:
        length *= 2
    return length


def piece_count(size: int) -> int:
    """The number of pieces of a ``size``-byte file under ``piece_length_for`` (0 for 0 bytes)."""
    length = piece_length_for(size)
    return -(-size // length)
