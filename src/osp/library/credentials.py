"""Stored C2PA results: a small repository over the library's ``c2pa`` table (migration
"10: C2PA content credentials").  One row per file CID; ``result`` is the JSON of
``osp.provenance.c2pa.Credential`` (this module keeps it as a dict: the library layer
does not depend on the provenance layer).

A row is current while the trust list it was checked against (``trust``, a digest) is the
node's: ``pending`` names the tracks with no row, and those whose ``valid``/``trusted``
result was checked against another trust list (only those two states depend on it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from osp.library.store import Library, TrackRow

MAX_RESULT = 64 * 1024  #: JSON bytes of one stored result (the caps of ``Credential`` keep it far below)


@dataclass(frozen=True)
class StoredCredential:
    """A stored result: ``cid``, ``state``, ``result`` (the ``Credential`` JSON object),
    ``trust`` (the trust-list digest it was checked against), ``allowed_invalid`` (the
    publisher published it although invalid) and ``checked_at`` (Unix seconds)."""

    cid: str
    state: str
    result: dict[str, Any]
    trust: str
    allowed_invalid: bool
    checked_at: float

    def to_json(self) -> dict[str, Any]:
        """The control API's ``c2pa`` object: the result plus ``allowedInvalid`` and ``checkedAt``."""
        return {**self.result, "allowedInvalid": self.allowed_invalid, "checkedAt": self.checked_at}


class Credentials:
    """The ``c2pa`` table of ``library`` (its one connection and writer)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def put(self, cid: str, result: dict[str, Any], *, trust: str, now: float, allowed_invalid: bool = False) -> None:
        """Store (replace) the result for ``cid``; ``allowed_invalid`` is kept once set.
        ``ValueError`` when the result is over ``MAX_RESULT`` bytes."""
        text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        if len(text.encode()) > MAX_RESULT:
            raise ValueError(f"a C2PA result of {len(text)} characters is over the cap")
        with self.library.transaction() as db:
            db.execute(
                "INSERT INTO c2pa VALUES (?,?,?,?,?,?) ON CONFLICT(cid) DO UPDATE SET state=excluded.state, "
                "result=excluded.result, trust=excluded.trust, checked_at=excluded.checked_at, "
                "allowed_invalid=max(allowed_invalid, excluded.allowed_invalid)",
                (cid, str(result.get("state")), text, trust, int(allowed_invalid), now))

    def get(self, cid: str) -> StoredCredential | None:
        """The stored result for ``cid``, or ``None``."""
        with self.library.transaction() as db:
            row = db.execute("SELECT * FROM c2pa WHERE cid=?", (cid,)).fetchone()
        return _row(row) if row else None

    def for_cids(self, cids: list[str]) -> dict[str, StoredCredential]:
        """The stored results of ``cids`` (those that have one), by CID."""
        found: dict[str, StoredCredential] = {}
        for start in range(0, len(cids), 500):
            part = cids[start:start + 500]
            with self.library.transaction() as db:
                rows = db.execute(f"SELECT * FROM c2pa WHERE cid IN ({','.join('?' * len(part))})", part).fetchall()
            found.update((str(r[0]), _row(r)) for r in rows)
        return found

    def pending(self, trust: str, limit: int) -> list[TrackRow]:
        """At most ``limit`` tracks (oldest first) whose file has no result, or a ``valid``/
        ``trusted`` one checked against another trust list than ``trust``."""
        with self.library.transaction() as db:
            rows = db.execute(
                "SELECT tracks.* FROM tracks LEFT JOIN c2pa ON c2pa.cid = tracks.cid WHERE c2pa.cid IS NULL "
                "OR (c2pa.state IN ('valid','trusted') AND c2pa.trust <> ?) ORDER BY tracks.added_at, tracks.id "
                "LIMIT ?", (trust, limit)).fetchall()
        return [TrackRow(*r) for r in rows]


def _row(row: tuple[Any, ...]) -> StoredCredential:
    cid, state, result, trust, allowed, checked = row
    return StoredCredential(str(cid), str(state), json.loads(str(result)), str(trust), bool(allowed), float(checked))
