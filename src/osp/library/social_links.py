"""A small read the social node service needs of the ``tombstoned`` table of
``osp.library.social`` (migration 12) that its repository does not offer."""

from __future__ import annotations

from osp.library.store import Library


def retracted_playlist_seq(library: Library, author: str, playlist: str) -> int | None:
    """The highest ``seq`` of ``author``'s playlist series ``playlist`` that a tombstone
    removed, or ``None``: a version published after a retraction must be above it."""
    with library.transaction() as db:
        (seq,) = db.execute("SELECT max(seq) FROM tombstoned WHERE author=? AND playlist=?",
                            (author, playlist)).fetchone()
    return None if seq is None else int(seq)
