"""The listener's local listening history: a repository over the ``plays`` table (migration 13).

One row per play reported by the web player (``POST /api/plays``): the track, the seconds
listened and when.  It feeds the recommendations computed on this node
(``osp.social.recommend``) and ``osp history``.  **Private**: it is never published, never
signed, never served to peers; ``clear`` empties it.

Caps, checked here so that no caller can pass them: a track id is an ``osp:track:`` id of a
JSON CIDv1 (at most ``MAX_ID`` characters), seconds are a finite number in
``(0, MAX_SECONDS]``, and the table keeps the newest ``MAX_PLAYS`` rows (older ones are
dropped as new ones arrive).  Times are Unix seconds passed in by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from osp.content.cid import CID, JSON, CIDError
from osp.core.errors import CallerError
from osp.library.store import Library

MAX_SECONDS = 6 * 3600.0  #: most seconds one play may report
MAX_PLAYS = 100_000  #: rows kept (newest)
MAX_ID = 128
_PREFIX = "osp:track:"


@dataclass(frozen=True)
class Play:
    """One reported play: ``track`` id, ``seconds`` listened, ``at`` (Unix seconds)."""

    track: str
    seconds: float
    at: float

    def to_json(self) -> dict[str, Any]:
        return {"track": self.track, "seconds": self.seconds, "at": self.at}


@dataclass(frozen=True)
class TrackPlays:
    """What was played of one ``track``: ``plays`` reports, ``seconds`` in all, ``last`` (Unix seconds)."""

    track: str
    plays: int
    seconds: float
    last: float

    def to_json(self) -> dict[str, Any]:
        return {"track": self.track, "plays": self.plays, "seconds": round(self.seconds, 1), "last": self.last}


def check_play(track: object, seconds: object) -> tuple[str, float]:
    """``(track, seconds)`` checked; ``CallerError`` unless ``track`` is a track id and
    ``seconds`` a number in ``(0, MAX_SECONDS]``."""
    if not isinstance(track, str) or not track.startswith(_PREFIX) or len(track) > MAX_ID or not _is_cid(track):
        raise CallerError(f"track must be a track id (osp:track:…), not {str(track)[:80]!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        raise CallerError("seconds must be a number")
    if not 0 < seconds <= MAX_SECONDS:
        raise CallerError(f"seconds must be more than 0 and at most {MAX_SECONDS:g}")
    return track, float(seconds)


def _is_cid(track: str) -> bool:
    try:
        cid = CID.decode(track[len(_PREFIX):])
    except (CIDError, ValueError):
        return False
    return cid.version == 1 and cid.codec == JSON


class Plays:
    """Plays stored in ``library`` (its one connection and writer)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def add(self, track: object, seconds: object, now: float) -> Play:
        """Store one play (``check_play``; ``CallerError``) and drop rows past ``MAX_PLAYS``."""
        track_id, secs = check_play(track, seconds)
        with self.library.transaction() as db:
            n = db.execute("INSERT INTO plays (track_id, seconds, at) VALUES (?,?,?)", (track_id, secs, now)).lastrowid
            if n is not None and n > MAX_PLAYS:
                db.execute("DELETE FROM plays WHERE n <= ?", (n - MAX_PLAYS,))
        return Play(track_id, secs, now)

    def totals(self) -> dict[str, float]:
        """Seconds listened per track, in all."""
        with self.library.transaction() as db:
            rows = db.execute("SELECT track_id, sum(seconds) FROM plays GROUP BY track_id").fetchall()
        return {str(t): float(s) for t, s in rows}

    def by_track(self, limit: int = 50) -> list[TrackPlays]:
        """The ``limit`` tracks played most recently, newest first."""
        with self.library.transaction() as db:
            rows = db.execute("SELECT track_id, count(*), sum(seconds), max(at) FROM plays GROUP BY track_id "
                              "ORDER BY max(at) DESC, max(n) DESC LIMIT ?", (limit,)).fetchall()
        return [TrackPlays(str(t), int(c), float(s), float(a)) for t, c, s, a in rows]

    def recent(self, limit: int = 50) -> list[Play]:
        """The ``limit`` newest plays, newest first."""
        with self.library.transaction() as db:
            rows = db.execute("SELECT track_id, seconds, at FROM plays ORDER BY n DESC LIMIT ?", (limit,)).fetchall()
        return [Play(str(t), float(s), float(a)) for t, s, a in rows]

    def stamp(self) -> tuple[int, int]:
        """``(rows, highest row number)``: changes whenever a play is added or the history cleared."""
        with self.library.transaction() as db:
            count, top = db.execute("SELECT count(*), coalesce(max(n), 0) FROM plays").fetchone()
        return int(count), int(top)

    def clear(self) -> int:
        """Delete every play; returns how many there were."""
        with self.library.transaction() as db:
            return int(db.execute("DELETE FROM plays").rowcount)
