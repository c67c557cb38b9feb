"""How social records travel between nodes (spec §10.4, §10.5): the pure checks a node runs
on what peers send it, before and around verification.

* ``IntakeBudget``: records accepted per peer per minute — a token bucket per source key
  (``source_key``: an HTTP peer's IP address, its IPv6 /64, never its port, so one host
  with many ports has one budget; a followed did for a feed's catalog) refilled at
  ``rate`` records per minute up to ``burst``, at most ``max_sources`` sources remembered
  (least recent forgotten).  ``take(source, n, now)`` says how many of ``n`` records may
  go on.
* ``parse_answer``: the shape of one answer of ``GET /osp/v0/tracks/{id}/social``
  (``{"records": [object…], "truncated": bool}``, at most ``MAX_ANSWER_RECORDS`` records),
  else ``IntegrityError`` (the peer is hostile or broken).
* ``on_topic``: whether a verified record belongs in an answer about a track: a comment,
  like or flag whose ``subject`` is that track, or a tombstone of such a record — one of
  the same answer or one the seeker holds (the caller says what the tombstone's subject
  is about); any other tombstone could be of anything and would only fill the seeker's
  table: it is dropped (not held against the peer: a holder passes on tombstones of
  records the seeker never saw).

Pure: no I/O, the clock passed in.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

from osp.core.errors import IntegrityError

MAX_ANSWER_RECORDS = 200  #: records one peer answer holds at most (newest first; ``truncated`` says more exist)
MAX_ANSWER_BYTES = 512 * 1024  #: bytes of one peer answer at most (the seeker stops reading past it)
RECORDS_PER_MINUTE = 300  #: records one peer may have accepted per minute (burst as many)
MAX_SOURCES = 4096  #: peers whose budget is remembered
TRACK_KINDS = ("comment", "like", "flag")  #: kinds served and found under a track's rendezvous key


def source_key(source: str) -> str:
    """The budget key of ``source``: for a URL (``scheme://host[:port]/…``) its IPv4
    address, or its IPv6 /64 (``2001:db8:1:2::/64``; an IPv4-mapped address as IPv4),
    or its lower-case host name; the port never counts.  Anything else (a did) as is."""
    if "://" not in source:
        return source
    try:
        host = urlsplit(source).hostname
    except ValueError:
        return source
    if not host:
        return source
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host.lower()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class IntakeBudget:
    """Records accepted per source per minute (see the module docstring); thread-safe.

    ``rate``: records per minute refilled, ``burst``: the most a source may have at once
    (default ``rate``).  ``now``: seconds on any monotonic scale, passed by the caller."""

    def __init__(self, rate: float = RECORDS_PER_MINUTE, burst: float | None = None,
                 max_sources: int = MAX_SOURCES) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate / 60.0
        self.burst = float(burst if burst is not None else rate)
        self.max_sources = max_sources
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # source -> (tokens, at)

    def take(self, source: str, n: int, now: float) -> int:
        """How many of ``n`` records from ``source`` (a peer URL or a did: ``source_key``)
        may be accepted now (0…n); those are taken from its key's bucket."""
        source = source_key(source)
        with self._lock:
            tokens, at = self._buckets.pop(source, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
            granted = max(0, min(n, int(tokens)))
            self._buckets[source] = (tokens - granted, now)
            while len(self._buckets) > self.max_sources:
                self._buckets.popitem(last=False)
            return granted

    def give_back(self, source: str, n: int) -> None:
        """Return ``n`` tokens to ``source`` (records taken but not stored: duplicates,
        ones already known), never above ``burst``."""
        source = source_key(source)
        with self._lock:
            if source in self._buckets and n > 0:
                tokens, at = self._buckets[source]
                self._buckets[source] = (min(self.burst, tokens + n), at)


def parse_answer(answer: Any, *, max_records: int = MAX_ANSWER_RECORDS) -> list[dict[str, Any]]:
    """The records of one ``GET /osp/v0/tracks/{id}/social`` answer (parsed JSON),
    unverified.  ``IntegrityError`` (``check="json"``) unless it is ``{"records":
    [object…], …}``; (``check="size"``) for more than ``max_records`` records."""
    records = answer.get("records") if isinstance(answer, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise IntegrityError('a social answer is {"records": [record…], "truncated": bool}', check="json")
    if len(records) > max_records:
        raise IntegrityError(f"{len(records)} social records in one answer, at most {max_records}", check="size")
    return records


def on_topic(kind: str, subject: str | None, track_id: str, *, about: str | None = None) -> bool:
    """Whether a verified record of ``kind`` about ``subject`` belongs in an answer about
    ``track_id`` (see the module docstring).  For a tombstone, ``about`` is the ``subject``
    of the comment, like or flag it removes, taken from the same answer or from what the
    seeker holds (``None`` when neither has that record, or it is of another kind)."""
    if kind == "tombstone":
        return about is not None and about == track_id
    return kind in TRACK_KINDS and subject == track_id
