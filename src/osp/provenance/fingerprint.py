"""Acoustic fingerprints (Chromaprint) and the search that finds re-uploads (spec §9.7).

Computing one is the only I/O here: ``compute`` runs Chromaprint's ``fpcalc -raw`` (Debian
``libchromaprint-tools``, the tool pyacoustid drives) as a bounded subprocess and returns
its *raw* fingerprint: one unsigned 32-bit sub-fingerprint per ``ITEM_SECONDS`` (4096/3
samples at 11025 Hz, ≈ 0.1238 s: ~8 a second) over at most ``MAX_SECONDS`` of audio.

Everything else is pure and works on ``Sequence[int]`` / numpy ``uint32`` arrays:

- **Index entries** (``index_entries``): a sub-fingerprint's *key* is its top
  ``KEY_BITS`` bits (they survive re-encodes and volume changes best: Chromaprint's first
  classifiers); only positions whose key is *selected* (a multiplicative hash of the key,
  one key in ``SELECT_EVERY``) are indexed, so a trimmed or offset copy selects the same
  entries as its source; a run of equal keys (silence, a held chord) is indexed once.
- **Candidates** (``vote``): every posting ``(key, ref, position)`` the index returns for a
  query's entries votes for the offset ``indexed position − query position``; votes at
  neighbouring offsets add up (a cut that is not a multiple of the hop shifts by half an item).
  The library's index joins a query's keys inside SQLite and hands back one packed integer
  per hit (``osp.library.fingerprints.hits``), voted here with numpy (``vote_arrays``).
- **Confirmation** (``align``): the best candidates are aligned at their offset (± their
  ``slack``) and accepted when the overlap is at least ``MIN_OVERLAP`` seconds and the bit
  error rate of the overlap (popcount of the XOR, over 32 bits a value) is below ``MAX_BER``.
  Calibrated on real music (tests/unit/provenance/test_fingerprint_corpus.py): re-encodes to MP3
  64k, AAC 64k, Opus 24k and ±6 dB volume changes stay under 0.08, trims under 0.10;
  unrelated tracks, at their best offset over 10 s, stay above 0.34.  The overlap must also be
  ``informative``: silence and hum look alike to Chromaprint (BER ≈ 0.15 between two quiet
  renders), so an overlap where fewer than ``MIN_DISTINCT`` of the keys differ matches nothing.

A ``Match`` gives ``offset``: seconds into the *known* track at which the query's first
second falls (negative when the query starts earlier), ``overlap`` seconds and ``score``
(1 − BER/0.5, so 1.0 is bit-identical, 0.0 is chance).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from osp.core.errors import CallerError, UnsupportedMediaError

ITEM_SECONDS = 4096 / 3 / 11025  #: seconds between two sub-fingerprints (Chromaprint's default algorithm 2)
MAX_SECONDS = 600  #: audio fingerprinted per track: the first 10 minutes
FPCALC_TIMEOUT = 120.0  #: seconds ``fpcalc`` may run on one file
KEY_BITS = 20  #: bits of a sub-fingerprint that make its index key (the top ones)
SELECT_EVERY = 8  #: one key in this many is indexed (value-selected: the same in every copy)
MIN_OVERLAP = 10.0  #: seconds two fingerprints must overlap to match
MAX_BER = 0.25  #: bit error rate of the overlap under which they match
SLACK = 2  #: items around a voted offset tried by ``align``
MIN_DISTINCT = 0.25  #: share of distinct keys an overlap needs: silence and hum (a few keys) match nothing
MIN_VOTES = 2  #: votes (at an offset, neighbours included) a candidate needs before it is aligned
CONFIRM = 16  #: candidates aligned per query, best voted first
MAX_POSTINGS = 2000  #: a key with more postings is skipped (common to thousands of tracks, it says nothing)

Values = npt.NDArray[np.uint32]
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class FingerprintError(UnsupportedMediaError):
    """``fpcalc`` could not fingerprint a file (not audio, too short, broken, timed out)."""

    code = "fingerprint"


class FpcalcMissing(CallerError):
    """``fpcalc`` is not installed (Debian ``libchromaprint-tools``): no file's fault."""


