"""What the web of trust reads from the library, and the quality gate's settings.

The gate's settings are one ``meta`` row (``quality-gate``: ``{"threshold", "lists"}``
JSON; no migration).  The graph itself comes from the ``follows`` table (the listener's
local follows) and the verified social records (``osp.library.social``); this module adds
the reads ``SocialRecords`` does not offer: the follow and endorsement edges from an index
alone (migration 13), every flag with its reason, and the artist of each flagged track we
know a record of.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from osp.library.store import Library

GATE_KEY = "quality-gate"  #: meta key of the gate settings (JSON)
MAX_FLAGS = 200_000  #: flag rows one graph reads at most, of authors whose flags can weigh (newest kept first)


def load_gate(library: Library) -> dict[str, Any] | None:
    """The stored gate settings as JSON (``None`` when never set or unreadable)."""
    raw = library.meta(GATE_KEY)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def save_gate(library: Library, data: dict[str, Any]) -> None:
    """Store the gate settings (already checked: ``osp.social.gate.GateSettings.to_json``)."""
    library.set_meta(GATE_KEY, json.dumps(data, separators=(",", ":"), sort_keys=True))


def trust_edges(library: Library) -> list[tuple[str, str, str]]:
    """``(author, kind, subject)`` of every stored Follow and Endorsement record (read from
    the ``social_edges`` index alone; ``SocialRecords.edges`` without its conversions)."""
    with library.transaction() as db:
        return db.execute("SELECT author, kind, subject FROM social WHERE kind IN ('follow', 'endorsement') "
                          "AND subject IS NOT NULL").fetchall()


def flags(library: Library, authors: Iterable[str] | None = None,
          limit: int = MAX_FLAGS) -> list[tuple[str, str, str | None]]:
    """``(author, subject, reason)`` of the stored flags by ``authors`` (everyone's when
    ``None``), newest received first, at most ``limit``.  The trust graph passes the
    identities whose flags can weigh (``TrustGraph.reachable``): flags by anyone else, however
    many, never take a place in the window (each author's found through the
    ``social_edges`` index)."""
    with library.transaction() as db:
        if authors is None:
            rows = db.execute(
                "SELECT author, subject, json_extract(CAST(record AS TEXT), '$.reason') FROM social "
                "WHERE kind='flag' AND subject IS NOT NULL ORDER BY received DESC LIMIT ?", (limit,)).fetchall()
        else:
            rows = db.execute(
                "SELECT author, subject, json_extract(CAST(record AS TEXT), '$.reason') FROM social "
                "WHERE kind='flag' AND subject IS NOT NULL AND author IN (SELECT value FROM json_each(?)) "
                "ORDER BY received DESC LIMIT ?", (json.dumps(list(authors)), limit)).fetchall()
    return [(str(a), str(s), r if isinstance(r, str) else None) for a, s, r in rows]


def flagged_track_artists(library: Library) -> dict[str, str]:
    """``{track id: artist did}`` for each flagged track whose record we hold (the library's
    tracks or the records known from followed catalogs)."""
    with library.transaction() as db:
        rows = db.execute(
            "SELECT id, artist FROM tracks WHERE id IN (SELECT subject FROM social WHERE kind='flag') "
            "UNION SELECT id, artist FROM records WHERE id IN (SELECT subject FROM social WHERE kind='flag')"
        ).fetchall()
    return {str(i): str(a) for i, a in rows}


def graph_version(library: Library) -> tuple[object, ...]:
    """A cheap fingerprint of everything the trust graph is built from (social rows,
    tombstones, follows, track records, gate settings): it changes when they change."""
    with library.transaction() as db:
        row = db.execute(
            "SELECT (SELECT count(*) FROM social), (SELECT max(rowid) FROM social), "
            "(SELECT count(*) FROM tombstoned), "
            "(SELECT count(*) FROM follows), (SELECT total(followed_at) FROM follows), "
            "(SELECT max(rowid) FROM tracks), (SELECT max(rowid) FROM records), "
            "(SELECT value FROM meta WHERE key=?)", (GATE_KEY,)).fetchone()
    return tuple(row)
