"""Cover images and bulk-import bookkeeping: repositories over the library's ``artwork`` and
``imported_files`` tables (migration "11: artwork").

An artwork is a UnixFS file like a track's audio: a ``files`` row (``media/<cid><ext>``)
and its ``blocks``, so the node's trustless gateway serves it at ``/ipfs/{cid}`` with its
blocks and CAR; the ``artwork`` row adds the image type and size found in its bytes.

``imported_files`` maps a source file (absolute path, the artist who imported it) to the
track it became and the file's size and modification time then: a bulk import skips a file
whose size and time are unchanged and whose track is still here, without reading it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from osp.content.unixfs import Block
from osp.library.store import FileRow, Library


@dataclass(frozen=True)
class ArtworkRow:
    """A stored cover image: ``cid``, ``mime``, ``width``/``height`` in pixels, the file's
    ``path`` relative to the data dir, ``size`` in bytes, and the file ``state``."""

    cid: str
    mime: str
    width: int
    height: int
    path: str
    size: int
    state: str


def put_artwork(library: Library, file: FileRow, blocks: Sequence[Block], mime: str, width: int, height: int) -> None:
    """Store a verified image's file row, blocks and type in one transaction (idempotent:
    the file row is refreshed to ``ok``, existing blocks are kept)."""
    with library.transaction() as db:
        db.execute(
            "INSERT INTO files (cid, path, size, profile) VALUES (?,?,?,?) ON CONFLICT(cid) DO UPDATE SET "
            "state='ok', path=excluded.path, size=excluded.size", (file.cid, file.path, file.size, file.profile))
        db.executemany("INSERT OR IGNORE INTO blocks VALUES (?,?,?,?,?)",
                       [(str(b.cid), file.cid, b.offset, b.length, b.data) for b in blocks])
        db.execute("INSERT OR REPLACE INTO artwork VALUES (?,?,?,?,?)", (file.cid, mime, width, height, time.time()))


def artwork(library: Library, cid: str) -> ArtworkRow | None:
    """The stored image ``cid`` (any file state), or ``None``."""
    with library.transaction() as db:
        row = db.execute("SELECT a.cid, a.mime, a.width, a.height, f.path, f.size, f.state FROM artwork a "
                         "JOIN files f ON f.cid=a.cid WHERE a.cid=?", (cid,)).fetchone()
    if row is None:
        return None
    c, mime, w, h, path, size, state = row
    return ArtworkRow(str(c), str(mime), int(w), int(h), str(path), int(size), str(state))


def artwork_named_by(library: Library, cid: str) -> list[str]:
    """Ids of the tracks (library or known records) whose record names ``cid`` as ``artwork``,
    library tracks first; at most 16."""
    pattern = f'%"artwork":"{cid}"%'  # records are stored as JCS bytes: no spaces
    with library.transaction() as db:
        ids = [str(r[0]) for r in db.execute(
            "SELECT id FROM tracks WHERE CAST(record AS TEXT) LIKE ? LIMIT 16", (pattern,))]
        ids += [str(r[0]) for r in db.execute(
            "SELECT id FROM records WHERE CAST(record AS TEXT) LIKE ? LIMIT 16", (pattern,))]
    return list(dict.fromkeys(ids))[:16]


def published_with_cid(library: Library, cid: str, artist: str) -> str | None:
    """The id of a track ``artist`` published whose audio is ``cid``, or ``None``."""
    with library.transaction() as db:
        row = db.execute("SELECT id FROM tracks WHERE cid=? AND artist=? AND origin='published' ORDER BY added_at "
                         "LIMIT 1", (cid, artist)).fetchone()
    return str(row[0]) if row else None


def imported_track(library: Library, path: str, artist: str, size: int, mtime_ns: int) -> str | None:
    """The track the file at ``path`` became when ``artist`` imported it, if the file still
    has that ``size`` and ``mtime_ns`` and the track is still in the library; else ``None``."""
    with library.transaction() as db:
        row = db.execute("SELECT i.track_id FROM imported_files i JOIN tracks t ON t.id=i.track_id WHERE i.path=? "
                         "AND i.artist=? AND i.size=? AND i.mtime_ns=?", (path, artist, size, mtime_ns)).fetchone()
    return str(row[0]) if row else None


def remember_import(library: Library, path: str, artist: str, size: int, mtime_ns: int, track_id: str) -> None:
    """Record that the file at ``path`` (``size``, ``mtime_ns``) is ``artist``'s track ``track_id``."""
    with library.transaction() as db:
        db.execute("INSERT OR REPLACE INTO imported_files VALUES (?,?,?,?,?)", (path, artist, size, mtime_ns, track_id))
