"""What a node announces on the DHT, and when (spec/osp-v0.1.md §9.2).

Two pure pieces, driven by the node's announcer thread (``osp.node.discovery``):

* ``plan(holdings, cap=…)`` turns the library into the list of distinct announces, in
  priority order, truncated to ``cap``.  Cost grows with *distinct keys*, never with
  tracks × words: 10,000 tracks tagged "ambient" make one ``tag:ambient`` announce.
* ``Scheduler`` spreads those announces in time: a token bucket (``rate`` per second,
  burst ``BURST``) and a per-key re-announce ``interval``.  It never sleeps; the adapter
  asks ``next_deadline()`` and calls ``due(now)`` then.

Budget (§9.2): with ``DEFAULT_RATE`` = 1/3 announce/s and ``ANNOUNCE_INTERVAL`` = 1800 s,
``DEFAULT_CAP`` = 600 keys are each re-announced once per interval at a steady 1/3
announce/s.  One announce is a ``get_peers`` traversal plus ``announce_peer`` to the 8
closest nodes: about 30 DHT messages (requests and replies), so announcing costs about
10 messages/s whatever the library size, leaving room under the 20 messages/s target
for routing-table upkeep and for answering other nodes.  ``bench/`` measures the real
figure.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from osp.core.errors import CallerError
from osp.discovery.keys import MAX_RECORD_KEYS, normalize, record_words, rendezvous_key
from osp.records.parents import parent_ids

ANNOUNCE_INTERVAL = 1800.0  #: seconds between two announces of one key (BEP 5 peers expire after ~30 min)
DEFAULT_RATE = 1 / 3  #: announces per second at most, steady state (≈ 10 DHT messages/s)
DEFAULT_CAP = int(ANNOUNCE_INTERVAL * DEFAULT_RATE)  #: 600 keys: every key once per interval at DEFAULT_RATE
BURST = 32  #: announces the token bucket lets out at once (start-up, a new release)
MESSAGES_PER_ANNOUNCE = 30  #: the estimate behind the budget (get_peers traversal + 8 announce_peer)

Port = Literal["http", "bittorrent"]
_EPS = 1e-9  # float slack: a deadline computed from the bucket must make a token due


@dataclass(frozen=True)
class Holding:
    """One track the node holds: its verified ``record`` (parsed JSON), the torrent's hex
    v1 ``infohash``, whether it is ``mine`` (published by this node's identity) and when it
    was ``last_played`` (unix seconds, 0 if never)."""

    record: Mapping[str, Any]
    infohash: str
    mine: bool
    last_played: float


@dataclass(frozen=True)
class Announce:
    """One DHT announce: the 20-byte ``key``, which of our ports to announce (``http``:
    the peer API, for rendezvous keys; ``bittorrent``: for a torrent's infohash) and a
    ``label`` for logs (``"kind:value"`` or ``"infohash:<hex>"``)."""

    key: bytes
    port: Port
    label: str


def plan(holdings: Iterable[Holding], *, cap: int = DEFAULT_CAP, extra_artists: Sequence[str] = (),
         extra_tracks: Sequence[str] = ()) -> list[Announce]:
    """The announces for ``holdings``: distinct keys in priority order, at most ``cap``.

    Order (spec §9.2): artists (the node's own first, then ``extra_artists`` — followed
    artists whose catalogs we hold — then other artists by number of tracks held); then
    per track (own tracks first, then most recently played, then by id) its track key
    (``http``) and its torrent's infohash (``bittorrent``); then ``extra_tracks`` (tracks
    our own comments, likes and flags are about, spec §10: seekers of a track's social
    records find us under its key); then parents (the track ids
    records name in ``provenance.parents``: where seekers find a track's remixes), then
    tags, each by number of holdings (descending, then by value), at most
    ``MAX_RECORD_KEYS`` − 2 parents per record; then record words (title, artist name:
    keys.record_words) likewise.  Malformed
    holdings (no id or artist, a bad infohash) are skipped.  ``CallerError`` if ``cap`` < 0.
    """
    if cap < 0:
        raise CallerError("the announce cap is >= 0")
    tracks: list[Holding] = []
    own_artists: list[str] = []
    artist_count: Counter[str] = Counter()
    tag_count: Counter[str] = Counter()
    word_count: Counter[str] = Counter()
    parent_count: Counter[str] = Counter()
    for h in holdings:
        track_id, artist = h.record.get("id"), h.record.get("artist")
        if not (isinstance(track_id, str) and track_id and isinstance(artist, str) and artist):
            continue
        tracks.append(h)
        artist_count[artist] += 1
        if h.mine and artist not in own_artists:
            own_artists.append(artist)
        tags = h.record.get("tags")
        if isinstance(tags, list):
            tag_count.update({normalize(t) for t in tags if isinstance(t, str)} - {""})
        word_count.update(record_words(h.record))  # title words, then artist-name words
        parent_count.update(parent_ids(h.record)[: MAX_RECORD_KEYS - 2])

    out: list[Announce] = []
    seen: set[bytes] = set()

    def add(key: bytes, port: Port, label: str) -> bool:
        if key not in seen:
            seen.add(key)
            out.append(Announce(key, port, label))
        return len(out) >= cap

    def add_key(kind: str, value: str, port: Port = "http") -> bool:
        try:
            key = rendezvous_key(kind, value)
        except CallerError:
            return len(out) >= cap
        return add(key.digest, port, key.label)

    if cap == 0:
        return out
    others = sorted(artist_count, key=lambda a: (-artist_count[a], a))
    for artist in [*own_artists, *extra_artists, *others]:
        if add_key("artist", artist):
            return out
    tracks.sort(key=lambda h: (not h.mine, -h.last_played, str(h.record["id"])))
    for h in tracks:
        if add_key("track", str(h.record["id"])):
            return out
        infohash = h.infohash.lower()
        if len(infohash) == 40 and all(c in "0123456789abcdef" for c in infohash):
            if add(bytes.fromhex(infohash), "bittorrent", f"infohash:{infohash}"):
                return out
    for track_id in extra_tracks:
        if add_key("track", track_id):
            return out
    for kind, counts in (("parent", parent_count), ("tag", tag_count), ("word", word_count)):
        for value in sorted(counts, key=lambda v: (-counts[v], v)):
            if add_key(kind, value):
                return out
    return out


@dataclass
class _Entry:
    announce: Announce
    due: float
    order: int


class Scheduler:
    """When each planned key is announced: a sans-IO state machine with an injected clock.

    * ``update(announces, now)``: the plan changed.  Keys new to the plan are due at
      ``now`` (in plan order); keys still planned keep their schedule; keys no longer
      planned are forgotten (never announced again: a deleted track stops being
      announced and its DHT entries expire after ~30 min).
    * ``due(now)``: the announces to make now, at most as many as the token bucket holds
      (tokens accrue at ``rate`` per second up to ``BURST``; the bucket starts full).
      Each returned key is due again ``interval`` seconds later.  Among due keys, the
      earliest due first, then plan order.
    * ``next_deadline()``: when ``due`` will next return something (``None`` if nothing
      is planned), so the adapter waits exactly that long: no busy loop.

    ``CallerError`` if ``interval`` or ``rate`` is not positive.
    """

    def __init__(self, interval: float = ANNOUNCE_INTERVAL, rate: float = DEFAULT_RATE, *, burst: int = BURST) -> None:
        if not (interval > 0 and rate > 0 and burst >= 1) or math.isinf(rate):
            raise CallerError("the announce interval and rate are positive")
        self.interval = float(interval)
        self.rate = float(rate)
        self.burst = float(burst)
        self._tokens = self.burst
        self._refilled: float | None = None
        self._entries: dict[bytes, _Entry] = {}
        self._heap: list[tuple[float, int, bytes]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def _refill(self, now: float) -> None:
        if self._refilled is not None and now > self._refilled:
            self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        if self._refilled is None or now > self._refilled:
            self._refilled = now

    def update(self, announces: Sequence[Announce], now: float) -> None:
        """Replace the plan with ``announces`` (see the class docstring)."""
        old, self._entries = self._entries, {}
        for order, a in enumerate(announces):
            if a.key in self._entries:
                continue
            prev = old.get(a.key)
            self._entries[a.key] = _Entry(a, prev.due if prev else now, order)
        self._heap = [(e.due, e.order, k) for k, e in self._entries.items()]
        heapq.heapify(self._heap)
        self._refill(now)

    def due(self, now: float) -> list[Announce]:
        """Announces to make at ``now``; each is rescheduled ``interval`` later."""
        self._refill(now)
        out: list[Announce] = []
        while self._heap and self._tokens >= 1 - _EPS:
            due, order, key = self._heap[0]
            entry = self._entries.get(key)
            if entry is None or entry.due != due or entry.order != order:
                heapq.heappop(self._heap)  # stale
                continue
            if due > now:
                break
            heapq.heappop(self._heap)
            self._tokens -= 1
            entry.due = now + self.interval
            heapq.heappush(self._heap, (entry.due, entry.order, key))
            out.append(entry.announce)
        return out

    def next_deadline(self) -> float | None:
        """The earliest time ``due`` returns a non-empty list, or ``None`` with no keys."""
        while self._heap:
            due, order, key = self._heap[0]
            entry = self._entries.get(key)
            if entry is not None and entry.due == due and entry.order == order:
                break
            heapq.heappop(self._heap)
        if not self._heap:
            return None
        earliest = self._heap[0][0]
        if self._tokens >= 1 - _EPS or self._refilled is None:
            return earliest
        return max(earliest, self._refilled + (1 - self._tokens) / self.rate)

    def forget(self) -> None:
        """Drop every key (the node stops announcing)."""
        self._entries.clear()
        self._heap.clear()
