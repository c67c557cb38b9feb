"""The cache quota's adapter: builds ``CachedItem``s from the library, the running transfers
and the open streams, asks the pure policy (``osp.library.cache.evictions``) what to evict,
and evicts it the way ``osp rm`` removes a track (``Node.remove``: stop seeding, drop the
rows, delete the file).

An evicted track leaves the library: its record is signed and any peer can serve it again,
and ``osp ls`` and peers then see only what this node really holds.  Each eviction is
logged once (logger ``osp.cache``, INFO).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from osp.core.errors import NotFoundError
from osp.distribution.streaming import StreamSource
from osp.library.cache import CachedItem, CacheUsage, evictions, usage
from osp.library.store import TrackRow

if TYPE_CHECKING:
    from osp.node.core import Node

log = logging.getLogger("osp.cache")

#: transfer states in which a track is still moving bytes in (never evicted then)
_ACTIVE = ("resolving", "checking", "downloading", "verifying")


class OpenStreams:
    """How many ``/stream/`` responses are reading each track now (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    def playing(self) -> set[str]:
        """Track ids with at least one stream reading."""
        with self._lock:
            return {k for k, n in self._open.items() if n > 0}

    def _enter(self, track_id: str) -> None:
        with self._lock:
            self._open[track_id] += 1

    def _leave(self, track_id: str) -> None:
        with self._lock:
            self._open[track_id] -= 1
            if self._open[track_id] <= 0:
                del self._open[track_id]

    def counted(self, source: StreamSource, track_id: str) -> StreamSource:
        """``source`` whose ``read`` counts as an open stream of ``track_id`` while it runs."""
        values = {f.name: getattr(source, f.name) for f in fields(source)}
        return _CountedSource(**values, track_id=track_id, streams=self)


@dataclass
class _CountedSource(StreamSource):
    track_id: str = ""
    streams: OpenStreams | None = None

    def read(self, start: int, end: int) -> Iterator[bytes]:
        assert self.streams is not None
        self.streams._enter(self.track_id)
        try:
            yield from super().read(start, end)
        finally:
            self.streams._leave(self.track_id)


def cache_items(node: Node, spare: str | None = None) -> list[CachedItem]:
    """The node's cached items: fetched tracks whose file is stored intact and is not also
    a published track's file; ``in_use`` when transferring, streaming, or ``spare``.  Records
    that share one file (the same audio signed by several keys) are one item: its size
    counts once, it was played when any of them was, and evicting it removes them all."""
    return list(_grouped(node, spare))


def _grouped(node: Node, spare: str | None) -> dict[CachedItem, list[str]]:
    """Cached items, each with the ids of every record of its file."""
    busy = {tid for tid, t in node.transfers.items() if t.state.state in _ACTIVE} | node.streams.playing()
    if spare is not None:
        busy.add(spare)
    by_cid: dict[str, list[TrackRow]] = {}
    for row in node.library.cached_tracks():
        by_cid.setdefault(row.cid, []).append(row)
    items = {}
    for rows in by_cid.values():
        newest = max(rows, key=lambda r: r.last_played or 0.0)
        item = CachedItem(newest.id, newest.size, newest.last_played or 0.0, any(r.id in busy for r in rows))
        items[item] = [r.id for r in rows]
    return items


def cache_usage(node: Node) -> CacheUsage:
    """Bytes of fetched tracks held against ``settings.cache_size``."""
    return usage(cache_items(node), node.settings.cache_size)


def enforce_quota(node: Node, spare: str | None = None) -> list[str]:
    """Evict fetched tracks, least recently played first, until the cache fits the quota;
    never one that is transferring or streaming, nor ``spare`` (the track whose completed
    fetch triggered this run: ``osp get`` always gets its file).  Returns the evicted ids."""
    groups = _grouped(node, spare)
    by_id = {i.track_id: (i, ids) for i, ids in groups.items()}
    evicted = []
    for track_id in evictions(list(groups), node.settings.cache_size):
        item, ids = by_id[track_id]
        if set(ids) & node.streams.playing():
            continue  # began streaming since the items were read
        for one in ids:
            try:
                result = node.remove(one)
            except NotFoundError:
                continue  # removed meanwhile (osp rm)
            evicted.append(one)
            when = datetime.fromtimestamp(item.last_played, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            log.info("cache: evicted %r (%s, %d bytes, last played %s) to stay within %d bytes",
                     result["title"], one, item.size, when, node.settings.cache_size)
    return evicted
