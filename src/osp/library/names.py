"""Display names of identities, as their own Track Records claim them (spec §6: ``artistName``).

A did:key has no registered name: the only name the library can show is the one an artist
signed into their own Track Records.  ``artist_names`` picks it deterministically — from
the newest (by the proof's ``created``, then the highest id) verified Track Record by that
did that has an ``artistName``, among the library's tracks and the records known from
catalogs — so every view shows the same name whatever order the records arrived in.  It is
the artist's *claim*, never proof of who they are: views show it beside the did, never
instead of it.
"""

from __future__ import annotations

from collections.abc import Iterable

from osp.library.store import Library

MAX_NAMES = 200  #: dids one call looks up at most (the rest get no name)
MAX_NAME = 256  #: longest name returned (the Track Record schema's bound)

_NEWEST = (
    "SELECT name FROM ("
    " SELECT json_extract(CAST(record AS TEXT), '$.artistName') AS name,"
    "  json_extract(CAST(record AS TEXT), '$.proof.created') AS created, id FROM tracks WHERE artist=?"
    " UNION ALL"
    " SELECT json_extract(CAST(record AS TEXT), '$.artistName'),"
    "  json_extract(CAST(record AS TEXT), '$.proof.created'), id FROM records WHERE artist=?)"
    " WHERE typeof(name)='text' AND name != '' ORDER BY created DESC, id DESC LIMIT 1"
)


def artist_names(library: Library, dids: Iterable[str]) -> dict[str, str]:
    """``{did: name}`` for each of the first ``MAX_NAMES`` distinct ``dids`` that has a verified
    Track Record with an ``artistName`` here (module docstring); dids without one are left out."""
    out: dict[str, str] = {}
    with library.transaction() as db:
        for did in list(dict.fromkeys(dids))[:MAX_NAMES]:
            row = db.execute(_NEWEST, (did, did)).fetchone()
            if row is not None and isinstance(row[0], str):
                out[did] = row[0][:MAX_NAME]
    return out
