"""Remix lineage costs (issue 10): finding a track's children among the records a node
knows, and walking a full family tree.

* children lookup: the search index's ``parent`` keys (``search_keys``, what
  ``osp lineage`` and ``GET /osp/v0/search?parent=`` use) against the baseline a node
  without the index would run, SQLite ``json_each`` over every stored record's
  ``provenance.parents``; libraries of 10,000 and 50,000 known records, 1 in 10 a remix;
* tree walk: ``family_tree`` over a 256-track family (the node cap) with in-memory
  callbacks: the pure part's cost, without any lookup.

Bounded (well under 2 minutes on 2 busy cores); prints figures and ratios.  Run:
``.venv/bin/python bench/lineage.py``.  Records are unsigned synthetic JSON (the
lookups never verify: records are verified when stored).
"""

from __future__ import annotations

import base64
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from osp.discovery.keys import rendezvous_key
from osp.library.store import Library
from osp.node.search import record_index_keys
from osp.provenance.lineage import family_tree, walk
from osp.records.parents import names_parent

SIZES = (10_000, 50_000)
LOOKUPS = 30
ORIGINALS = 500  #: distinct parents the remixes name


def tid(n: int) -> str:
    digest = base64.b32encode(hashlib.sha256(str(n).encode()).digest()).decode().lower().rstrip("=")
    return "osp:track:bagaaiera" + digest


def record(n: int) -> bytes:
    rec: dict[str, Any] = {"id": tid(n), "title": f"Track {n}", "artist": "did:key:z6Mkbench",
                           "artistName": "Bench", "tags": ["bench"], "released": "2026-01-01"}
    if n % 10 == 0 and n >= ORIGINALS:
        rec["provenance"] = {"parents": [{"id": tid(n % ORIGINALS), "relation": "remix"}]}
    return json.dumps(rec, separators=(",", ":")).encode()


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of ``fn()``."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def children_lookup(size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(Path(tmp) / "library.sqlite3", indexer=record_index_keys)
        rows = [(tid(n), "did:key:z6Mkbench", record(n), "catalog:bench", float(n)) for n in range(size)]
        with lib.transaction() as db:
            db.executemany("INSERT INTO records VALUES (?,?,?,?,?)", rows)
        start = time.perf_counter()
        lib.index_pending()
        index_s = time.perf_counter() - start
        parents = [tid(10 * k) for k in range(LOOKUPS)]  # originals that remixes name
        expected = size // 10 // ORIGINALS  # remixes per original, about

        def indexed() -> None:
            for p in parents:
                found = [k for k in lib.known_candidates([rendezvous_key("parent", p).hex], limit=64)
                         if names_parent(json.loads(k.record), p)]
                assert len(found) >= expected - 1, (len(found), expected)

        def scan() -> None:
            for p in parents:
                found = lib._all("SELECT records.id FROM records, json_each(CAST(records.record AS TEXT), "
                                 "'$.provenance.parents') AS p WHERE json_extract(p.value, '$.id') = ? "
                                 "OR p.value = ? LIMIT 64", (p, p))
                assert len(found) >= expected - 1, (len(found), expected)

        fast = timed(indexed, 3) / len(parents)
        slow = timed(scan, 1) / len(parents)
        lib.close()
    print(f"children of one track among {size:>6,} known records: index {fast:7.3f} ms, "
          f"json_each scan {slow:8.2f} ms (×{slow / fast:,.0f}); indexing all records {index_s:.1f} s")


def tree_walk() -> None:
    # a root with 15 children, each with 16 children of its own (256 entries with the root), and
    # a 3-level ancestry: the node cap reached
    records: dict[str, dict[str, Any]] = {}

    def add(n: int, *parents: int) -> None:
        records[tid(n)] = {"id": tid(n), "title": f"T{n}", "released": "2026-01-01",
                           "provenance": {"parents": [tid(p) for p in parents]}}

    for n in range(1, 4):
        add(1000 + n, 1000 + n + 1)
    add(1004)
    add(0, 1001)
    for c in range(1, 16):
        add(c, 0)
        for g in range(16):
            add(100 + c * 16 + g, c)
    kids: dict[str, list[dict[str, Any]]] = {}
    for rec in records.values():
        for p in rec["provenance"]["parents"]:
            kids.setdefault(p, []).append(rec)

    def resolve(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        return {i: records.get(i) for i in ids}

    def children(ids: Sequence[str]) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        return {i: kids.get(i, []) for i in ids}

    tree = family_tree(tid(0), resolve, children)
    ms = timed(lambda: family_tree(tid(0), resolve, children), 20)
    print(f"family tree walk (pure, {len(walk(tree))} entries, truncated={tree['truncated']}): {ms:.2f} ms")


def main() -> None:
    tree_walk()
    for size in SIZES:
        children_lookup(size)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
