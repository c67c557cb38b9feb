"""Web of trust benchmarks (issue 11): computing trust, and what trust costs a search.

    .venv/bin/python bench/trust.py [--sizes 10000,100000] [--runs 3]

1. **Trust computation** (``osp.social.trust``) for 10,000 and 100,000 identities in a
   synthetic social graph shaped like real follow graphs: every identity follows 8 ring
   neighbours (Watts–Strogatz, 20 % rewired) and 7 identities drawn by popularity (Zipf,
   a heavy-tailed in-degree), and endorses 3 of its follows: out-degree 15, 18 edges per
   identity.  The listener is identity 0; 1 % of identities flag someone.  Figures: graph
   build from ``(source, kind, target)`` strings, personalized PageRank to L1 < 1e-9
   (iterations, residual), and the whole ``compute`` (median of ``--runs``).
   **Baseline** (same run): the same number of bare ``csr @ x`` sparse products, the
   floor any power iteration pays.  Then the node's whole path, ``TrustService.refresh``:
   the same graph read from a real library (rows of the ``social`` table, inserted with
   SQL: ``edges()`` reads only their columns) and computed.
2. **Search ranking overhead**: ``osp.node.search.search`` over a real library of 400
   signed tracks matching the query, by 100 artists embedded in a 10,000-identity trust
   graph (10 of them flagged by the listener, 40 outside the web of trust), trust on
   (judge every result, blend, hidden last) vs off, with the gate's threshold off (only
   flags hide) and at 1e-6 (the unknown are hidden too), median of 20 each;
   and the pure merge of 1,000 results from 20 peers (``Merge.add`` + ``results()``).

Bounded: under a minute on two cores at the default sizes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from osp.core.settings import Settings  # noqa: E402
from osp.discovery.search import Merge, Query  # noqa: E402
from osp.identity.keys import SigningKey  # noqa: E402
from osp.library.store import FileRow  # noqa: E402
from osp.node.core import Node  # noqa: E402
from osp.node.search import search  # noqa: E402
from osp.node.trust import ResultJudge, version_of  # noqa: E402
from osp.records.track import build_track, sign_track, verify_track  # noqa: E402
from osp.social.gate import GateSettings  # noqa: E402
from osp.social.trust import FlagMark, TrustGraph, compute  # noqa: E402


def median(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def synthetic_edges(n: int, seed: int = 11) -> list[tuple[str, str, str]]:
    """``(source, kind, target)`` of the module docstring's graph over ``d0`` … ``d{n-1}``."""
    rng = np.random.default_rng(seed)
    ring = (np.arange(n)[:, None] + np.array([1, 2, 3, 4, -1, -2, -3, -4])[None, :]) % n
    rewire = rng.random(ring.shape) < 0.2
    ring[rewire] = rng.integers(0, n, int(rewire.sum()))
    popular = (rng.zipf(1.6, size=(n, 7)) - 1) % n
    follows = np.concatenate([ring, popular], axis=1)
    endorse = follows[np.arange(n)[:, None], rng.integers(0, follows.shape[1], size=(n, 3))]
    ids = [f"d{i}" for i in range(n)]
    edges = [(ids[s], "follow", ids[t]) for s in range(n) for t in follows[s]]
    edges += [(ids[s], "endorsement", ids[t]) for s in range(n) for t in endorse[s]]
    return edges


