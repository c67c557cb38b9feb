"""Remix lineage on this node: the adapter around ``osp.provenance.lineage.family_tree``.

``lineage(node, track_id, depth=…, timeout=…)`` walks a track's family tree:

* **records** (``resolve``): the library, then records known from followed artists'
  catalogs, then — with the engine running and the DHT on — the network by id
  (``Node.resolve``: holders under the track key, spec §9.4), the ids of one tree level
  asked in parallel (at most ``RESOLVE_WORKERS`` at once);
* **children** (``children``): the known records naming the id (the search index), then
  a ``parent=`` search (``osp.node.search.search``, spec §9.3) per id of a level, in
  parallel: the library through the search index, then the holders the DHT names under the parent key; every record is verified and must
  name the parent, a peer answering an off-topic record is dropped (``node.bad_peers``).

Everything runs within ``timeout`` seconds: a lookup still running at the deadline is
abandoned and the tree is marked ``partial``.  Without the network (no engine, DHT off)
only the library and known records are read and ``network`` is false.  Every record in
the tree was verified (``verify_track``) here or when it was stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from osp.core.errors import CallerError, OspError
from osp.discovery.search import Query, Result, match, query_index_keys
from osp.node.search import search
from osp.provenance.lineage import MAX_CHILDREN, MAX_DEPTH, Record, family_tree
from osp.records.track import verify_track

if TYPE_CHECKING:
    from osp.node.core import Node

DEFAULT_TIMEOUT = 20.0  #: seconds a lineage walk takes at most, by default
MAX_TIMEOUT = 60.0  #: ... and at most when asked
CHILD_SEARCH_TIMEOUT = 8.0  #: seconds one level's ``parent=`` searches may take
RESOLVE_WORKERS = 8  #: records of one level resolved on the network at once
SEARCH_WORKERS = 4  #: ``parent=`` searches of one level run at once


def check_request(depth: object, timeout: object) -> tuple[int, float]:
    """``(depth, timeout)`` checked: depth an integer 0..``MAX_DEPTH``, timeout a number of
    seconds in (0, ``MAX_TIMEOUT``]; ``CallerError`` otherwise."""
    if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= MAX_DEPTH:
        raise CallerError(f"depth is an integer from 0 to {MAX_DEPTH}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT:
        raise CallerError(f"timeout is a number of seconds, more than 0 and at most {MAX_TIMEOUT:g}")
    return depth, float(timeout)


def lineage(node: Node, track_id: str, *, depth: int = MAX_DEPTH, timeout: float = DEFAULT_TIMEOUT,
            monotonic: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """The family tree of ``track_id`` (``family_tree``'s shape, ``depth`` levels each way)
    plus ``partial`` (a lookup was cut by the deadline: more may exist), ``network``
    (the DHT was asked) and ``elapsed`` (seconds).  ``CallerError`` for a bad id, depth or
    timeout; never raises for what peers do."""
    depth, timeout = check_request(depth, timeout)
    start = monotonic()
    deadline = start + timeout
    network = node.engine is not None and node.settings.dht
    partial = [False]
    unreachable: list[str] = []

    def local(track_id: str) -> Record | None:
        try:
            found = node.local_track(track_id)
            if found is not None:
                return found.record
            known = node.library.known_record(track_id)
            return verify_track(known.record).record if known is not None else None
        except OspError:
            return None

    def resolve(ids: Sequence[str]) -> Mapping[str, Record | None]:
        out: dict[str, Record | None] = {i: local(i) for i in ids}
        remote = [i for i, r in out.items() if r is None]
        if not remote or not network:
            return out
        left = deadline - monotonic()
        if left <= 0:
            partial[0] = True
            return out
        pool = ThreadPoolExecutor(max_workers=min(RESOLVE_WORKERS, len(remote)), thread_name_prefix="osp-lineage")
        futures: dict[Future[Any], str] = {pool.submit(node.resolve, i): i for i in remote}
        try:
            pending = set(futures)
            while pending:
                left = deadline - monotonic()
                if left <= 0:
                    partial[0] = True
                    break
                done, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
                for f in done:
                    try:
                        out[futures[f]] = f.result().record
                    except Exception:  # not found, a bad peer: the entry stays unknown
                        pass
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # a resolve still running ends on its own deadline
        return out

    def search_children(parent: str) -> list[Record]:
        left = min(CHILD_SEARCH_TIMEOUT, deadline - monotonic())
        if left <= 0:
            partial[0] = True
            return []
        query = Query.parse(parent=parent, limit=MAX_CHILDREN)
        found: dict[str, Record] = {}
        for known in node.library.known_candidates(*query_index_keys(query), limit=MAX_CHILDREN):
            try:  # from followed artists' catalogs, verified when stored
                record = json.loads(known.record)
            except ValueError:
                continue
            if isinstance(record, dict) and match(query, record) is not None:
                found[known.id] = record

        def on_result(r: Result) -> None:
            found.setdefault(r.track_id, r.record)

        summary = search(node, query, timeout=left, on_result=on_result,
                         monotonic=monotonic)
        if summary.dht_unreachable:
            unreachable[:] = [summary.dht_unreachable]
        elif summary.keys and summary.elapsed >= left - 0.05:
            partial[0] = True  # the search ran to its deadline: a holder may not have answered
        return list(found.values())

    def children(ids: Sequence[str]) -> Mapping[str, Sequence[Record]]:
        if len(ids) == 1:
            return {ids[0]: search_children(ids[0])}
        with ThreadPoolExecutor(max_workers=min(SEARCH_WORKERS, len(ids)), thread_name_prefix="osp-lineage") as pool:
            return dict(zip(ids, pool.map(search_children, ids), strict=True))  # each bounded by its own timeout

    tree = family_tree(track_id, resolve, children, up=depth, down=depth)
    return tree | {"partial": partial[0] or tree["truncated"], "network": network and not unreachable,
                   "dhtUnreachable": unreachable[0] if unreachable else None,
                   "elapsed": round(monotonic() - start, 3)}
