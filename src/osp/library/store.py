"""SQLite library (WAL, ``synchronous=FULL``, numbered migrations, one writer).

All access goes through one connection guarded by a lock, so there is exactly one
writer; every multi-row change is one ``BEGIN IMMEDIATE`` transaction.  Rows come back
as frozen dataclasses.  A database that is not ours, or from a newer version, raises
``CorruptDataError`` instead of being changed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from osp.content.unixfs import Block
from osp.core.errors import CorruptDataError, NotFoundError
from osp.library.migrations import MIGRATIONS
from osp.records.track import VerifiedTrack


@dataclass(frozen=True)
class FileRow:
    """A stored audio file: ``cid``, ``path`` relative to the data dir, ``size`` bytes, CID
    ``profile``, and ``state``: ``ok``, ``missing`` (deleted by hand) or ``changed`` (its
    size is not the CID's any more); only ``ok`` files are seeded and served."""

    cid: str
    path: str
    size: int
    profile: str
    state: str = "ok"


FILE_STATES = ("ok", "missing", "changed")


@dataclass(frozen=True)
class TransferRow:
    """A download that survives a restart: hex v1 ``infohash``, ``track_id``, the verified
    signed ``record`` (JCS bytes), the bencoded ``metainfo`` we added, ``peers`` to dial
    again, libtorrent ``resume`` data (``None`` until first saved), ``started_at`` (ISO 8601)."""

    infohash: str
    track_id: str
    record: bytes
    metainfo: bytes
    peers: list[tuple[str, int]]
    resume: bytes | None
    started_at: str


@dataclass(frozen=True)
class TorrentRow:
    """A torrent: hex v1 ``infohash``, file ``cid``, bencoded ``metainfo``, libtorrent ``resume`` data."""

    infohash: str
    cid: str
    metainfo: bytes
    resume: bytes | None


@dataclass(frozen=True)
class TrackRow:
    """A track in the library: indexed columns plus the signed ``record`` (JCS bytes);
    ``last_played``: Unix seconds it was fetched or last began streaming (the cache quota
    evicts the least recently played fetched track first; ``None`` only for rows of an
    older schema that had no ``added_at`` time)."""

    id: str
    artist: str
    title: str
    cid: str
    infohash: str
    format: str
    duration: float
    size: int
    released: str
    record: bytes
    origin: str
    added_at: str
    last_played: float | None = None


@dataclass(frozen=True)
class RemovedTrack:
    """What ``Library.remove_track`` dropped: the track's row, whether its ``infohash`` and
    file left the library (no other track uses them), and the file's ``path`` (relative
    to the data dir)."""

    track: TrackRow
    torrent_dropped: bool
    file_dropped: bool
    path: str | None


@dataclass(frozen=True)
class FollowRow:
    """An artist this node follows (spec §9 feeds): ``did``; ``audio``: fetch each new
    track's audio too; ``highest_seq``: the highest BEP 44 ``seq`` accepted (``None`` before
    one; never goes down); ``catalog``: hex v1 infohash of the latest catalog held;
    ``followed_at`` / ``checked_at``: Unix seconds; ``error``: the last poll's problem."""

    did: str
    audio: bool
    highest_seq: int | None
    catalog: str | None
    followed_at: float
    checked_at: float | None
    error: str | None


@dataclass(frozen=True)
class KnownRecord:
    """A verified signed record known without its audio (from a followed artist's
    catalog): track ``id``, ``artist`` did, ``record`` (JCS bytes), ``source``
    (``catalog:<infohash>``), ``seen_at`` (Unix seconds)."""

    id: str
    artist: str
    record: bytes
    source: str
    seen_at: float


@dataclass(frozen=True)
class CatalogRow:
    """A catalog torrent this node seeds: the ``artist``'s (ours or a follow's) current
    one, hex v1 ``infohash``, bencoded ``metainfo``, file ``path`` relative to the data
    dir, the feed ``seq`` that pointed at it, ``count`` of records, ``stored_at``."""

    artist: str
    infohash: str
    metainfo: bytes
    path: str
    seq: int
    count: int
    stored_at: float


class Library:
    """The library database at ``path``; call ``close()`` (or use as a context manager)."""

    def __init__(self, path: Path, *, indexer: Callable[[bytes], Iterable[str]] | None = None) -> None:
        """``indexer(record JCS bytes) -> hex keys`` fills the search index (``search_keys``)
        as tracks and known records are stored; without one (tools that open the library
        offline) rows are indexed later, when a library with one opens, or at its next indexed search."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.indexer = indexer
        #: called with the id of every track ``add_track`` stores, after the commit (the node
        #: wakes its background track jobs: fingerprint, analysis, C2PA)
        self.on_track_added: Callable[[str], None] | None = None
        self._indexed_version = -1  #: ``data_version`` at the last ``index_pending``
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self.index_pending()  # rows from before the index (migration 5) or written without an indexer
        except sqlite3.DatabaseError as exc:
            raise CorruptDataError(f"the library at {path} is not a usable SQLite database: {exc}") from exc

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise CorruptDataError(
                f"the library at {self.path} is schema v{version}, newer than this osp-node (v{len(MIGRATIONS)})"
            )
        for number in range(version, len(MIGRATIONS)):
            with self.transaction() as db:
                for statement in _split_sql(MIGRATIONS[number]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- writes -------------------------------------------------------------

    def add_track(
        self,
        track: VerifiedTrack,
        *,
        file: FileRow,
        blocks: Sequence[Block],
        infohash: str,
        metainfo: bytes,
        origin: str,
        played_at: float | None = None,
    ) -> bool:
        """Store a verified track with its file, blocks and torrent in one transaction;
        ``played_at``: its first ``last_played`` (Unix seconds; default: now).

        Idempotent: returns ``False`` (and changes nothing) if the track is already here.
        """
        r = track.record
        moment = datetime.now(UTC)
        now = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM tracks WHERE id=?", (track.id,)).fetchone():
                return False
            _put_file(db, file)
            db.executemany(
                "INSERT OR IGNORE INTO blocks VALUES (?,?,?,?,?)",
                [(str(b.cid), file.cid, b.offset, b.length, b.data) for b in blocks],
            )
            db.execute("INSERT OR IGNORE INTO torrents VALUES (?,?,?,NULL)", (infohash, file.cid, metainfo))
            db.execute(
                "INSERT INTO tracks (id, artist, title, cid, infohash, format, duration, size, released, record, "
                "origin, added_at, last_played) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    track.id, r["artist"], r["title"], r["cid"], infohash, r["format"], float(r["duration"]),
                    int(r["size"]), r["released"], track.to_json(), origin, now,
                    moment.timestamp() if played_at is None else float(played_at),
                ),
            )
            db.execute("DELETE FROM transfers WHERE infohash=?", (infohash,))  # finished: no resume needed
            self._index(db, [(track.id, track.to_json())])
        if self.on_track_added is not None:
            self.on_track_added(track.id)
        return True

    def remove_track(self, track_id: str) -> RemovedTrack | None:
        """Drop a track in one transaction, with its torrent (and resume data) and its
        file row and blocks when no other track uses them; ``None`` if not here.
        The file itself is left to the caller (delete it after this commits)."""
        with self.transaction() as db:
            rows = db.execute("SELECT * FROM tracks WHERE id=?", (track_id,)).fetchall()
            if not rows:
                return None
            track = TrackRow(*rows[0])
            db.execute("DELETE FROM tracks WHERE id=?", (track_id,))
            db.execute("DELETE FROM search_keys WHERE track_id=? AND NOT EXISTS (SELECT 1 FROM records WHERE id=?)",
                       (track_id, track_id))
            ih_used = db.execute("SELECT 1 FROM tracks WHERE infohash=? LIMIT 1", (track.infohash,)).fetchone()
            if not ih_used:
                db.execute("DELETE FROM torrents WHERE infohash=?", (track.infohash,))
            cid_used = db.execute("SELECT 1 FROM tracks WHERE cid=? LIMIT 1", (track.cid,)).fetchone()
            path = None
            if not cid_used:
                found = db.execute("SELECT path FROM files WHERE cid=?", (track.cid,)).fetchone()
                path = str(found[0]) if found else None
                db.execute("DELETE FROM torrents WHERE cid=?", (track.cid,))
                db.execute("DELETE FROM blocks WHERE root=?", (track.cid,))
                db.execute("DELETE FROM files WHERE cid=?", (track.cid,))
        return RemovedTrack(track, not ih_used, not cid_used, path)

    def set_last_played(self, track_id: str, when: float) -> bool:
        """Record that ``track_id`` was played (or fetched) at ``when`` (Unix seconds); False
        if the track is not here."""
        with self.transaction() as db:
            cur = db.execute("UPDATE tracks SET last_played=? WHERE id=?", (float(when), track_id))
            return cur.rowcount > 0

    def put_file(self, file: FileRow) -> None:
        """Store ``file`` as the intact (``ok``) copy of its CID — e.g. a missing file
        restored by publishing the original again."""
        with self.transaction() as db:
            _put_file(db, file)

    def set_file_state(self, cid: str, state: str) -> bool:
        """Mark the file ``cid`` ``ok``, ``missing`` or ``changed``; True if the state changed."""
        if state not in FILE_STATES:
            raise ValueError(f"unknown file state {state!r}")
        with self.transaction() as db:
            cur = db.execute("UPDATE files SET state=? WHERE cid=? AND state<>?", (state, cid, state))
            return cur.rowcount > 0

    # --- transfers (downloads that survive a restart) --------------------------

    def save_transfer(self, track: VerifiedTrack, metainfo: bytes, peers: Sequence[tuple[str, int]]) -> None:
        """Persist a transfer as it starts.  Its resume data is cleared: it is written
        again only at a clean stop, so after a crash libtorrent re-checks the partial file
        (keeping every verified piece) instead of trusting a stale piece list."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO transfers VALUES (?,?,?,?,?,NULL,?) ON CONFLICT(infohash) DO UPDATE SET "
                "track_id=excluded.track_id, record=excluded.record, metainfo=excluded.metainfo, peers=excluded.peers, "
                "resume=NULL",
                (track.infohash, track.id, track.to_json(), metainfo, json.dumps([list(p) for p in peers]), now),
            )

    def save_transfer_resume(self, infohash: str, resume: bytes) -> bool:
        """Store libtorrent resume data of a running transfer; False if it has no row."""
        with self.transaction() as db:
            return db.execute("UPDATE transfers SET resume=? WHERE infohash=?", (resume, infohash)).rowcount > 0

    def drop_transfer(self, infohash: str) -> None:
        """Forget a transfer (finished, cancelled or failed)."""
        with self.transaction() as db:
            db.execute("DELETE FROM transfers WHERE infohash=?", (infohash,))

    def transfer(self, infohash: str) -> TransferRow | None:
        rows = self._all("SELECT * FROM transfers WHERE infohash=?", (infohash,))
        return _transfer_row(rows[0]) if rows else None

    def transfer_rows(self) -> list[TransferRow]:
        """Persisted transfers, oldest first."""
        return [_transfer_row(r) for r in self._all("SELECT * FROM transfers ORDER BY started_at, infohash")]

    def set_meta(self, key: str, value: str) -> None:
        """Store a small piece of node metadata (e.g. the identity's did)."""
        with self.transaction() as db:
            db.execute("INSERT INTO meta VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key=?", (key,))
        return str(rows[0][0]) if rows else None

    def replace_metainfo(self, infohash: str, metainfo: bytes) -> None:
        """Store other torrent bytes for ``infohash`` (same info dict: e.g. rebuilt without a
        peer's trackers and web seeds)."""
        with self.transaction() as db:
            db.execute("UPDATE torrents SET metainfo=? WHERE infohash=?", (metainfo, infohash))

    def save_resume(self, infohash: str, resume: bytes) -> None:
        """Store libtorrent resume data for ``infohash``."""
        with self.transaction() as db:
            db.execute("UPDATE torrents SET resume=? WHERE infohash=?", (resume, infohash))

    # --- feeds (follows, records known from catalogs, catalog torrents) ------

    def add_follow(self, did: str, *, audio: bool | None, now: float) -> FollowRow:
        """Follow ``did`` (already validated); following again only changes ``audio``
        (``None``: keeps it; a new follow gets records only)."""
        with self.transaction() as db:
            db.execute("INSERT INTO follows (did, audio, followed_at) VALUES (?,?,?) "
                       "ON CONFLICT(did) DO UPDATE SET audio=coalesce(?, audio)",
                       (did, int(bool(audio)), float(now), None if audio is None else int(audio)))
        row = self.follow(did)
        assert row is not None
        return row

    def remove_follow(self, did: str) -> CatalogRow | None:
        """Stop following ``did``: drops its row, its known records and its catalog row
        (returned, so the caller stops seeding it and deletes its file); ``None`` if the
        catalog was not held.  ``NotFoundError`` if ``did`` is not followed."""
        with self.transaction() as db:
            if db.execute("DELETE FROM follows WHERE did=?", (did,)).rowcount == 0:
                raise NotFoundError(f"not following {did}")
            rows = db.execute("SELECT * FROM catalogs WHERE artist=?", (did,)).fetchall()
            db.execute("DELETE FROM catalogs WHERE artist=?", (did,))
            db.execute("DELETE FROM search_keys WHERE track_id IN (SELECT id FROM records WHERE artist=?) "
                       "AND track_id NOT IN (SELECT id FROM tracks)", (did,))
            db.execute("DELETE FROM records WHERE artist=?", (did,))
        return _catalog_row(rows[0]) if rows else None

    def follow(self, did: str) -> FollowRow | None:
        rows = self._all("SELECT * FROM follows WHERE did=?", (did,))
        return _follow_row(rows[0]) if rows else None

    def follows(self) -> list[FollowRow]:
        """Followed artists, oldest follow first."""
        return [_follow_row(r) for r in self._all("SELECT * FROM follows ORDER BY followed_at, did")]

    def set_follow_checked(self, did: str, now: float, error: str | None) -> None:
        """Stamp a poll of ``did`` at ``now`` with its ``error`` (``None``: it went fine)."""
        with self.transaction() as db:
            db.execute("UPDATE follows SET checked_at=?, error=? WHERE did=?", (float(now), error, did))

    def raise_follow_seq(self, did: str, seq: int) -> bool:
        """Raise the highest accepted ``seq`` of ``did`` (never lowers it); True if raised."""
        with self.transaction() as db:
            cur = db.execute("UPDATE follows SET highest_seq=? WHERE did=? AND (highest_seq IS NULL OR highest_seq<?)",
                             (int(seq), did, int(seq)))
            return cur.rowcount > 0

    def store_catalog(self, catalog: CatalogRow, records: Sequence[VerifiedTrack], *, follow: bool) -> CatalogRow | None:
        """Make ``catalog`` the current one of its artist in one transaction: with ``follow``
        (a followed artist's) also store its verified ``records`` (``records`` table, known
        without audio) and raise the follow's ``highest_seq``/``catalog``.  Returns the
        catalog row it replaced (stop seeding it, delete its file) or ``None``."""
        with self.transaction() as db:
            old = db.execute("SELECT * FROM catalogs WHERE artist=?", (catalog.artist,)).fetchall()
            db.execute("INSERT INTO catalogs VALUES (?,?,?,?,?,?,?) ON CONFLICT(artist) DO UPDATE SET "
                       "infohash=excluded.infohash, metainfo=excluded.metainfo, path=excluded.path, seq=excluded.seq, "
                       "count=excluded.count, stored_at=excluded.stored_at",
                       (catalog.artist, catalog.infohash, catalog.metainfo, catalog.path, catalog.seq, catalog.count,
                        catalog.stored_at))
            if follow:
                db.executemany(
                    "INSERT INTO records VALUES (?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET source=excluded.source, "
                    "seen_at=excluded.seen_at",
                    [(t.id, t.record["artist"], t.to_json(), f"catalog:{catalog.infohash}", catalog.stored_at)
                     for t in records])
                self._index(db, [(t.id, t.to_json()) for t in records])
                db.execute("UPDATE follows SET catalog=?, highest_seq=max(coalesce(highest_seq, ?), ?) WHERE did=?",
                           (catalog.infohash, catalog.seq, catalog.seq, catalog.artist))
        replaced = _catalog_row(old[0]) if old else None
        return replaced if replaced is not None and replaced.infohash != catalog.infohash else None

    def catalog(self, artist: str) -> CatalogRow | None:
        rows = self._all("SELECT * FROM catalogs WHERE artist=?", (artist,))
        return _catalog_row(rows[0]) if rows else None

    def catalogs(self) -> list[CatalogRow]:
        """Every catalog torrent held (ours and follows'), to seed at start."""
        return [_catalog_row(r) for r in self._all("SELECT * FROM catalogs ORDER BY artist")]

    def catalog_artists(self, *, exclude: str | None = None) -> list[str]:
        """Artists whose catalog this node holds, but ``exclude`` (our own did): the
        ``extra_artists`` of the announce plan (spec §9.2), so seekers of an artist key
        find its followers while the artist is offline."""
        return [str(r[0]) for r in self._all("SELECT artist FROM catalogs WHERE artist<>? ORDER BY artist",
                                             (exclude or "",))]

    def known_records(self, artist: str | None = None, limit: int = 10_000) -> list[KnownRecord]:
        """Verified records known from followed artists' catalogs (no audio here), newest
        first; ``artist``: only that did's.  What ``GET /osp/v0/search?artist=`` adds to
        the library's own tracks."""
        if artist is None:
            rows = self._all("SELECT * FROM records ORDER BY seen_at DESC, id LIMIT ?", (limit,))
        else:
            rows = self._all("SELECT * FROM records WHERE artist=? ORDER BY seen_at DESC, id LIMIT ?", (artist, limit))
        return [_known_row(r) for r in rows]

    def known_record(self, track_id: str) -> KnownRecord | None:
        rows = self._all("SELECT * FROM records WHERE id=?", (track_id,))
        return _known_row(rows[0]) if rows else None

    def known_record_count(self, artist: str) -> int:
        count: Any = self._all("SELECT count(*) FROM records WHERE artist=?", (artist,))[0][0]
        return int(count)

    # --- reads --------------------------------------------------------------

    def tracks(self, limit: int = 10_000, offset: int = 0, *, available: bool = False) -> list[TrackRow]:
        """Tracks, newest first; ``available``: only those whose file is intact (``ok``)."""
        rows = self._all(f"SELECT tracks.* FROM tracks{_OK if available else ''} ORDER BY added_at DESC, id "
                         "LIMIT ? OFFSET ?", (limit, offset))
        return [TrackRow(*row) for row in rows]  # type: ignore[arg-type]

    def tracks_by_artist(self, artist: str, limit: int = 10_000) -> list[TrackRow]:
        """The tracks of the did:key ``artist``, newest first, whatever their file state."""
        rows = self._all("SELECT * FROM tracks WHERE artist=? ORDER BY added_at DESC, id LIMIT ?", (artist, limit))
        return [TrackRow(*row) for row in rows]  # type: ignore[arg-type]

    def track(self, track_id: str, *, available: bool = False) -> TrackRow | None:
        rows = self._all(f"SELECT tracks.* FROM tracks{_OK if available else ''} WHERE id=?", (track_id,))
        return TrackRow(*rows[0]) if rows else None  # type: ignore[arg-type]

    def track_count(self, *, available: bool = False) -> int:
        count: Any = self._all(f"SELECT count(*) FROM tracks{_OK if available else ''}")[0][0]
        return int(count)

    def tracks_by_infohash(self, infohash: str, *, available: bool = False) -> list[TrackRow]:
        rows = self._all(f"SELECT tracks.* FROM tracks{_OK if available else ''} WHERE infohash=?", (infohash,))
        return [TrackRow(*r) for r in rows]  # type: ignore[arg-type]

    def search_candidates(self, artist: str | None = None, limit: int = 10_000, *,
                          required: Sequence[str] | None = None, any_of: Sequence[str] = ()) -> list[TrackRow]:
        """Tracks a search may answer with: only those whose file is intact, newest first,
        at most ``limit``; the caller matches the records (``osp.discovery.search``).

        With ``required`` (hex keys, possibly empty) the search index narrows them: a
        candidate has every ``required`` key and, if ``any_of`` is not empty, one of those
        (``osp.discovery.search.query_index_keys``) — only the candidates are read, however
        large the library.  Without it, ``artist`` (a did:key, indexed) narrows them."""
        if required is not None:
            ids, args = self._indexed_ids(required, any_of)
            rows = self._all(f"SELECT tracks.* FROM tracks{_OK} WHERE tracks.id IN ({ids}) "
                             "ORDER BY added_at DESC, id LIMIT ?", (*args, limit))
            return [TrackRow(*r) for r in rows]  # type: ignore[arg-type]
        where = " WHERE tracks.artist=?" if artist else ""
        rows = self._all(f"SELECT tracks.* FROM tracks{_OK}{where} ORDER BY added_at DESC, id LIMIT ?",
                         (artist, limit) if artist else (limit,))
        return [TrackRow(*r) for r in rows]  # type: ignore[arg-type]

    def known_candidates(self, required: Sequence[str], any_of: Sequence[str] = (), limit: int = 1000) -> list[KnownRecord]:
        """Known records (``known_records``) the search index names for ``required`` /
        ``any_of`` keys (as ``search_candidates``), newest first, at most ``limit``."""
        ids, args = self._indexed_ids(required, any_of)
        rows = self._all(f"SELECT * FROM records WHERE id IN ({ids}) ORDER BY seen_at DESC, id LIMIT ?", (*args, limit))
        return [_known_row(r) for r in rows]

    def is_stored_record(self, track_id: str, record: bytes) -> bool:
        """True when ``record`` (JCS bytes) is byte for byte the record stored for
        ``track_id`` (a library track or a known record): verified when it was stored."""
        rows = self._all("SELECT record FROM tracks WHERE id=? UNION ALL SELECT record FROM records WHERE id=?",
                         (track_id, track_id))
        return any(bytes(r[0]) == record for r in rows)  # type: ignore[call-overload]

    def _indexed_ids(self, required: Sequence[str], any_of: Sequence[str]) -> tuple[str, list[object]]:
        """SQL (a sub-select of track ids) and its arguments; indexes the rows not indexed yet
        when another connection (an offline tool) changed the database since the last check."""
        if self._data_version() != self._indexed_version:
            self.index_pending()
        parts: list[str] = []
        args: list[object] = []
        if required:
            parts.append(f"SELECT track_id FROM search_keys WHERE key IN ({','.join('?' * len(required))}) "
                         "GROUP BY track_id HAVING count(*)=?")
            args += [*required, len(set(required))]
        if any_of:
            parts.append(f"SELECT track_id FROM search_keys WHERE key IN ({','.join('?' * len(any_of))})")
            args += list(any_of)
        if not parts:
            return "SELECT NULL WHERE 0", []
        return " INTERSECT ".join(parts), args

    def index_pending(self) -> int:
        """Index (``indexer``) the tracks and known records without ``search_keys`` rows;
        returns how many.  Cheap when there are none (one indexed anti-join)."""
        if self.indexer is None:
            return 0
        pending = self._all("SELECT id, record FROM tracks WHERE NOT EXISTS (SELECT 1 FROM search_keys "
                            "WHERE track_id=tracks.id) UNION SELECT id, record FROM records WHERE NOT EXISTS "
                            "(SELECT 1 FROM search_keys WHERE track_id=records.id)")
        self._indexed_version = self._data_version()
        if pending:
            with self.transaction() as db:
                self._index(db, [(str(i), bytes(r)) for i, r in pending])  # type: ignore[call-overload]
        return len(pending)

    def _data_version(self) -> int:
        """``PRAGMA data_version``: changes when another connection commits."""
        version: Any = self._all("PRAGMA data_version")[0][0]
        return int(version)

    def _index(self, db: sqlite3.Connection, rows: Sequence[tuple[str, bytes]]) -> None:
        if self.indexer is None or not rows:
            return
        have = {str(r[0]) for r in db.execute(
            f"SELECT DISTINCT track_id FROM search_keys WHERE track_id IN ({','.join('?' * len(rows))})",
            [i for i, _ in rows])} if len(rows) < 900 else set()
        out: list[tuple[str, str]] = []
        for track_id, record in rows:
            if track_id in have:
                continue
            try:
                keys = list(self.indexer(record))
            except Exception:  # a row that is not a record: marked, never indexed again
                keys = []
            out += [(k, track_id) for k in (keys or [""])]
        db.executemany("INSERT OR IGNORE INTO search_keys VALUES (?,?)", out)

    def cached_tracks(self) -> list[TrackRow]:
        """What the cache quota counts: tracks fetched from the network (``origin ==
        "fetched"``) whose file is intact (``ok``) and is not also the file of a track the
        user published; least recently played first."""
        rows = self._all(f"SELECT tracks.* FROM tracks{_OK} WHERE origin='fetched' AND tracks.cid NOT IN "
                         "(SELECT cid FROM tracks WHERE origin='published') ORDER BY last_played, id")
        return [TrackRow(*r) for r in rows]  # type: ignore[arg-type]

    def missing_track_count(self) -> int:
        """Tracks whose file is ``missing`` or ``changed`` (not seeded, not served)."""
        count: Any = self._all("SELECT count(*) FROM tracks JOIN files ON files.cid=tracks.cid WHERE files.state<>'ok'")[0][0]
        return int(count)

    def intact_file(self, cid: str, data_dir: Path) -> FileRow | None:
        """The stored file of ``cid`` if the library holds it ``ok`` and it is on disk under
        ``data_dir`` with its size (``file_state``; not re-hashed), else ``None``."""
        f = self.file(cid)
        return f if f is not None and f.state == "ok" and file_state(data_dir / f.path, f.size) == "ok" else None

    def file_states(self) -> dict[str, str]:
        """``{cid: state}`` of every stored file."""
        return {str(c): str(st) for c, st in self._all("SELECT cid, state FROM files")}

    def file(self, cid: str) -> FileRow | None:
        rows = self._all("SELECT * FROM files WHERE cid=?", (cid,))
        return FileRow(*rows[0]) if rows else None  # type: ignore[arg-type]

    def files(self) -> list[FileRow]:
        return [FileRow(*r) for r in self._all("SELECT * FROM files")]  # type: ignore[arg-type]

    def format_of(self, cid: str) -> str | None:
        """The MIME type the library's records give the file ``cid`` (or, for a cover image,
        the type its bytes showed: table ``artwork``), if any."""
        rows = self._all("SELECT format FROM tracks WHERE cid=? UNION ALL SELECT mime FROM artwork WHERE cid=? LIMIT 1",
                         (cid, cid))
        return str(rows[0][0]) if rows else None

    def block(self, cid: str) -> tuple[str, int, int, bytes | None] | None:
        """``(root_cid, offset, length, data)`` of a block, or ``None``."""
        rows = self._all("SELECT root, offset, length, data FROM blocks WHERE cid=?", (cid,))
        return rows[0] if rows else None  # type: ignore[return-value]

    def torrents(self) -> list[TorrentRow]:
        return [TorrentRow(*r) for r in self._all("SELECT * FROM torrents")]  # type: ignore[arg-type]

    def torrent(self, infohash: str) -> TorrentRow | None:
        rows = self._all("SELECT * FROM torrents WHERE infohash=?", (infohash,))
        return TorrentRow(*rows[0]) if rows else None  # type: ignore[arg-type]


