"""Which track a retracted social record was about (migration 13, table ``social_retracted``).

A Tombstone names a record id, not a track; once its subject is removed, nothing in the
``social`` table says which track that was.  ``GET /osp/v0/tracks/{id}/social`` must still
serve the tombstone (spec §10 travel: seekers that hold the subject remove it), so the node
links each tombstone to the track when it learns it: its subject held here was about that
track, or it came in an answer about that track.  At most ``MAX_PER_TRACK`` links a track.
"""

from __future__ import annotations

from osp.library.store import Library

MAX_PER_TRACK = 1000  #: tombstones remembered per track (the oldest links are kept, later ones dropped)


class RetractedLinks:
    """The ``social_retracted`` table of ``library``."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def link(self, tombstone: str, track: str) -> bool:
        """Remember that ``tombstone`` retracts a record about ``track``; ``False`` when it
        was known already or the track has ``MAX_PER_TRACK`` links."""
        with self.library.transaction() as db:
            (count,) = db.execute("SELECT count(*) FROM social_retracted WHERE track = ?", (track,)).fetchone()
            if count >= MAX_PER_TRACK:
                return False
            cur = db.execute("INSERT OR IGNORE INTO social_retracted (tombstone, track) VALUES (?, ?)",
                             (tombstone, track))
            return cur.rowcount > 0

    def tombstones(self, track: str) -> list[str]:
        """Ids of the tombstones linked to ``track``."""
        with self.library.transaction() as db:
            rows = db.execute("SELECT tombstone FROM social_retracted WHERE track = ? ORDER BY tombstone",
                              (track,)).fetchall()
        return [str(r[0]) for r in rows]


def retracted_playlist_seq(library: Library, author: str, playlist: str) -> int | None:
    """The highest ``seq`` of ``author``'s playlist series ``playlist`` that a tombstone
    removed (table ``tombstoned`` of ``osp.library.social``), or ``None``: a version
    published after a retraction must be above it."""
    with library.transaction() as db:
        (seq,) = db.execute("SELECT max(seq) FROM tombstoned WHERE author=? AND playlist=?",
                            (author, playlist)).fetchone()
    return None if seq is None else int(seq)
