"""Search: the library first, then the holders the DHT names, asked in parallel (spec §9).

``search(node, query, timeout=…, on_result=…)`` is the adapter around the pure
``osp.discovery.search`` (``Query``, ``match``, ``Merge``, ``BadPeers``):

1. Local results (the library's intact tracks, ``search_library``) are merged and reported
   at once, before any network I/O.  Then, while the DHT's routing table is empty (a fresh
   engine bootstrapping), the search waits up to ``BOOTSTRAP_WAIT`` s for a first node; with
   none it ends there (``SearchSummary.dht_unreachable`` says why).
2. For each rendezvous key of the query (``Query.keys()``: artist, tags, words) a DHT
   lookup runs concurrently (``Discovery.holders``); each new holder (deduplicated, not
   remembered as bad) is asked ``GET /osp/v0/search`` over ``PeerClient.search`` with a
   ``PEER_TIMEOUT`` deadline and a ``MAX_RESPONSE_BYTES`` cap.
3. Every record of an answer is verified (``verify_track``) and must ``match`` the query:
   one forged, malformed, oversized or off-topic record drops the peer's whole answer and
   marks the peer bad (``node.bad_peers``) for a while.  Good answers go into the ``Merge``;
   ``on_result`` is called (on the caller's thread) for each new or improved result.
4. The overall ``timeout`` is a hard deadline: lookups and requests still running then are
   abandoned (their clients closed, the pool not joined), so one slow peer never delays
   the answer.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osp.core.errors import IntegrityError, OspError
from osp.discovery.keys import RendezvousKey
from osp.discovery.search import LOCAL, MAX_RESULTS_PER_PEER, PEER_TIMEOUT, Merge, Query, Result, match, search_library
from osp.distribution.peer_client import PeerClient
from osp.node.discovery import BOOTSTRAP_WAIT
from osp.records.canonical import strict_loads
from osp.records.track import verify_track

if TYPE_CHECKING:
    from osp.node.core import Node

MAX_PEERS = 64  #: holders asked in one search at most


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

    def to_json(self) -> dict[str, Any]:
        return {"keys": self.keys, "asked": self.asked, "answered": self.answered, "bad": self.bad,
                "results": self.results, "elapsed": round(self.elapsed, 3),
                "firstResultAt": None if self.first_result_at is None else round(self.first_result_at, 3),
                "dhtUnreachable": self.dht_unreachable}


def result_json(result: Result) -> dict[str, Any]:
    """The JSON shape of one result: id, title, artist, artistName, tags, score, holders, record."""
    record = result.record
    return {"id": result.track_id, "title": record.get("title"), "artist": record.get("artist"),
            "artistName": record.get("artistName"), "tags": record.get("tags", []),
            "score": round(result.score, 4), "holders": sorted(result.holders), "record": record}


def local_results(node: Node, query: Query) -> list[tuple[dict[str, Any], bytes]]:
    """The intact library tracks matching ``query`` (narrowed by artist in SQL), best
    first, at most ``query.limit``."""
    rows = []
    for row in node.library.search_candidates(query.artist):
        try:
            rows.append((strict_loads(row.record), row.record))
        except OspError:
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
        known = [(strict_loads(k.record), k.record) for k in node.library.known_records(query.artist, limit=1000)
                 if k.id not in have]
        found += [(record, raw) for _score, record, raw in search_library(dataclasses.replace(query, limit=limit + 1),
                                                                         known)]
    body = b",".join(raw for _record, raw in found[:limit])
    return b'{"results":[' + body + b'],"truncated":' + (b"true" if len(found) > limit else b"false") + b"}"


def checked_answer(query: Query, records: Sequence[Any]) -> list[tuple[dict[str, Any], bytes]]:
    """Verify every record of one peer's answer and check it matches ``query``.

    Returns ``(record, raw JCS bytes)`` pairs; raises ``IntegrityError`` for the first
    record that is forged or malformed (``verify_track``'s checks), off-topic
    (``check="off-topic"``) or for too many records (``check="size"``)."""
    if len(records) > MAX_RESULTS_PER_PEER:
        raise IntegrityError(f"{len(records)} results, at most {MAX_RESULTS_PER_PEER}", check="size")
    out = []
    for record in records:
        track = verify_track(record)
        if match(query, track.record) is None:
            raise IntegrityError(f"the record {track.id} does not match the query", check="off-topic")
        out.append((track.record, track.to_json()))
    return out


def search(node: Node, query: Query, *, timeout: float,
           on_result: Callable[[Result], None] = lambda _r: None,
           monotonic: Callable[[], float] = time.monotonic) -> SearchSummary:
    """Search the library, then the DHT, for ``query``; at most ``timeout`` seconds in all.

    ``on_result`` runs on the calling thread for each new or improved result, local ones
    first.  Never raises ``OspError`` for what peers do (a peer's failure only counts in the
    summary); the DHT part is skipped when the engine is not running or the DHT is off."""
    start = monotonic()
    deadline = start + timeout
    merge = Merge(query)
    first: list[float] = []

    def report(results: list[Result]) -> None:
        for r in results:
            if not first:
                first.append(monotonic() - start)
            on_result(r)

    report(merge.add(LOCAL, local_results(node, query)))
    keys = query.keys() if node.engine is not None and node.settings.dht else []
    wait = min(BOOTSTRAP_WAIT, max(0.0, deadline - monotonic()))
    if keys and not node.discovery.wait_for_nodes(wait):
        return SearchSummary(0, 0, 0, 0, merge.count, monotonic() - start, first[0] if first else None,
                             node.discovery.unreachable(wait))
    if not keys:
        return SearchSummary(0, 0, 0, 0, merge.count, monotonic() - start, first[0] if first else None)

    events: queue.Queue[tuple[str, str, Any]] = queue.Queue()
    clients: list[PeerClient] = []
    lock = threading.Lock()
    asked: set[str] = set()
    pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="osp-search")
    pending = [0]  # lookups and requests not finished (changed on the caller's thread only)

    def lookup(key: RendezvousKey) -> None:
        try:
            found = node.discovery.holders(key, max(0.1, deadline - monotonic()))
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
            events.put(("answer", url, checked_answer(query, records)))
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
            pending[0] -= 1
            if kind == "holders":
                for url in payload:
                    if url in asked or node.bad_peers.is_bad(url) or len(asked) >= MAX_PEERS:
                        continue
                    asked.add(url)
                    pool.submit(ask, url)
                    pending[0] += 1
            elif kind == "answer":
                answered += 1
                report(merge.add(source, payload))
            elif kind == "bad":
                bad += 1
                node.bad_peers.mark(source, payload)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        with lock:
            for c in clients:
                c.close()  # a request still running ends at once; its thread is never joined
    return SearchSummary(len(keys), len(asked), answered, bad, merge.count, monotonic() - start,
                         first[0] if first else None)