@dataclass(frozen=True)
class Fingerprint:
    """A raw Chromaprint fingerprint: ``values`` (uint32, one per ``ITEM_SECONDS``) and the
    ``duration`` fpcalc reported (seconds of the whole file)."""

    values: Values
    duration: float

    @property
    def seconds(self) -> float:
        """Seconds of audio the values cover."""
        return len(self.values) * ITEM_SECONDS


@dataclass(frozen=True)
class Candidate:
    """A known fingerprint ``ref`` the index voted for: ``offset`` (items, known − query) and ``votes``."""

    ref: int
    offset: int
    votes: int
    slack: int = SLACK  #: items around ``offset`` the alignment tries


@dataclass(frozen=True)
class Alignment:
    """Two fingerprints aligned at ``offset`` items (position in the known one of the
    query's first item): ``overlap`` items and their bit error rate ``ber`` (0…1)."""

    offset: int
    overlap: int
    ber: float


@dataclass(frozen=True)
class Match:
    """A confirmed match with the known fingerprint ``ref``: ``offset`` and ``overlap`` in
    seconds, ``score`` in 0…1 (1 − BER/0.5), ``ber`` and ``votes`` for diagnostics."""

    ref: int
    offset: float
    overlap: float
    score: float
    ber: float
    votes: int


# -- computing (the only I/O) ----------------------------------------------------------


