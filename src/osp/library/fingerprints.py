"""Acoustic fingerprints in the library (migration 11): a repository over ``fingerprints``
(one row per track: the raw fingerprint blob, or why it failed), ``fp_index`` (the inverted
index: ``(key, n, pos)`` in a ``WITHOUT ROWID`` table, so a lookup is a few primary-key range
reads and nothing is rebuilt in memory at start) and ``duplicates`` (what a track matched).

The keys and positions are computed above this layer (``osp.provenance.fingerprint``);
here they are integers.  Times are Unix seconds passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from osp.library.store import Library, TrackRow

KeysOf = Callable[[bytes], Iterable[int]]  #: the index keys of a stored fingerprint blob


@dataclass(frozen=True)
class FingerprintRow:
    """A track's fingerprint: its index number ``n``, ``track_id``, raw ``fp`` bytes
    (``None`` when fingerprinting failed, then ``error`` says why), ``seconds`` covered, ``at``."""

    n: int
    track_id: str
    fp: bytes | None
    seconds: float
    error: str | None
    at: float


@dataclass(frozen=True)
class DuplicateRow:
    """``track_id`` matches the earlier ``match_id``: ``offset`` (seconds into ``match_id``
    where ``track_id`` starts), ``overlap`` seconds, ``score`` 0…1; ``own``: same artist."""

    track_id: str
    match_id: str
    offset: float
    overlap: float
    score: float
    own: bool


def unfingerprinted(library: Library, limit: int) -> list[TrackRow]:
    """At most ``limit`` library tracks with no fingerprint row yet (nor a failure), oldest first."""
    rows = library._all("SELECT * FROM tracks WHERE NOT EXISTS (SELECT 1 FROM fingerprints f WHERE "
                        "f.track_id=tracks.id) ORDER BY added_at, id LIMIT ?", (limit,))
    return [TrackRow(*r) for r in rows]  # type: ignore[arg-type]


def store(library: Library, track_id: str, fp: bytes, seconds: float, entries: Sequence[tuple[int, int]],
          now: float, keys: KeysOf) -> int:
    """Store ``track_id``'s fingerprint and its index ``entries`` (``(key, position)``) in one
    transaction, replacing any earlier row (``keys``: see ``forget``); returns its number ``n``."""
    with library.transaction() as db:
        _drop(db, track_id, keys)
        cur = db.execute("INSERT INTO fingerprints (track_id, fp, seconds, error, at) VALUES (?,?,?,NULL,?)",
                         (track_id, fp, float(seconds), float(now)))
        n = int(cur.lastrowid or 0)
        db.executemany("INSERT OR IGNORE INTO fp_index VALUES (?,?,?)", [(k, n, p) for k, p in entries])
    return n


def store_failure(library: Library, track_id: str, error: str, now: float, keys: KeysOf) -> None:
    """Record that ``track_id`` could not be fingerprinted (so it is not retried)."""
    with library.transaction() as db:
        _drop(db, track_id, keys)
        db.execute("INSERT INTO fingerprints (track_id, fp, seconds, error, at) VALUES (?,NULL,0,?,?)",
                   (track_id, error[:500], float(now)))


def forget(library: Library, track_id: str, keys: KeysOf) -> None:
    """Drop ``track_id``'s fingerprint, index rows and duplicate rows (the track left the
    library); ``keys(fp bytes)`` names every key its index rows may have."""
    with library.transaction() as db:
        _drop(db, track_id, keys)
        db.execute("DELETE FROM duplicates WHERE track_id=? OR match_id=?", (track_id, track_id))


def _drop(db: Any, track_id: str, keys: KeysOf) -> None:
    """Drop ``track_id``'s fingerprint row and its index rows, found by the keys of its blob
    (``keys(fp)``: every key it may be indexed under), so no secondary index is needed."""
    row = db.execute("SELECT n, fp FROM fingerprints WHERE track_id=?", (track_id,)).fetchone()
    if row is None:
        return
    n = int(row[0])
    if row[1] is not None:
        db.executemany("DELETE FROM fp_index WHERE key=? AND n=?", [(int(k), n) for k in set(keys(bytes(row[1])))])
    db.execute("DELETE FROM fingerprints WHERE n=?", (n,))


def fingerprint(library: Library, track_id: str) -> FingerprintRow | None:
    rows = library._all("SELECT * FROM fingerprints WHERE track_id=?", (track_id,))
    return _fp_row(rows[0]) if rows else None


def fingerprint_blob(library: Library, n: int) -> tuple[str, bytes] | None:
    """``(track_id, fp bytes)`` of fingerprint ``n``, or ``None`` (gone, or a failure row)."""
    rows = library._all("SELECT track_id, fp FROM fingerprints WHERE n=? AND fp IS NOT NULL", (n,))
    return (str(rows[0][0]), bytes(rows[0][1])) if rows else None  # type: ignore[call-overload]


def track_of(library: Library, n: int) -> str | None:
    rows = library._all("SELECT track_id FROM fingerprints WHERE n=?", (n,))
    return str(rows[0][0]) if rows else None


def postings(library: Library, keys: Iterable[int], per_key: int) -> list[tuple[int, int, int]]:
    """``(key, n, pos)`` index rows of ``keys``, at most ``per_key`` a key (one indexed range read each)."""
    out: list[tuple[int, int, int]] = []
    with library._lock:
        db = library._db
        for k in keys:
            out += db.execute("SELECT key, n, pos FROM fp_index WHERE key=? LIMIT ?", (int(k), per_key)).fetchall()
    return out


MAX_HITS = 400_000  #: index rows one lookup may read (a bound on its time, whatever the keys)
_OFF = 1 << 13  #: offsets (± 2**13 items, ~17 minutes) are stored shifted to be positive


def hits(library: Library, entries: Sequence[tuple[int, int]], *, max_postings: int) -> npt.NDArray[np.int64]:
    """The votes of a query's ``(key, position)`` ``entries``, joined inside SQLite: one packed
    integer per index row of a query key, ``(n, indexed position − query position)``
    (``unpack_votes``).  Entries whose key has more than ``max_postings`` rows are left out
    (a key common to thousands of tracks says nothing), at most ``MAX_HITS`` rows are read,
    and the rows leave SQLite as one ``group_concat`` string: two queries, no Python object
    per row (a lookup at 100,000 tracks reads ~20,000 rows)."""
    query = [(i, int(k), int(p)) for i, (k, p) in enumerate(list(entries)[:4000])]
    if not query:
        return np.zeros(0, np.int64)
    with library._lock:
        db = library._db
        common = {int(r[0]) for r in db.execute(
            f"WITH q(i, key, pos) AS (VALUES {','.join('(?,?,?)' for _ in query)}) SELECT q.i FROM q JOIN fp_index f "
            "ON f.key = q.key GROUP BY q.i HAVING count(*) > ?", (*[x for e in query for x in e], max_postings))}
        query = [e for e in query if e[0] not in common]
        if not query:
            return np.zeros(0, np.int64)
        text = db.execute(
            f"WITH q(key, pos) AS (VALUES {','.join('(?,?)' for _ in query)}) SELECT group_concat(v) FROM "
            f"(SELECT (f.n << 14) + (f.pos - q.pos + {_OFF}) AS v FROM q JOIN fp_index f ON f.key = q.key LIMIT ?)",
            (*[x for _, k, p in query for x in (k, p)], MAX_HITS)).fetchone()[0]
    return np.fromstring(text or "", dtype=np.int64, sep=",")


def unpack_votes(votes: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(n, offset)`` arrays of packed votes (``hits``)."""
    return votes >> 14, (votes & ((1 << 14) - 1)) - _OFF


