"""Search: the library first, then the holders the DHT names, asked in parallel (spec §9).

``search(node, query, timeout=…, on_result=…)`` is the adapter around the pure
``osp.discovery.search`` (``Query``, ``match``, ``Merge``, ``BadPeers``):

1. Local results (the library's intact tracks, ``search_library``) are merged and reported
   at once, before any network I/O.  Then, while the DHT's routing table is empty (a fresh
   engine bootstrapping), the search waits up to ``BOOTSTRAP_WAIT`` s for a first node; with
   none it ends there (``SearchSummary.dht_unreachable`` says why).
2. For each rendezvous key of the query (``Query.keys()``: artist, tags, words) a DHT
   lookup runs concurrently (``Discovery.holder_candidates``), streaming the holders as the
   DHT names them: each new one (deduplicated, not remembered as bad, within the search's
   ``HolderPicker`` caps per IP and per network) is asked at once, not when its lookup ends
   (dead DHT nodes make lookups last seconds), ``GET /osp/v0/search`` over
   ``PeerClient.search`` with a ``PEER_TIMEOUT`` deadline and a ``MAX_RESPONSE_BYTES`` cap.
3. Every record of an answer is verified (``verify_track``) and must ``match`` the query:
   one forged, malformed, oversized or off-topic record drops the peer's whole answer and
   marks the peer bad (``node.bad_peers``) for a while.  Good answers go into the ``Merge``;
   ``on_result`` is called (on the caller's thread) for each new or improved result.
4. With ``trust`` (the default) each result carries its artist's ``trust`` and ``hidden``
   (the listener's quality gate, ``osp.node.trust.ResultJudge``): results rank by a blend
   of match score and trust, and hidden ones are still reported (at most ``query.limit`` of
   them, not counted against the limit), never dropped.
5. The overall ``timeout`` is a hard deadline: lookups and requests still running then are
   abandoned (their clients closed, the pool not joined), so one slow peer never delays
   the answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osp.core.errors import IntegrityError, OspError
from osp.core.settings import is_loopback_host
from osp.discovery.keys import RendezvousKey
from osp.discovery.search import (
    LOCAL,
    MAX_RESULTS_PER_PEER,
    MAX_TOP_PER_PEER,
    PEER_TIMEOUT,
    Merge,
    Query,
    Result,
    holder_network,
    index_keys,
    match,
    query_index_keys,
    search_library,
)
from osp.distribution.peer_client import PeerClient
from osp.node.discovery import BOOTSTRAP_WAIT
from osp.node.trust import ResultJudge
from osp.records.canonical import jcs
from osp.records.track import VerifiedTrack, verify_track

if TYPE_CHECKING:
    from osp.node.core import Node

MAX_PEERS = 64  #: holders asked in one search at most
MAX_CANDIDATES = 2000  #: library rows one search reads at most (the index's candidates, newest first)
PEER_SEARCHES = 2  #: peers' searches (``GET /osp/v0/search``) answered at once; more get 503
PEER_RATE = 10 / 60  #: peers' searches per second one IP address may make, on average
PEER_BURST = 5  #: ... and at once
VERIFIED_CACHE = 4096  #: records remembered as verified (by hash of their bytes)


def record_index_keys(record: bytes) -> list[str]:
    """The library's ``indexer``: hex keys of a stored record (``index_keys``)."""
    parsed = json.loads(record)
    return index_keys(parsed) if isinstance(parsed, dict) else []