def _follow_row(row: tuple[Any, ...]) -> FollowRow:
    did, audio, seq, catalog, followed, checked, error = row
    return FollowRow(str(did), bool(audio), None if seq is None else int(seq), None if catalog is None else str(catalog),
                     float(followed), None if checked is None else float(checked), None if error is None else str(error))


def _known_row(row: tuple[Any, ...]) -> KnownRecord:
    track_id, artist, record, source, seen = row
    return KnownRecord(str(track_id), str(artist), bytes(record), str(source), float(seen))


def _catalog_row(row: tuple[Any, ...]) -> CatalogRow:
    artist, infohash, metainfo, path, seq, count, stored = row
    return CatalogRow(str(artist), str(infohash), bytes(metainfo), str(path), int(seq), int(count), float(stored))


def _transfer_row(row: tuple[Any, ...]) -> TransferRow:
    ih, track_id, record, metainfo, peers, resume, started = row
    addrs = [(str(h), int(p)) for h, p in json.loads(str(peers))]
    return TransferRow(str(ih), str(track_id), bytes(record), bytes(metainfo), addrs,
                       bytes(resume) if resume is not None else None, str(started))


def file_state(path: Path, size: int) -> str:
    """The cheap check of a stored file: ``ok`` (exists with ``size`` bytes), ``missing``
    or ``changed`` (another size).  Contents are not re-hashed here."""
    try:
        actual = path.stat().st_size
    except OSError:  # gone, or unreadable: either way not servable
        return "missing"
    return "ok" if actual == size else "changed"


#: joins a track to its file when that file is intact: what peers may be offered
_OK = " JOIN files ON files.cid=tracks.cid AND files.state='ok'"


def _put_file(db: sqlite3.Connection, file: FileRow) -> None:
    db.execute(
        "INSERT INTO files (cid, path, size, profile) VALUES (?,?,?,?) ON CONFLICT(cid) DO UPDATE SET "
        "state='ok', path=excluded.path, size=excluded.size",  # the caller stores the file it verified
        (file.cid, file.path, file.size, file.profile),
    )


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (no semicolons inside our literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