def count(library: Library) -> tuple[int, int]:
    """``(fingerprints stored, failures)``."""
    rows = library._all("SELECT count(fp), count(*) - count(fp) FROM fingerprints")
    return int(rows[0][0]), int(rows[0][1])  # type: ignore[call-overload]


def store_duplicates(library: Library, rows: Sequence[DuplicateRow]) -> None:
    """Store what tracks matched (``(track_id, match_id)`` replaced if already there)."""
    with library.transaction() as db:
        db.executemany("INSERT OR REPLACE INTO duplicates VALUES (?,?,?,?,?,?)",
                       [(r.track_id, r.match_id, r.offset, r.overlap, r.score, int(r.own)) for r in rows])


def duplicates_of(library: Library, track_id: str, *, own: bool | None = None) -> list[DuplicateRow]:
    """The earlier tracks ``track_id`` matches, best score first; ``own``: only (or never) the same artist's."""
    where = "" if own is None else f" AND own={int(own)}"
    rows = library._all(f"SELECT * FROM duplicates WHERE track_id=?{where} ORDER BY score DESC, match_id",
                        (track_id,))
    return [_dup_row(r) for r in rows]


def flagged(library: Library, track_ids: Sequence[str]) -> dict[str, str]:
    """``{track id: the earlier track it duplicates}`` for those of ``track_ids`` flagged
    (another artist's earlier track; own earlier uploads are not flags)."""
    out: dict[str, str] = {}
    ids = list(dict.fromkeys(track_ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows = library._all(f"SELECT track_id, match_id FROM duplicates WHERE own=0 AND track_id IN "
                            f"({','.join('?' * len(chunk))}) ORDER BY score", chunk)
        out.update({str(t): str(m) for t, m in rows})  # best score last: it wins
    return out


def _fp_row(row: tuple[Any, ...]) -> FingerprintRow:
    n, track_id, fp, seconds, error, at = row
    return FingerprintRow(int(n), str(track_id), None if fp is None else bytes(fp), float(seconds),
                          None if error is None else str(error), float(at))


def _dup_row(row: tuple[Any, ...]) -> DuplicateRow:
    track_id, match_id, offset, overlap, score, own = row
    return DuplicateRow(str(track_id), str(match_id), float(offset), float(overlap), float(score), bool(own))
