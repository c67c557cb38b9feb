"""JSON shapes of tracks shared by the control API, the web app's routes and the CLI."""

from __future__ import annotations

from typing import Any

from osp.library.store import TrackRow
from osp.node.core import Node
from osp.records.canonical import strict_loads


def track_summary(record: dict[str, Any], infohash: str | None = None) -> dict[str, Any]:
    """The ``--json`` shape of a track: id, cid, torrent, title, artist, and the record."""
    return {
        "id": record["id"],
        "cid": record["cid"],
        "torrent": record["torrent"],
        "title": record["title"],
        "artist": record["artist"],
        "infohash": infohash or record["torrent"].split("urn:btih:", 1)[1][:40],
        "record": record,
    }


def library_entry(row: TrackRow, states: dict[str, str]) -> dict[str, Any]:
    """A library track as ``GET /api/tracks`` lists it: ``track_summary`` plus ``origin``
    (``published``/``fetched``), ``added`` (ISO 8601) and ``file`` (``ok``, ``missing`` or
    ``changed``; ``states``: ``Library.file_states()``)."""
    return track_summary(strict_loads(row.record), row.infohash) | {
        "origin": row.origin, "added": row.added_at, "file": states.get(row.cid, "missing")}


def share_link(node: Node, track_id: str) -> str | None:
    """The share page of a track, ``<public share url>/t/<id>`` (``Node.public_share_url``),
    or ``None`` without a share listener."""
    base = node.public_share_url
    return f"{base}/t/{track_id}" if base else None