def build(n: int, edges: list[tuple[str, str, str]]) -> TrustGraph:
    g = TrustGraph("d0")
    g.edges(edges)
    rng = np.random.default_rng(5)
    for f in rng.integers(0, n, n // 100):
        target = int(rng.integers(0, n))
        g.flag(FlagMark(f"d{f}", f"d{target}", f"d{target}", "spam"))
    return g


def trust_computation(sizes: list[int], runs: int) -> None:
    print("1. trust computation (personalized PageRank, alpha 0.15, L1 tolerance 1e-9)")
    for n in sizes:
        edges = synthetic_edges(n)
        build_s, graph = median(lambda: build(n, edges), runs)  # noqa: B023
        total_s, scores = median(lambda: compute(graph), runs)  # noqa: B023
        src, dst, _kind = graph.arrays()
        matrix = sp.csr_matrix((np.ones(src.size), (dst, src)), shape=(graph.ids.__len__(),) * 2)
        x = np.full(matrix.shape[0], 1.0 / matrix.shape[0])

        def products(x: np.ndarray = x, matrix: sp.csr_matrix = matrix, k: int = scores.iterations) -> None:
            y = x
            for _ in range(k):
                y = matrix @ y

        base_s, _ = median(products, runs)
        print(f"   {n:>7,} identities, {src.size:>9,} edges: build {build_s:6.3f} s, compute {total_s:6.3f} s "
              f"({scores.iterations} iterations, residual {scores.residual:.1e}, converged {scores.converged}); "
              f"build + compute {build_s + total_s:6.3f} s")
        print(f"   {'':>7}  baseline {scores.iterations} bare sparse products {base_s:6.3f} s → compute is "
              f"{total_s / base_s:4.1f}× the floor")
        from_library(n, edges)


def from_library(n: int, edges: list[tuple[str, str, str]]) -> None:
    """``TrustService.refresh`` over a library holding ``edges`` as social rows."""
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(Settings(data_dir=Path(tmp)))
        try:
            node.library.set_meta("did", "d0")
            rows = [(f"osp:{kind}:b{i:020d}", kind, src, dst, "2026-12-03T00:00:00Z", b"{}", "peer", 0.0)
                    for i, (src, kind, dst) in enumerate(edges)]
            with node.library.transaction() as db:
                db.executemany("INSERT INTO social (id, kind, author, subject, created, record, origin, received) "
                               "VALUES (?,?,?,?,?,?,?,?)", rows)
            seconds, scores = median(node.trust.refresh, 1)
            print(f"   {'':>7}  from the library (TrustService.refresh, {len(rows):,} social rows): {seconds:6.3f} s "
                  f"({scores.size:,} identities)")
        finally:
            node.close()


def signed_tracks(count: int, artists: list[SigningKey]) -> list[Any]:
    out = []
    for i in range(count):
        key = artists[i % len(artists)]
        fields = {"title": f"Glacier Drift {i}", "artist": key.did, "artistName": f"Artist {i % len(artists)}",
                  "duration": 180.0, "format": "audio/ogg",
                  "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "cidProfile": "unixfs-v1-2025",
                  "size": 2300248, "torrent": f"magnet:?xt=urn:btih:{i:040x}&dn=x.ogg&xl=2300248",
                  "released": "2026-11-21", "license": "CC0-1.0", "tags": ["ambient"]}
        out.append(verify_track(sign_track(build_track(fields), key, "2026-11-21T12:00:00Z")))
    return out


def search_overhead(runs: int) -> None:
    print("2. search ranking overhead, trust on vs off")
    artists = [SigningKey.from_seed(i.to_bytes(2, "big") * 16) for i in range(100)]
    tracks = signed_tracks(400, artists)
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(Settings(data_dir=Path(tmp)))
        try:
            for t in tracks:
                node.library.add_track(t, file=FileRow(t.record["cid"], "media/x.ogg", 2300248, "unixfs-v1-2025"),
                                       blocks=[], infohash=t.record["torrent"][20:60], metainfo=b"de", origin="fetched")
            n = 10_000
            edges = synthetic_edges(n)
            edges += [(f"d{(i * 97) % n}", "endorsement", a.did) for i, a in enumerate(artists[:60])]
            graph = build(n, edges)
            for a in artists[60:70]:  # ten artists flagged by the listener: their tracks are hidden
                graph.flag(FlagMark("d0", a.did, a.did, "spam"))
            scores = compute(graph)
            # the bench's graph stands in for the library's: cached as if computed from it
            node.trust._scores, node.trust._version = scores, version_of(node)
            query = Query.parse(["glacier"], limit=400)
            off_s, off = median(lambda: search(node, query, timeout=10, trust=False, on_result=lambda r: None), runs)
            for threshold in (0.0, 1e-6):
                node.trust._gate = GateSettings(threshold=threshold)
                on_s, on = median(lambda: search(node, query, timeout=10, trust=True,  # noqa: B023
                                                 on_result=lambda r: None), runs)
                print(f"   library search, 400 results, gate threshold {threshold:g}: off {off_s * 1000:6.1f} ms, "
                      f"on {on_s * 1000:6.1f} ms ({(on_s - off_s) * 1000:+.1f} ms, {on_s / off_s:.2f}×); "
                      f"on: {on.results} shown, {on.hidden} hidden (off: {off.results} shown)")
        finally:
            node.close()
    records = [(t.record, t.to_json()) for t in tracks]
    batches = [records[i::20] for i in range(20)]
    query = Query.parse(["glacier"], limit=1000)
    more = [(dict(r, id=r["id"][:-4] + f"{j:04d}"[-4:]), raw) for j, (r, raw) in enumerate(records * 2)]
    batches = [b + more[i::20] for i, b in enumerate(batches)]

    def merged(judge: ResultJudge | None) -> int:
        m = Merge(query, rank=judge.rank_key if judge else None)
        for i, batch in enumerate(batches):
            m.add(f"http://10.0.{i}.1:8787", batch)
        out = m.results()
        if judge is not None:
            out = [judge.judged(r) for r in out]
        return len(out)

    gate = GateSettings(threshold=1e-6)
    off_s, count = median(lambda: merged(None), runs)
    on_s, _ = median(lambda: merged(ResultJudge(scores, gate)), runs)
    print(f"   pure merge + rank of {count} results from 20 peers: off {off_s * 1000:6.1f} ms, on {on_s * 1000:6.1f} ms "
          f"({on_s / off_s:.2f}×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="identity counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs per trust figure (medians)")
    args = parser.parse_args()
    trust_computation([int(s) for s in args.sizes.split(",")], args.runs)
    search_overhead(20)


if __name__ == "__main__":
    main()
