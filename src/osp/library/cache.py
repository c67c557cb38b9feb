"""The cache quota's eviction policy, a pure function (no I/O, no clock: style.md §1, §2).

A listener's node keeps and seeds what it fetched (OSP draft §3.3: a popular track is
carried by its listeners), but within ``Settings.cache_size`` bytes.  The rules:

- Only tracks *fetched* from the network are cached items; the user's own published
  tracks are never items (they neither count against the quota nor are evicted).
- An item that is ``in_use`` (downloading, or being streamed to a player) is never
  evicted, but its bytes still count.
- While the items' bytes exceed the quota, the least recently played item that is not in
  use is evicted (ties: the smaller track id first, so the answer is deterministic).
- A quota of 0 therefore keeps nothing that is not in use.

The node's adapter (``osp.node.cache``) builds the items from the library and the running
transfers and streams, and carries out the evictions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedItem:
    """One fetched track the node holds."""

    track_id: str  #: ``osp:track:…``
    size: int  #: bytes it occupies on disk
    last_played: float  #: Unix seconds it was fetched or last began streaming
    in_use: bool = False  #: transferring or streaming now: never evicted, still counted


@dataclass(frozen=True)
class CacheUsage:
    """Bytes the cached items occupy against the quota."""

    used: int  #: bytes of every cached item
    quota: int  #: ``Settings.cache_size`` in bytes
    tracks: int  #: number of cached items

    def to_json(self) -> dict[str, int]:
        return {"used": self.used, "quota": self.quota, "tracks": self.tracks}


def usage(items: Iterable[CachedItem], quota: int) -> CacheUsage:
    """``CacheUsage`` of ``items`` under ``quota`` bytes."""
    listed = list(items)
    return CacheUsage(sum(i.size for i in listed), quota, len(listed))


def evictions(items: Iterable[CachedItem], quota: int) -> list[str]:
    """Track ids to evict so that the items fit in ``quota`` bytes, least recently played
    first; items ``in_use`` are skipped.  Returns ``[]`` when they already fit.  When the
    items in use alone exceed the quota, every other item is evicted and the quota stays
    exceeded until they end (the next run evicts them then).

    ``ValueError`` for a negative ``quota``.
    """
    if quota < 0:
        raise ValueError(f"negative cache quota {quota}")
    listed = list(items)
    used = sum(i.size for i in listed)
    victims: list[str] = []
    for item in sorted(listed, key=lambda i: (i.last_played, i.track_id)):
        if used <= quota:
            break
        if item.in_use:
            continue
        victims.append(item.track_id)
        used -= item.size
    return victims