class SearchGate:
    """Admission of peers' searches (``GET /osp/v0/search``), so a flood cannot stall the
    node: at most ``concurrent`` run at once, and each client IP has a token bucket of
    ``rate``/s with ``burst`` (at most ``max_ips`` buckets remembered, least recent dropped).

    ``enter(ip)`` returns ``None`` (admitted: call ``leave()`` when done) or the seconds to
    answer in ``Retry-After`` with a 503.  Loopback clients (this machine's own users and
    test networks on 127.0.0.N) skip the per-IP rate, not the concurrency cap.  Clock
    injected (``monotonic``)."""

    def __init__(self, *, concurrent: int = PEER_SEARCHES, rate: float = PEER_RATE, burst: float = PEER_BURST,
                 max_ips: int = 4096, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.concurrent, self.rate, self.burst, self.max_ips = concurrent, rate, burst, max_ips
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._running = 0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # ip -> (tokens, at)

    def enter(self, ip: str) -> int | None:
        with self._lock:
            if is_loopback_host(ip):
                if self._running >= self.concurrent:
                    return 1
                self._running += 1
                return None
            now = self.monotonic()
            tokens, at = self._buckets.pop(ip, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            self._buckets[ip] = (tokens, now)
            while len(self._buckets) > self.max_ips:
                self._buckets.popitem(last=False)
            if tokens < 1:
                return max(1, math.ceil((1 - tokens) / self.rate))
            if self._running >= self.concurrent:
                return 1
            self._buckets[ip] = (tokens - 1, now)
            self._running += 1
            return None

    def leave(self) -> None:
        with self._lock:
            self._running = max(0, self._running - 1)


class VerifiedCache:
    """Records already verified, by SHA-256 of their JCS bytes (bounded LRU, thread-safe):
    the same record from many holders, or in search after search, is verified once."""

    def __init__(self, size: int = VERIFIED_CACHE) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[bytes, VerifiedTrack] = OrderedDict()

    def get(self, digest: bytes) -> VerifiedTrack | None:
        with self._lock:
            track = self._items.get(digest)
            if track is not None:
                self._items.move_to_end(digest)
            return track

    def put(self, digest: bytes, track: VerifiedTrack) -> None:
        with self._lock:
            self._items[digest] = track
            self._items.move_to_end(digest)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class SearchSummary:
    """How a search went (``{"done": …}`` line of ``POST /api/search``, the CLI's last line)."""

    keys: int  #: rendezvous keys looked up on the DHT
    asked: int  #: peers asked
    answered: int  #: peers whose answer was accepted
    bad: int  #: peers dropped as bad (forged, malformed, oversized or off-topic answers)
    results: int  #: distinct verified results
    elapsed: float  #: seconds from start to the end of the search
    first_result_at: float | None  #: seconds from start to the first result, ``None`` if none
    #: why the DHT was not searched (``"no DHT nodes reachable: …"``), ``None`` when it was or is off
    dht_unreachable: str | None = None
    hidden: int = 0  #: results the quality gate hid (reported with ``hidden`` set, not in ``results``)

    def to_json(self) -> dict[str, Any]:
        return {"keys": self.keys, "asked": self.asked, "answered": self.answered, "bad": self.bad,
                "results": self.results, "elapsed": round(self.elapsed, 3),
                "firstResultAt": None if self.first_result_at is None else round(self.first_result_at, 3),
                "dhtUnreachable": self.dht_unreachable, "hidden": self.hidden}


def result_json(result: Result) -> dict[str, Any]:
    """The JSON shape of one result: id, title, artist, artistName, tags, score, holders,
    trust (the artist's, ``null`` when not judged), hidden (``{"why", "by"}`` or ``null``), record."""
    record = result.record
    return {"id": result.track_id, "title": record.get("title"), "artist": record.get("artist"),
            "artistName": record.get("artistName"), "tags": record.get("tags", []),
            "score": round(result.score, 4), "holders": sorted(result.holders), "trust": result.trust,
            "hidden": dict(result.hidden) if result.hidden is not None else None, "record": record}


def local_results(node: Node, query: Query) -> list[tuple[dict[str, Any], bytes]]:
    """The intact library tracks matching ``query``, best first, at most ``query.limit``:
    only the candidates the search index names (``query_index_keys``) are parsed."""
    required, any_of = query_index_keys(query)
    rows = []
    for row in node.library.search_candidates(limit=MAX_CANDIDATES, required=required, any_of=any_of):
        try:  # verified when stored: plain json is enough (and several times faster than strict_loads)
            rows.append((json.loads(row.record), row.record))
        except ValueError:
            continue
    return [(record, raw) for _score, record, raw in search_library(query, rows)]


def peer_answer(node: Node, query: Query) -> bytes:
    """The body of ``GET /osp/v0/search`` (spec §9): ``{"results": [record…], "truncated":
    bool}`` with at most ``min(query.limit, MAX_RESULTS_PER_PEER)`` signed records, best
    first; ``truncated`` when more matched."""
    limit = min(query.limit, MAX_RESULTS_PER_PEER)
    found = local_results(node, dataclasses.replace(query, limit=limit + 1))
    if len(found) <= limit:  # then records known from followed artists' catalogs (verified when stored)
        have = {str(record.get("id")) for record, _raw in found}
        required, any_of = query_index_keys(query)
        known = [(json.loads(k.record), k.record) for k in node.library.known_candidates(required, any_of, limit=1000)
                 if k.id not in have]
        found += [(record, raw) for _score, record, raw in search_library(dataclasses.replace(query, limit=limit + 1),
                                                                         known)]
    body = b",".join(raw for _record, raw in found[:limit])
    return b'{"results":[' + body + b'],"truncated":' + (b"true" if len(found) > limit else b"false") + b"}"


def checked_answer(query: Query, records: Sequence[Any], *, cache: VerifiedCache | None = None,
                   stored: Callable[[str, bytes], bool] = lambda _id, _raw: False) -> list[tuple[dict[str, Any], bytes]]:
    """Verify every record of one peer's answer and check it matches ``query``.

    A record whose JCS bytes hash to one in ``cache`` (verified before: another holder's
    answer, an earlier search), or that ``stored(id, bytes)`` says is byte for byte one our
    library holds, is not verified again; every other one is, and goes into ``cache``.
    Returns ``(record, raw JCS bytes)`` pairs; raises ``IntegrityError`` for the first
    record that is forged or malformed (``verify_track``'s checks), off-topic
    (``check="off-topic"``) or for too many records (``check="size"``)."""
    if len(records) > MAX_RESULTS_PER_PEER:
        raise IntegrityError(f"{len(records)} results, at most {MAX_RESULTS_PER_PEER}", check="size")
    out = []
    for record in records:
        track = _verified(record, cache, stored)
        if match(query, track.record) is None:
            raise IntegrityError(f"the record {track.id} does not match the query", check="off-topic")
        out.append((track.record, track.to_json()))
    return out


def _verified(record: Any, cache: VerifiedCache | None,
              stored: Callable[[str, bytes], bool]) -> VerifiedTrack:
    try:
        raw = jcs(record)
    except Exception:
        return verify_track(record)  # not JSON-able as is: verify_track says why
    digest = hashlib.sha256(raw).digest()
    known = cache.get(digest) if cache is not None else None
    if known is not None:
        return known
    track_id = record.get("id") if isinstance(record, dict) else None
    if isinstance(track_id, str) and stored(track_id, raw):
        track = VerifiedTrack(record)  # byte for byte what was verified when it was stored
    else:
        track = verify_track(record)
    if cache is not None:
        cache.put(digest, track)
    return track


def search(node: Node, query: Query, *, timeout: float,
           on_result: Callable[[Result], None] = lambda _r: None,
           monotonic: Callable[[], float] = time.monotonic, trust: bool = True) -> SearchSummary:
    """Search the library, then the DHT, for ``query``; at most ``timeout`` seconds in all.

    ``on_result`` runs on the calling thread for each new or improved result, local ones
    first, for at most ``query.limit`` distinct results: a peer's network places at most
    ``MAX_TOP_PER_PEER`` of them while the search runs (the rest are held and streamed at
    the end, best first, if the limit is not reached).  Results from our library and by
    artists we follow are ``trusted`` and rank first.  Holders are picked over the whole
    search (``Discovery.picker``: two per IP, four per network, round-robin).  Never raises
    ``OspError`` for what peers do (a peer's failure only counts in the summary); the DHT
    part is skipped when the engine is not running or the DHT is off.  ``trust``: judge
    and rank results by the listener's web of trust (step 4 of the module docstring)."""
    start = monotonic()
    deadline = start + timeout
    judge = ResultJudge(node.trust.view(), node.trust.gate()) if trust else None
    merge = Merge(query, followed=[f.did for f in node.library.follows()],
                  rank=judge.rank_key if judge is not None else None)
    first: list[float] = []
    streamed: set[str] = set()
    hidden: set[str] = set()
    placed: dict[str, int] = {}

    def stream(r: Result) -> None:
        if not first:
            first.append(monotonic() - start)
        on_result(judge.judged(r) if judge is not None else r)

    def report(results: list[Result]) -> None:
        for r in sorted(results, key=merge.rank):
            if r.track_id in streamed or r.track_id in hidden:
                stream(r)  # a new holder for a result already shown
                continue
            if judge is not None and judge.is_hidden(r):
                if len(hidden) < query.limit:  # shown as hidden, not counted against the limit
                    hidden.add(r.track_id)
                    stream(r)
                continue
            if len(streamed) >= query.limit:
                continue
            nets = {holder_network(h) for h in r.holders if h != LOCAL}
            if r.trusted or not nets or any(placed.get(n, 0) < MAX_TOP_PER_PEER for n in nets):
                streamed.add(r.track_id)
                for n in nets:
                    placed[n] = placed.get(n, 0) + 1
                stream(r)

    def summary(keys: int, asked: int, answered: int, bad: int, unreachable: str | None = None) -> SearchSummary:
        for r in merge.results():  # held back by the per-peer cap: after the others, up to the limit
            if len(streamed) >= query.limit:
                break
            if r.track_id not in streamed and r.track_id not in hidden:
                if judge is not None and judge.is_hidden(r):
                    continue  # over the cap of hidden results (they rank last)
                streamed.add(r.track_id)
                stream(r)
        return SearchSummary(keys, asked, answered, bad, len(streamed), monotonic() - start,
                             first[0] if first else None, unreachable, len(hidden))

    report(merge.add(LOCAL, local_results(node, query)))
    keys = query.keys() if node.engine is not None and node.settings.dht else []
    wait = min(BOOTSTRAP_WAIT, max(0.0, deadline - monotonic()))
    if keys and not node.discovery.wait_for_nodes(wait):
        return summary(0, 0, 0, 0, node.discovery.unreachable(wait))
    if not keys:
        return summary(0, 0, 0, 0)

    events: queue.Queue[tuple[str, str, Any]] = queue.Queue()
    clients: list[PeerClient] = []
    lock = threading.Lock()
    picker = node.discovery.picker(MAX_PEERS)  # caps per IP and per network over the whole search
    pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="osp-search")
    pending = [0]  # lookups and requests not finished (changed on the caller's thread only)
    cache: VerifiedCache = node.verified_records
    stored = node.library.is_stored_record

    def lookup(key: RendezvousKey) -> None:
        def streamed(batch: list[tuple[str, str, int]]) -> None:  # the alert thread: never blocks
            events.put(("candidates", key.hex, batch))

        try:
            found = node.discovery.holder_candidates(key, max(0.1, deadline - monotonic()), on_candidates=streamed)
        except OspError:
            found = []
        events.put(("holders", key.hex, found))

    def ask(url: str) -> None:
        try:
            left = deadline - monotonic()
            if left <= 0:
                raise OspError("the search deadline passed")
            client = PeerClient(url, allow_private=node.settings.allow_private_peers,
                                deadline=min(PEER_TIMEOUT, left), timeout=min(PEER_TIMEOUT, left))
            with lock:
                clients.append(client)
            with client:
                records = client.search(query.params())
            events.put(("answer", url, checked_answer(query, records, cache=cache, stored=stored)))
        except IntegrityError as exc:
            events.put(("bad", url, exc.message))
        except OspError:
            events.put(("failed", url, None))
        except Exception:  # a client bug must not hang the search
            events.put(("failed", url, None))

    answered = bad = 0
    try:
        for key in keys:
            pool.submit(lookup, key)
            pending[0] += 1
        while pending[0] > 0:
            left = deadline - monotonic()
            if left <= 0:
                break
            try:
                kind, source, payload = events.get(timeout=left)
            except queue.Empty:
                break
            if kind != "candidates":  # streamed holders: their lookup still runs (its "holders" ends it)
                pending[0] -= 1
            if kind in ("candidates", "holders"):  # each new holder is asked at once; the picker drops repeats
                fresh = [c for c in payload if not node.bad_peers.is_bad(c[0])]
                for url in picker.pick(fresh):
                    pool.submit(ask, url)
                    pending[0] += 1
            elif kind == "answer":
                try:
                    added = merge.add(source, payload)
                except IntegrityError as exc:  # off-topic: Merge checks again
                    bad += 1
                    node.bad_peers.mark(source, exc.message)
                    continue
                answered += 1
                report(added)
            elif kind == "bad":
                bad += 1
                node.bad_peers.mark(source, payload)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        with lock:
            for c in clients:
                c.close()  # a request still running ends at once; its thread is never joined
    return summary(len(keys), len(picker.picked), answered, bad)
