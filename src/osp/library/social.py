"""Verified social records (spec §10) in the library: tables ``social`` and ``tombstoned``
(migration 12).  Only a ``VerifiedSocial`` can be stored, so nothing here parses or
trusts peer bytes.

``add`` decides, in one transaction, in this order (the first that applies wins):

==================================================== =========================================
the record                                           outcome
==================================================== =========================================
its id is stored already                             refused (``False``)
a tombstone by its own author removed it             refused: a tombstoned record stays removed
a playlist with ``seq`` ≤ the highest seen for       refused: the newest version wins; seqs of
(author, playlist), stored or tombstoned             removed versions count too
dated more than ``MAX_FUTURE`` s ahead of the clock   refused: a future date would sort first for
                                                     ever (spec §10.1)
a second like, follow or endorsement by the same     refused: one per author and subject
author of the same subject
a tombstone whose subject is stored by another       refused: only an author removes their own
author                                               records
a tombstone whose subject is already removed by the  refused (nothing new)
same author
a tombstone naming a series and seq (``playlist``,   refused: it is not that version's
``seq``) whose held subject has another series or
seq
a peer's record that would take its author past      refused: the oldest records are kept, the
``MAX_RECORDS_PER_AUTHOR`` rows                      new one is not (a newer playlist version and
                                                     a tombstone of a stored record replace a
                                                     row, so they pass at the cap)
a peer's record that would take its author past      refused, as above (a newer playlist version
``MAX_BYTES_PER_AUTHOR`` bytes of record JSON        counts its size less the one it replaces; a
                                                     tombstone of a stored record passes)
a new row that would take the library past          the oldest received rows of authors the
``MAX_TOTAL_ROWS`` rows or its peers' records past   listener does not follow (never own records,
``MAX_TOTAL_BYTES`` bytes of record JSON             never a followed author's) are evicted to
                                                     make room (``EVICT_SLACK`` more at once); a
                                                     peer's record the listener does not follow
                                                     is refused only when nothing is left to
                                                     evict; own records and followed authors'
                                                     (each under the per-author caps) pass
otherwise                                            stored (``True``)
==================================================== =========================================

An evicted Tombstone leaves its ``tombstoned`` row: the record it removed stays removed
(of such rows, at most ``max_total_rows`` are kept: ``_bound_orphans``).

Storing a newer playlist version deletes the older one; storing a tombstone deletes its
subject (when stored) and, for a playlist version, the author's versions of that series
up to its ``seq`` (spec §10.2 rule 3: series and seq from the subject when held, else from
the tombstone's own ``playlist`` and ``seq``, so a follower holding only an older version
applies it), and remembers the subject as tombstoned by that author, so a later
copy is refused (a refused copy still tells the tombstone what the record was about, for
``tombstones_about``, and, for a playlist version, deletes the series' older versions:
spec §10.2).  A tombstone whose subject is not known yet is kept: if the subject
arrives by the same author it is refused; if it arrives by *another* author the tombstone
was not its author's, and it is dropped (tombstone row included) while the subject is
stored — so nobody can pre-empt someone else's record with a tombstone.  Likewise a
playlist version whose tombstone named another series or seq drops that tombstone (what
it deleted of its own author's series stays deleted) and is judged by the rules above.
A tombstone's row keeps ``playlist`` and ``seq`` empty (the ``tombstoned`` row holds them).
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from osp.library.store import Library
from osp.records.social import KINDS, VerifiedSocial

MAX_RECORDS_PER_AUTHOR = 5000  #: rows one peer identity may hold here (tombstones included)
MAX_BYTES_PER_AUTHOR = 4 * 1024 * 1024  #: bytes of signed record JSON (JCS) one peer identity may hold here
MAX_TOTAL_ROWS = 200_000  #: rows in all past which peers' rows the listener does not follow are evicted
MAX_TOTAL_BYTES = 256 * 1024 * 1024  #: bytes of peers' record JSON (JCS) in all, likewise
EVICT_SLACK = 1 / 64  #: share of each total cap evicted beyond the need at once (one scan serves many adds)
BYTES_RECOUNT = 300.0  #: seconds (of ``add``'s ``now``) after which peers' bytes in all are counted anew
MAX_ROWS = 10_000  #: default cap on rows one query returns
MAX_FUTURE = 3600.0  #: seconds a record's ``created`` may be ahead of this node's clock
ONE_PER_SUBJECT = ("like", "follow", "endorsement")  #: kinds an author holds once per subject


def created_seconds(created: str) -> float:
    """Unix seconds of a record's ``created`` (an RFC 3339 UTC date-time as ``verify_social``
    lets through: a real day, seconds 00–59); ``math.inf`` for anything else, so that a
    record no verifier should have passed counts as dated in the far future (refused by
    ``add``) rather than raising."""
    try:
        return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        return math.inf


@dataclass(frozen=True)
class SocialRow:
    """A stored verified social record: the indexed columns, the signed ``record`` (parsed
    JSON object), ``origin`` (``own``: made on this node, ``peer``: received) and
    ``received`` (Unix seconds).  ``subject`` is ``None`` for a playlist, ``playlist`` and
    ``seq`` for every other kind."""

    id: str
    kind: str
    author: str
    subject: str | None
    playlist: str | None
    seq: int | None
    created: str
    record: dict[str, Any]
    origin: str
    received: float

    @property
    def own(self) -> bool:
        return self.origin == "own"


_COLUMNS = "id, kind, author, subject, playlist, seq, created, record, origin, received"
IN_CHUNK = 500  #: dids one ``author IN (…)`` query names at most (SQLite's variable limit, and short plans)


def _row(row: Sequence[Any]) -> SocialRow:
    rid, kind, author, subject, playlist, seq, created, record, origin, received = row
    return SocialRow(str(rid), str(kind), str(author), subject, playlist, None if seq is None else int(seq),
                     str(created), json.loads(bytes(record)), str(origin), float(received))


def _kinds(kinds: Sequence[str] | None) -> tuple[str, list[object]]:
    """A ``AND kind IN (…)`` clause and its arguments (empty for ``None``)."""
    if kinds is None:
        return "", []
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown social record kinds: {sorted(unknown)}")
    return f" AND kind IN ({','.join('?' * len(kinds))})", list(kinds)


class _Tally:
    """What one transaction's caps need, read once and kept up to date by its inserts and
    evictions: rows and record bytes per author, rows in all, whether an author is followed.  Rows deleted on the way (older versions, bogus
    tombstones) are not subtracted, so the tally can only overstate what is held: a cap is
    never passed."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.authors: dict[str, list[int]] = {}
        self.total: int | None = None
        self.followed: dict[str, bool] = {}

    def author(self, did: str) -> list[int]:
        """``[rows, bytes]`` ``did`` holds (a live list: the caller updates it)."""
        if did not in self.authors:
            count, size = self.db.execute("SELECT count(*), total(length(record)) FROM social WHERE author=?",
                                          (did,)).fetchone()
            self.authors[did] = [int(count), int(size)]
        return self.authors[did]

    def rows(self) -> int:
        """Rows held in all (an index count: cheap)."""
        if self.total is None:
            self.total = int(self.db.execute("SELECT count(*) FROM social").fetchone()[0])
        return self.total

    def is_followed(self, did: str) -> bool:
        if did not in self.followed:
            self.followed[did] = self.db.execute("SELECT 1 FROM follows WHERE did=?", (did,)).fetchone() is not None
        return self.followed[did]