def compute(path: Path, *, max_seconds: int = MAX_SECONDS, timeout: float = FPCALC_TIMEOUT,
            fpcalc: str = "fpcalc") -> Fingerprint:
    """Fingerprint the first ``max_seconds`` of the audio file ``path`` with ``fpcalc -raw -json``.

    Raises ``FingerprintError`` when fpcalc fails, times out, answers nonsense or finds
    no audio; ``FpcalcMissing`` (a ``CallerError``) when fpcalc is not installed (Debian ``libchromaprint-tools``).
    """
    try:
        done = subprocess.run([fpcalc, "-raw", "-json", "-length", str(int(max_seconds)), "--", str(path)],
                              capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise FpcalcMissing("fpcalc is not installed (Debian: apt install libchromaprint-tools)") from exc
    except subprocess.TimeoutExpired as exc:
        raise FingerprintError(f"fpcalc took more than {timeout:g} s on {path.name}") from exc
    try:
        answer = json.loads(done.stdout[: 64 * 1024 * 1024])
        values = np.asarray(answer["fingerprint"], dtype=np.uint32)
        duration = float(answer["duration"])
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise FingerprintError(f"cannot fingerprint {path.name}: {why[0][:200]}") from exc
    if values.ndim != 1 or len(values) == 0:
        raise FingerprintError(f"cannot fingerprint {path.name}: no audio")
    return Fingerprint(values, duration)


# -- encodings -------------------------------------------------------------------------


def to_bytes(values: Sequence[int] | Values) -> bytes:
    """Values as unsigned 32-bit little-endian integers (the storage and wire form)."""
    return np.asarray(values, dtype="<u4").tobytes()


def from_bytes(data: bytes) -> Values:
    """The inverse of ``to_bytes``; ``CallerError`` when the length is not a multiple of 4."""
    if len(data) % 4:
        raise CallerError("a raw fingerprint is a whole number of 32-bit values")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def encode_param(values: Sequence[int] | Values) -> str:
    """The ``fp`` parameter of ``GET /osp/v0/match`` (spec §9.7): base64url, no padding, of ``to_bytes``."""
    return base64.urlsafe_b64encode(to_bytes(values)).rstrip(b"=").decode("ascii")


def decode_param(text: str, *, max_values: int) -> Values:
    """Parse an ``fp`` parameter (``encode_param``); ``CallerError`` unless it is base64url of
    1…``max_values`` values.  The length is capped before anything is decoded."""
    if len(text) > (max_values * 4 * 4 + 2) // 3:
        raise CallerError(f"fp is longer than {max_values} values")
    if not _BASE64URL.fullmatch(text):
        raise CallerError("fp is not base64url (A-Z a-z 0-9 - _, no padding)")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CallerError("fp is not base64url") from exc
    if not data or len(data) % 4:
        raise CallerError("fp must hold a whole number of 32-bit values")
    return from_bytes(data)


# -- index entries ----------------------------------------------------------------------


def keys_of(values: Values) -> npt.NDArray[np.int64]:
    """The index key of every value: its top ``KEY_BITS`` bits."""
    return (np.asarray(values, dtype=np.uint32) >> np.uint32(32 - KEY_BITS)).astype(np.int64)


def _selected(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    mixed = (keys * 0x9E3779B1) & 0xFFFFFFFF  # Fibonacci hashing: the selection does not follow the key's bits
    selected: npt.NDArray[np.bool_] = (mixed >> 16) % SELECT_EVERY == 0
    return selected


def index_entries(values: Values) -> list[tuple[int, int]]:
    """``(key, position)`` of the positions worth indexing (or querying) in ``values``:
    selected keys, once per run of equal keys."""
    keys = keys_of(values)
    if len(keys) == 0:
        return []
    first_of_run = np.ones(len(keys), dtype=bool)
    first_of_run[1:] = keys[1:] != keys[:-1]
    positions = np.nonzero(first_of_run & _selected(keys))[0]
    return [(int(keys[p]), int(p)) for p in positions]


# -- matching ---------------------------------------------------------------------------


def vote(query: Iterable[tuple[int, int]], postings: Iterable[tuple[int, int, int]]) -> list[Candidate]:
    """Candidates for a query's ``(key, position)`` entries from the index's ``(key, ref,
    position)`` postings, best first: per ref the offset whose votes, with its two
    neighbours', are highest (at least ``MIN_VOTES``; ties: its own votes, then the lower offset)."""
    at: dict[int, list[int]] = {}
    for key, pos in query:
        at.setdefault(key, []).append(pos)
    counts: Counter[tuple[int, int]] = Counter()
    for key, ref, pos in postings:
        for q in at.get(key, ()):
            counts[(ref, pos - q)] += 1
    best: dict[int, Candidate] = {}
    for (ref, offset), n in counts.items():
        total = n + counts.get((ref, offset - 1), 0) + counts.get((ref, offset + 1), 0)
        held = best.get(ref)
        if total >= MIN_VOTES and (held is None or (total, n, -offset) > (held.votes, counts[(ref, held.offset)],
                                                                           -held.offset)):
            best[ref] = Candidate(ref, offset, total)
    return sorted(best.values(), key=lambda c: (-c.votes, c.ref))


def vote_arrays(n: npt.NDArray[np.int64], offset: npt.NDArray[np.int64]) -> list[Candidate]:
    """``vote`` over hits given as arrays (each hit's ref ``n`` and ``offset``), vectorized:
    per ref the offset whose votes with its two neighbours' are highest, at least
    ``MIN_VOTES``; best first (the same candidates as ``vote``)."""
    if len(n) == 0:
        return []
    span = 1 << 16
    packed = n * span + (offset + span // 2)  # offsets are within ±2**13
    uniq, counts = np.unique(packed, return_counts=True)
    total = counts.copy()
    for step in (-1, 1):  # add each neighbour offset's votes (same ref: the packing keeps refs apart)
        at = np.searchsorted(uniq, uniq + step)
        found = (at < len(uniq)) & (uniq[np.minimum(at, len(uniq) - 1)] == uniq + step)
        total[found] += counts[at[found]]
    good = total >= MIN_VOTES
    if not good.any():
        return []
    uniq, total, counts = uniq[good], total[good], counts[good]
    order = np.lexsort((-counts, -total, uniq // span))  # per ref: most votes (then its own count) first
    refs = uniq[order] // span
    first = np.ones(len(order), dtype=bool)
    first[1:] = refs[1:] != refs[:-1]
    best = [Candidate(int(u // span), int(u % span - span // 2), int(t))
            for u, t in zip(uniq[order][first], total[order][first], strict=True)]
    return sorted(best, key=lambda c: (-c.votes, c.ref))


def _popcount(x: Values) -> int:
    return int(np.bitwise_count(x).sum())


def ber_at(query: Values, known: Values, offset: int) -> Alignment:
    """The alignment of ``query`` with ``known`` at ``offset`` items (position in ``known`` of
    ``query[0]``); ``ber`` is 1.0 when they do not overlap."""
    lo, hi = max(0, offset), min(len(known), offset + len(query))
    if hi <= lo:
        return Alignment(offset, 0, 1.0)
    diff = known[lo:hi] ^ query[lo - offset:hi - offset]
    return Alignment(offset, hi - lo, _popcount(diff) / (32 * (hi - lo)))


def align(query: Values, known: Values, offset: int, slack: int = SLACK) -> Alignment:
    """The best alignment (lowest BER among those that overlap ``MIN_OVERLAP``) at ``offset`` ± ``slack``."""
    need = min_overlap_items()
    tried = [ber_at(query, known, o) for o in range(offset - slack, offset + slack + 1)]
    fit = [a for a in tried if a.overlap >= need] or tried
    return min(fit, key=lambda a: (a.ber, abs(a.offset - offset)))


def informative(values: Values) -> bool:
    """Whether ``values`` carry enough information to match on: at least ``MIN_DISTINCT`` of
    them have distinct keys.  Silence, a noise floor or a hum (1 to ~15 distinct keys in 10 s,
    where music has ~70) would match each other at a BER near 0.15."""
    return len(values) > 0 and len(np.unique(keys_of(values))) >= MIN_DISTINCT * len(values)


def min_overlap_items() -> int:
    """``MIN_OVERLAP`` in items."""
    return int(np.ceil(MIN_OVERLAP / ITEM_SECONDS))


def confirm(query: Values, candidates: Sequence[Candidate], load: Callable[[int], Values | None],
            *, limit: int = 10) -> list[Match]:
    """Align the first ``CONFIRM`` candidates (``load(ref)`` gives a known fingerprint, or
    ``None`` if it is gone) and keep those that match: best score first, at most ``limit``."""
    need = min_overlap_items()
    out: list[Match] = []
    for c in candidates[:CONFIRM]:
        known = load(c.ref)
        if known is None or len(known) < need:
            continue
        a = align(query, known, c.offset, c.slack)
        lo = max(0, -a.offset)
        if a.overlap >= need and a.ber < MAX_BER and informative(query[lo:lo + a.overlap]):
            out.append(Match(c.ref, round(a.offset * ITEM_SECONDS, 2), round(a.overlap * ITEM_SECONDS, 2),
                             round(max(0.0, 1 - a.ber / 0.5), 3), round(a.ber, 4), c.votes))
    out.sort(key=lambda m: (-m.score, -m.overlap, m.ref))
    return out[:limit]


def search(query: Values, candidates: Callable[[Sequence[tuple[int, int]]], Sequence[Candidate]],
           load: Callable[[int], Values | None], *, limit: int = 10, exclude: int | None = None) -> list[Match]:
    """Find ``query`` among indexed fingerprints: ``candidates(entries)`` votes for the
    query's ``(key, position)`` entries (``vote`` over the index's postings, or the same
    done by the index itself), best first; ``load(ref)`` gives a known fingerprint;
    ``exclude``: a ref never reported (the query's own).  A query shorter than
    ``MIN_OVERLAP`` matches nothing."""
    query = np.asarray(query, dtype=np.uint32)
    if len(query) < min_overlap_items():
        return []
    entries = index_entries(query)
    if not entries:
        return []
    found = [c for c in candidates(entries) if c.ref != exclude]
    return confirm(query, found, load, limit=limit)


def postings_voter(postings: Callable[[Sequence[int]], Iterable[tuple[int, int, int]]]
                   ) -> Callable[[Sequence[tuple[int, int]]], list[Candidate]]:
    """``candidates`` for ``search`` from a ``postings(keys)`` source of ``(key, ref,
    position)`` rows (an in-memory index), voted here (``vote``)."""
    return lambda entries: vote(entries, postings(sorted({k for k, _ in entries})))
