"""The web app's local playlists: a small repository over the library's ``playlists`` table
(migration 6).  They are private to this node (not signed, never published).

Caps, checked here so that no caller can pass them: a name of 1 to ``MAX_NAME`` characters
(trimmed), at most ``MAX_TRACKS`` track ids (``osp:track:…``, each at most ``MAX_ID``
characters; repeats allowed, order kept), at most ``MAX_PLAYLISTS`` playlists.  Ids are
``pl-`` and 16 random base64url characters.  Times are Unix seconds passed in by the caller.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from osp.content.cid import CID, JSON, CIDError
from osp.core.errors import CallerError, ConflictError, NotFoundError
from osp.library.store import Library

MAX_NAME = 200
MAX_TRACKS = 5000
MAX_PLAYLISTS = 1000
MAX_ID = 128
_ID = re.compile(r"pl-[A-Za-z0-9_-]{16}")


@dataclass(frozen=True)
class Playlist:
    """One playlist: ``id``, ``name``, ``tracks`` (track ids in play order), ``created`` and
    ``updated`` (Unix seconds)."""

    id: str
    name: str
    tracks: tuple[str, ...]
    created: float
    updated: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "tracks": list(self.tracks), "created": self.created,
                "updated": self.updated}


def check_name(name: object) -> str:
    """The trimmed name; ``CallerError`` unless it is a string of 1 to ``MAX_NAME`` characters."""
    if not isinstance(name, str) or not name.strip():
        raise CallerError("name must be a non-empty string")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise CallerError(f"name must be at most {MAX_NAME} characters")
    return name


def check_tracks(tracks: object) -> tuple[str, ...]:
    """The track ids; ``CallerError`` unless a list of at most ``MAX_TRACKS`` ``osp:track:`` ids."""
    if not isinstance(tracks, list):
        raise CallerError("tracks must be a list of track ids")
    if len(tracks) > MAX_TRACKS:
        raise CallerError(f"a playlist holds at most {MAX_TRACKS} tracks")
    for t in tracks:
        if not isinstance(t, str) or not t.startswith("osp:track:") or len(t) > MAX_ID or not _is_track_cid(t):
            raise CallerError(f"tracks must be track ids (osp:track:…), not {str(t)[:80]!r}")
    return tuple(tracks)


def _is_track_cid(track_id: str) -> bool:
    """Whether ``track_id`` names a JSON-codec CIDv1 after ``osp:track:`` (spec §6.1)."""
    try:
        cid = CID.decode(track_id[len("osp:track:"):])
    except (CIDError, ValueError):
        return False
    return cid.version == 1 and cid.codec == JSON


def _row(row: Sequence[Any]) -> Playlist:
    pid, name, tracks, created, updated = row
    return Playlist(str(pid), str(name), tuple(str(t) for t in json.loads(str(tracks))), float(created), float(updated))


class Playlists:
    """Playlists stored in ``library`` (its one connection and writer)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def all(self) -> list[Playlist]:
        """Every playlist, oldest first."""
        with self.library.transaction() as db:
            rows = db.execute("SELECT * FROM playlists ORDER BY created, id").fetchall()
        return [_row(r) for r in rows]

    def get(self, playlist_id: str) -> Playlist:
        """The playlist ``playlist_id``; ``NotFoundError`` if there is none."""
        if not _ID.fullmatch(playlist_id):
            raise NotFoundError("no such playlist")
        with self.library.transaction() as db:
            row = db.execute("SELECT * FROM playlists WHERE id=?", (playlist_id,)).fetchone()
        if row is None:
            raise NotFoundError("no such playlist")
        return _row(row)

    def create(self, name: object, tracks: object, now: float) -> Playlist:
        """A new playlist; ``CallerError`` for a bad name or tracks, ``ConflictError`` past
        ``MAX_PLAYLISTS``."""
        playlist = Playlist(f"pl-{secrets.token_urlsafe(12)}", check_name(name),
                            check_tracks([] if tracks is None else tracks), now, now)
        with self.library.transaction() as db:
            if db.execute("SELECT count(*) FROM playlists").fetchone()[0] >= MAX_PLAYLISTS:
                raise ConflictError(f"there are {MAX_PLAYLISTS} playlists already: delete one first")
            db.execute("INSERT INTO playlists VALUES (?,?,?,?,?)",
                       (playlist.id, playlist.name, json.dumps(playlist.tracks), now, now))
        return playlist

    def replace(self, playlist_id: str, now: float, *, name: object = None, tracks: object = None) -> Playlist:
        """The playlist with ``name`` and/or ``tracks`` replaced (``None``: kept);
        ``NotFoundError``, ``CallerError`` as ``get`` and ``create``."""
        old = self.get(playlist_id)
        new = Playlist(old.id, old.name if name is None else check_name(name),
                       old.tracks if tracks is None else check_tracks(tracks), old.created, now)
        with self.library.transaction() as db:
            changed = db.execute("UPDATE playlists SET name=?, tracks=?, updated=? WHERE id=?",
                                 (new.name, json.dumps(new.tracks), now, new.id)).rowcount
        if not changed:
            raise NotFoundError("no such playlist")
        return new

    def delete(self, playlist_id: str) -> None:
        """Delete ``playlist_id``; ``NotFoundError`` if there is none."""
        if not _ID.fullmatch(playlist_id):
            raise NotFoundError("no such playlist")
        with self.library.transaction() as db:
            if not db.execute("DELETE FROM playlists WHERE id=?", (playlist_id,)).rowcount:
                raise NotFoundError("no such playlist")