class SocialRecords:
    """The social records stored in ``library`` (its one connection and writer).  The caps
    (spec §10.3) are settable for tests: ``max_per_author`` rows and ``max_bytes_per_author``
    bytes of record JSON per peer identity, ``max_total_rows`` rows in all and
    ``max_total_bytes`` bytes of peers' record JSON in all, past which the oldest received
    rows of authors the listener does not follow are evicted."""

    def __init__(self, library: Library, *, max_per_author: int = MAX_RECORDS_PER_AUTHOR,
                 max_bytes_per_author: int = MAX_BYTES_PER_AUTHOR, max_total_rows: int = MAX_TOTAL_ROWS,
                 max_total_bytes: int = MAX_TOTAL_BYTES) -> None:
        self.library = library
        self.max_per_author = max_per_author
        self.max_bytes_per_author = max_bytes_per_author
        self.max_total_rows = max_total_rows
        self.max_total_bytes = max_total_bytes
        # peers' record bytes held: summing them reads every row (0.2 s at 200,000), so they are
        # counted now and then (``BYTES_RECOUNT`` s, or when they seem over the cap) and kept up
        # to date by ``_add`` in between; deletions it does not count only overstate them
        self._peer_bytes: int | None = None
        self._bytes_counted = -math.inf

    # --- writes ---------------------------------------------------------------

    def add(self, v: VerifiedSocial, *, own: bool, now: float) -> bool:
        """Store ``v`` (``own``: made on this node, not subject to the caps; ``now``: Unix
        seconds received).  ``True`` if stored, ``False`` if refused by the rules of the
        module's table (known, tombstoned, an older playlist version, a tombstone of another
        author's record, over a per-author cap or the total one)."""
        with self.library.transaction() as db:
            return self._add(db, v, own, now, _Tally(db))

    def add_many(self, records: Sequence[VerifiedSocial], *, own: bool, now: float) -> int:
        """``add`` each of ``records`` in order, in one transaction (one disk sync for a
        whole catalog); the number stored."""
        with self.library.transaction() as db:
            tally = _Tally(db)
            return sum(self._add(db, v, own, now, tally) for v in records)

    def _add(self, db: sqlite3.Connection, v: VerifiedSocial, own: bool, now: float, tally: _Tally) -> bool:
        if db.execute("SELECT 1 FROM social WHERE id=?", (v.id,)).fetchone():
            return False
        if created_seconds(v.created) > max(now, time.time()) + MAX_FUTURE:
            return False
        if v.kind in ONE_PER_SUBJECT and db.execute("SELECT 1 FROM social WHERE author=? AND kind=? AND subject=?",
                                                    (v.author, v.kind, v.subject)).fetchone():
            return False
        held_tomb = db.execute("SELECT tombstone, playlist, seq FROM tombstoned WHERE subject=? AND author=?",
                               (v.id, v.author)).fetchone()
        if held_tomb is not None and held_tomb[1] is not None and v.kind == "playlist" \
                and (held_tomb[1], held_tomb[2]) != (v.playlist, v.seq):
            # the tombstone named another series or seq than its subject's: it was not this
            # version's, it goes (what it deleted of the series stays deleted) and v is judged anew
            db.execute("DELETE FROM tombstoned WHERE subject=? AND author=?", (v.id, v.author))
            db.execute("DELETE FROM social WHERE id=?", (held_tomb[0],))
            held_tomb = None
        if held_tomb is not None:
            if v.subject is not None:  # the tombstone that came first learns what the record was about
                db.execute("UPDATE tombstoned SET about=? WHERE subject=? AND author=? AND about IS NULL",
                           (v.subject, v.id, v.author))
            if v.kind == "playlist":  # ... or which playlist version it deleted: older ones go too
                db.execute("UPDATE tombstoned SET playlist=?, seq=? WHERE subject=? AND author=?",
                           (v.playlist, v.seq, v.id, v.author))
                db.execute("DELETE FROM social WHERE author=? AND playlist=? AND seq<?", (v.author, v.playlist, v.seq))
            return False
        replaces: str | None = None  # the id of the row this record takes the place of
        if v.kind == "playlist":
            (highest,) = db.execute(
                "SELECT max(seq) FROM (SELECT seq FROM social WHERE author=?1 AND playlist=?2 "
                "UNION ALL SELECT seq FROM tombstoned WHERE author=?1 AND playlist=?2)",
                (v.author, v.playlist)).fetchone()
            if highest is not None and (v.seq or 0) <= highest:
                return False
            old = db.execute("SELECT id FROM social WHERE author=? AND playlist=?", (v.author, v.playlist)).fetchone()
            replaces = None if old is None else str(old[0])
        subject_row = None
        if v.kind == "tombstone":
            subject_row = db.execute("SELECT author, playlist, seq, subject FROM social WHERE id=?",
                                     (v.subject,)).fetchone()
            if subject_row is not None and subject_row[0] != v.author:
                return False
            if subject_row is not None and v.playlist is not None and (subject_row[1], subject_row[2]) != (
                    v.playlist, v.seq):
                return False  # it names another series or seq than the version it deletes
            if subject_row is None and db.execute("SELECT 1 FROM tombstoned WHERE subject=? AND author=?",
                                                  (v.subject, v.author)).fetchone():
                return False
            replaces = None if subject_row is None else v.subject
            if replaces is None and v.playlist is not None:  # a version of the series it ends, if held
                old = db.execute("SELECT id FROM social WHERE author=? AND playlist=? AND seq<=?",
                                 (v.author, v.playlist, v.seq)).fetchone()
                replaces = None if old is None else str(old[0])
        raw = v.to_json()
        replaced_size = 0
        if replaces is not None:
            (replaced_size,) = db.execute("SELECT length(record) FROM social WHERE id=?", (replaces,)).fetchone()
        held = tally.author(v.author)
        if not own:
            if replaces is None and held[0] >= self.max_per_author:
                return False
            if held[1] - replaced_size + len(raw) > self.max_bytes_per_author and not (
                    v.kind == "tombstone" and replaces is not None):
                return False
            if replaces is None and not self._make_room(db, tally, len(raw), now) \
                    and not tally.is_followed(v.author):
                return False
        if replaces is None:
            held[0] += 1
            tally.total = None if tally.total is None else tally.total + 1
        held[1] += len(raw) - replaced_size
        if not own and self._peer_bytes is not None:
            self._peer_bytes += len(raw) - replaced_size
        if replaces is not None:
            db.execute("DELETE FROM social WHERE id=?", (replaces,))
        if v.kind == "tombstone":
            playlist, seq, about = subject_row[1:] if subject_row is not None else (v.playlist, v.seq, None)
            if playlist is not None:  # rule 3: the series up to that seq, held or not
                db.execute("DELETE FROM social WHERE author=? AND playlist=? AND seq<=?", (v.author, playlist, seq))
            db.execute("INSERT INTO tombstoned (subject, author, tombstone, about, playlist, seq) "
                       "VALUES (?,?,?,?,?,?)", (v.subject, v.author, v.id, about, playlist, seq))
        # tombstones of this record by others were not its author's: they go
        bogus = [r[0] for r in db.execute("SELECT tombstone FROM tombstoned WHERE subject=? AND author!=?",
                                          (v.id, v.author)).fetchall()]
        if bogus:
            db.execute("DELETE FROM tombstoned WHERE subject=? AND author!=?", (v.id, v.author))
            db.executemany("DELETE FROM social WHERE id=?", [(b,) for b in bogus])
        db.execute(f"INSERT INTO social ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (v.id, v.kind, v.author, v.subject, *((v.playlist, v.seq) if v.kind == "playlist" else (None, None)),
                    v.created, raw,
                    "own" if own else "peer", now))
        return True

    def _held_peer_bytes(self, db: sqlite3.Connection, now: float, *, recount: bool = False) -> int:
        """Peers' record bytes held (see ``__init__``), counted anew when unknown, when
        ``recount`` or ``BYTES_RECOUNT`` s after the last count."""
        if self._peer_bytes is None or recount or not 0 <= now - self._bytes_counted < BYTES_RECOUNT:
            (size,) = db.execute("SELECT total(length(record)) FROM social WHERE origin='peer'").fetchone()
            self._peer_bytes, self._bytes_counted = int(size), now
        return self._peer_bytes

    def _make_room(self, db: sqlite3.Connection, tally: _Tally, size: int, now: float) -> bool:
        """Room for one more peer row of ``size`` bytes under ``max_total_rows`` and
        ``max_total_bytes``: evict the oldest received peer rows of authors the listener
        does not follow (ties by id), with ``EVICT_SLACK`` of each cap more, so the next adds
        find room without a scan.  A Tombstone's ``tombstoned`` row stays.  ``False`` if
        there is still no room (nothing left to evict)."""
        total = tally.rows()
        rows_over = total + 1 - self.max_total_rows
        bytes_over = self._held_peer_bytes(db, now) + size - self.max_total_bytes
        if bytes_over > 0:  # the running figure may overstate: count before evicting
            bytes_over = self._held_peer_bytes(db, now, recount=True) + size - self.max_total_bytes
        if rows_over <= 0 and bytes_over <= 0:
            return True
        rows_goal = rows_over + int(self.max_total_rows * EVICT_SLACK) if rows_over > 0 else 0
        bytes_goal = bytes_over + int(self.max_total_bytes * EVICT_SLACK) if bytes_over > 0 else 0
        cursor = db.execute("SELECT id, author, length(record) FROM social WHERE origin='peer' "
                            "AND author NOT IN (SELECT did FROM follows) ORDER BY received, id")
        victims: list[tuple[str]] = []
        freed = 0
        for rid, author, length in cursor:
            if len(victims) >= rows_goal and freed >= bytes_goal:
                break
            victims.append((str(rid),))
            freed += int(length)
            held = tally.authors.get(str(author))
            if held is not None:
                held[0], held[1] = held[0] - 1, held[1] - int(length)
        cursor.close()
        db.executemany("DELETE FROM social WHERE id=?", victims)
        if any(v[0].startswith("osp:tombstone:") for v in victims):
            self._bound_orphans(db)
        tally.total = total - len(victims)
        peer_bytes = self._held_peer_bytes(db, now) - freed
        self._peer_bytes = peer_bytes
        return tally.total + 1 <= self.max_total_rows and peer_bytes + size <= self.max_total_bytes

    def _bound_orphans(self, db: sqlite3.Connection) -> None:
        """Keep at most ``max_total_rows`` ``tombstoned`` rows whose Tombstone was evicted:
        each keeps a removed record removed, but a stranger retracting records again and
        again must not grow the table for ever; past the bound those of authors the listener
        does not follow go (their removed records could come back: a stranger's own)."""
        (orphans,) = db.execute("SELECT count(*) FROM tombstoned WHERE tombstone NOT IN "
                                "(SELECT id FROM social)").fetchone()
        excess = int(orphans) - self.max_total_rows
        if excess > 0:
            db.execute("DELETE FROM tombstoned WHERE (subject, author) IN (SELECT subject, author FROM tombstoned "
                       "WHERE tombstone NOT IN (SELECT id FROM social) AND author NOT IN (SELECT did FROM follows) "
                       "ORDER BY tombstone LIMIT ?)", (excess,))

    # --- reads ----------------------------------------------------------------

    def _select(self, where: str, args: Sequence[object], order: str, limit: int | None) -> list[SocialRow]:
        sql = f"SELECT {_COLUMNS} FROM social WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.library.transaction() as db:
            return [_row(r) for r in db.execute(sql, args).fetchall()]

    def get(self, record_id: str) -> SocialRow | None:
        """The stored record ``record_id``, or ``None``."""
        rows = self._select("id=?", (record_id,), "id", 1)
        return rows[0] if rows else None

    def is_tombstoned(self, record_id: str, author: str | None = None) -> bool:
        """Whether a stored tombstone (by ``author``, when given) names ``record_id``."""
        sql, args = "SELECT 1 FROM tombstoned WHERE subject=?", [record_id]
        if author is not None:
            sql, args = sql + " AND author=?", [record_id, author]
        with self.library.transaction() as db:
            return db.execute(sql, args).fetchone() is not None

    def about(self, subject: str, kinds: Sequence[str] | None = None, *, limit: int | None = MAX_ROWS) -> list[SocialRow]:
        """Records whose ``subject`` is ``subject`` (a track id, a did:key, a record id), of
        ``kinds`` (all when ``None``): the ``limit`` received last (a date a peer chose cannot
        push others out), returned oldest first (by ``created``, then id).  ``ValueError`` for
        an unknown kind."""
        clause, args = _kinds(kinds)
        rows = self._select("subject=?" + clause, [subject, *args], "received DESC, created DESC, id", limit)
        return sorted(rows, key=lambda r: (r.created, r.id))

    def tombstones_about(self, subject: str, *, limit: int | None = MAX_ROWS,
                         first: str | None = None) -> list[SocialRow]:
        """The stored Tombstones of records that were about ``subject`` (e.g. of comments
        on a track), the last received first: what a node passes on with the records about
        a track (spec §10.4) so that a deletion reaches everyone who saw the record.
        ``first`` (a did, e.g. the listener's): that author's tombstones before everyone
        else's, so a flood of others' retractions cannot push them past ``limit`` (spec §10.5)."""
        sql = (f"SELECT {', '.join('s.' + c for c in _COLUMNS.split(', '))} FROM tombstoned t "
               "JOIN social s ON s.id = t.tombstone WHERE t.about=? ORDER BY s.author=? DESC, s.received DESC, s.id")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.library.transaction() as db:
            return [_row(r) for r in db.execute(sql, (subject, first or "")).fetchall()]

    def find(self, author: str, kind: str, subject: str) -> SocialRow | None:
        """``author``'s record of ``kind`` about ``subject`` (the newest received when there
        are several, e.g. comments), or ``None``: one indexed look-up, whatever number of
        others' records are about ``subject`` (an unlike, a like again).  ``ValueError`` for
        an unknown kind."""
        clause, args = _kinds((kind,))
        rows = self._select("author=? AND subject=?" + clause, [author, subject, *args], "received DESC, id", 1)
        return rows[0] if rows else None

    def count_about(self, subject: str, kind: str, *, distinct_authors: bool = False) -> int:
        """How many records of ``kind`` are about ``subject`` (``distinct_authors``: how many
        authors hold one, e.g. likers), counted by SQLite, never from a window of rows.
        ``ValueError`` for an unknown kind."""
        clause, args = _kinds((kind,))
        what = "count(DISTINCT author)" if distinct_authors else "count(*)"
        with self.library.transaction() as db:
            return int(db.execute(f"SELECT {what} FROM social WHERE subject=?{clause}", [subject, *args]).fetchone()[0])

    def about_by(self, subject: str, kinds: Sequence[str], authors: Collection[str], *,
                 limit: int | None = MAX_ROWS) -> list[SocialRow]:
        """The records of ``kinds`` about ``subject`` whose author is one of ``authors`` (e.g.
        the listener and the identities the web of trust trusts), looked up by author
        (``IN_CHUNK`` dids a query), so no number of other authors' records can hide them; in
        the order of ``authors``, then the last received first; at most ``limit``.
        ``ValueError`` for an unknown kind."""
        clause, kind_args = _kinds(kinds)
        order = {did: i for i, did in enumerate(dict.fromkeys(authors))}
        wanted = list(order)
        found: list[SocialRow] = []
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start:start + IN_CHUNK]
            found += self._select(f"subject=? AND author IN ({','.join('?' * len(chunk))}){clause}",
                                  [subject, *chunk, *kind_args], "received DESC, created DESC, id", limit)
            if limit is not None and len(found) >= limit:
                break  # later chunks' authors come after these
        found.sort(key=lambda r: (r.received, r.created), reverse=True)
        found.sort(key=lambda r: order[r.author])  # stable: each author's last received, then newest, first
        return found if limit is None else found[:limit]

    def by_author(self, did: str, kinds: Sequence[str] | None = None, *, limit: int | None = MAX_ROWS,
                  newest_first: bool = False) -> list[SocialRow]:
        """``did``'s records of ``kinds`` (all when ``None``), oldest first (``newest_first``:
        the newest), at most ``limit`` of them from that end."""
        clause, args = _kinds(kinds)
        return self._select("author=?" + clause, [did, *args], "created DESC, id" if newest_first else "created, id",
                            limit)

    def playlists(self, author: str | None = None, *, limit: int | None = MAX_ROWS) -> list[SocialRow]:
        """The newest stored version of each playlist series (of ``author``, or everyone's),
        newest first (by ``created``)."""
        if author is None:
            return self._select("kind='playlist'", (), "created DESC, id", limit)
        return self._select("kind='playlist' AND author=?", (author,), "created DESC, id", limit)

    def edges(self, kinds: Sequence[str]) -> Iterator[tuple[str, str, str, str]]:
        """``(author, kind, subject, created)`` of every stored record of ``kinds`` that has a
        subject (for the web of trust: follows, endorsements, flags …), in no set order.
        ``ValueError`` for an unknown kind."""
        clause, args = _kinds(kinds)
        with self.library.transaction() as db:
            rows = db.execute(f"SELECT author, kind, subject, created FROM social WHERE subject IS NOT NULL{clause}",
                              args).fetchall()
        for author, kind, subject, created in rows:
            yield str(author), str(kind), str(subject), str(created)

    def count_by_author(self, did: str) -> int:
        """Rows ``did`` holds here (every kind, tombstones included)."""
        with self.library.transaction() as db:
            return int(db.execute("SELECT count(*) FROM social WHERE author=?", (did,)).fetchone()[0])
