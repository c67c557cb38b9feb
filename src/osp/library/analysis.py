"""The audio analysis of library tracks: a repository over the ``analysis`` table (migration 10).

One row per track analysed here (``osp.provenance.analysis`` measures, ``osp.node.analysis``
runs it in the background): the measures, or the failure (``error`` set, measures ``None``),
with the analyser ``version`` that wrote it — a track whose row has another version is
pending again.  Rows go with their track (``ON DELETE CASCADE``).  Times are Unix seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from osp.library.store import Library, TrackRow

_OK = " JOIN files ON files.cid=tracks.cid AND files.state='ok'"
_COLUMNS = ("track_id, bpm, key, mode, key_confidence, loudness, true_peak, duration, vector, version, "
            "analysed_at, error")


@dataclass(frozen=True)
class AnalysisRow:
    """What was measured of one track (``osp.provenance.analysis.Analysis``), or why not."""

    track_id: str  #: ``osp:track:…``
    bpm: float | None  #: beats per minute
    key: str | None  #: tonic pitch class: C, C#, D, Eb, E, F, F#, G, Ab, A, Bb, B
    mode: str | None  #: ``major`` or ``minor``
    key_confidence: float | None  #: best key correlation minus the runner-up's (0 … 2)
    loudness: float | None  #: integrated loudness, LUFS
    true_peak: float | None  #: dBTP
    duration: float | None  #: seconds analysed
    vector: bytes | None  #: "sounds like" vector, little-endian float32
    version: str  #: the analyser that wrote this row
    analysed_at: float  #: Unix seconds
    error: str | None = None  #: why it failed (the measures are then ``None``)

    def to_json(self) -> dict[str, Any]:
        """The API shape: ``{"bpm", "key": "A minor", "tonic", "mode", "keyConfidence",
        "loudness" (LUFS), "truePeak" (dBTP), "duration" (s), "version", "analysedAt", "error"}``
        (no vector)."""
        return {"bpm": self.bpm, "key": f"{self.key} {self.mode}" if self.key and self.mode else None,
                "tonic": self.key, "mode": self.mode, "keyConfidence": self.key_confidence,
                "loudness": self.loudness, "truePeak": self.true_peak, "duration": self.duration,
                "version": self.version, "analysedAt": self.analysed_at, "error": self.error}


def _row(row: Sequence[Any]) -> AnalysisRow:
    return AnalysisRow(*row)


class Analyses:
    """Analysis rows stored in ``library`` (its one connection and writer)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def get(self, track_id: str) -> AnalysisRow | None:
        """The row of ``track_id``, or ``None`` if it was never analysed here."""
        with self.library.transaction() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM analysis WHERE track_id=?", (track_id,)).fetchone()
        return _row(row) if row is not None else None

    def get_many(self, track_ids: Sequence[str]) -> dict[str, AnalysisRow]:
        """The rows of those of ``track_ids`` analysed here, by track id."""
        ids = list(dict.fromkeys(track_ids))
        out: dict[str, AnalysisRow] = {}
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            chunk = ids[start:start + 500]
            with self.library.transaction() as db:
                rows = db.execute(f"SELECT {_COLUMNS} FROM analysis WHERE track_id IN ({','.join('?' * len(chunk))})",
                                  chunk).fetchall()
            out.update((r[0], _row(r)) for r in rows)
        return out

    def put(self, row: AnalysisRow) -> bool:
        """Store (or replace) ``row``; ``False`` if its track left the library meanwhile."""
        with self.library.transaction() as db:
            if db.execute("SELECT 1 FROM tracks WHERE id=?", (row.track_id,)).fetchone() is None:
                return False
            db.execute(f"INSERT OR REPLACE INTO analysis ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       (row.track_id, row.bpm, row.key, row.mode, row.key_confidence, row.loudness, row.true_peak,
                        row.duration, row.vector, row.version, row.analysed_at, row.error))
        return True

    def pending(self, version: str, limit: int) -> list[TrackRow]:
        """At most ``limit`` tracks whose file is intact here with no row, or a row by another
        analyser ``version``, oldest first (a track whose file is missing waits for it)."""
        with self.library.transaction() as db:
            rows = db.execute(
                f"SELECT tracks.* FROM tracks{_OK} LEFT JOIN analysis ON analysis.track_id=tracks.id "
                "WHERE analysis.track_id IS NULL OR analysis.version<>? ORDER BY tracks.added_at, tracks.id LIMIT ?",
                (version, limit)).fetchall()
        return [TrackRow(*r) for r in rows]

    def matching(self, *, bpm: tuple[float, float] | None = None, key: tuple[str, str] | None = None,
                 limit: int = 1000) -> list[TrackRow]:
        """Intact library tracks analysed with ``bpm`` in ``[lo, hi]`` and ``key`` ``(tonic,
        mode)`` (each ``None``: any), newest first, at most ``limit``."""
        where, args = ["analysis.error IS NULL"], list[object]()
        if bpm is not None:
            where.append("analysis.bpm BETWEEN ? AND ?")
            args += [bpm[0], bpm[1]]
        if key is not None:
            where.append("analysis.key=? AND analysis.mode=?")
            args += [key[0], key[1]]
        with self.library.transaction() as db:
            rows = db.execute(
                f"SELECT tracks.* FROM tracks{_OK} JOIN analysis ON analysis.track_id=tracks.id "
                f"WHERE {' AND '.join(where)} ORDER BY tracks.added_at DESC, tracks.id LIMIT ?",
                (*args, limit)).fetchall()
        return [TrackRow(*r) for r in rows]

    def vectors(self, version: str) -> tuple[list[str], bytes]:
        """The ids of every track with a vector by analyser ``version`` and their vectors
        concatenated, in the same order (for a brute-force cosine search)."""
        with self.library.transaction() as db:
            rows = db.execute("SELECT track_id, vector FROM analysis WHERE vector IS NOT NULL AND version=? "
                              "ORDER BY track_id", (version,)).fetchall()
        return [r[0] for r in rows], b"".join(r[1] for r in rows)

    def writes(self) -> int:
        """Rows changed through the library's connection since it opened (any table): while
        it stays the same, ``stamp`` would too (no query)."""
        with self.library.transaction() as db:
            return db.total_changes

    def stamp(self) -> tuple[int, int]:
        """``(rows, highest rowid)``: changes whenever a row is added, replaced (``INSERT OR
        REPLACE`` gives the row a new rowid) or deleted; cheap (an index count, one seek)."""
        with self.library.transaction() as db:
            count, newest = db.execute("SELECT count(*), max(rowid) FROM analysis").fetchone()
        return int(count), int(newest or 0)
