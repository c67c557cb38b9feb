"""Recommendation benchmarks (issue 11): fit and query time of ``osp.social.recommend`` for
10,000 listeners × 100,000 tracks.

    .venv/bin/python bench/recommend.py [--listeners 10000] [--tracks 100000] [--per-listener 50] [--queries 200]

A synthetic, sparse data set of realistic density: each listener likes ``--per-listener``
tracks (one of 50 taste clusters, popular tracks more often, a fifth noise), 2,000 tracks
per cluster, 20,000 artists; the listener of the node has 30 plays.  Figures:

1. **Fit**: building the matrix from ``Signals`` and fitting implicit ALS (32 factors, 15
   iterations) with 1 thread and with every core; baseline (same run): building the
   matrix alone.
2. **Queries** (median and p95 of ``--queries``, after one warm-up): "for you" for the
   node's listener (their row solved again, every item scored, the reasons found), for a
   listener of the model (fitted row), "more like this", and cold-start popularity — the
   baseline (one sparse matrix–vector product); "for you" and "more like this" also with
   10,000 "sounds like" vectors blended in.  The target is under 50 ms.

Bounded: about a minute on two cores at the default sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's own threads; BLAS threads would fight them
os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # on busy cores, spinning OpenMP threads slow the fit 2-3x

import numpy as np  # noqa: E402

from osp.social import recommend as rec  # noqa: E402

ME = "did:key:me"


def data(listeners: int, tracks: int, per_listener: int, seed: int = 1) -> rec.Signals:
    """The synthetic signals (module doc)."""
    rng = np.random.default_rng(seed)
    clusters = max(1, tracks // 2000)
    names = [f"osp:track:t{i:06d}" for i in range(tracks)]
    artists = {n: f"did:key:artist{i % max(1, tracks // 5):05d}" for i, n in enumerate(names)}
    cluster = rng.integers(0, clusters, tracks)
    weight = 1.0 / (np.arange(tracks) + 20.0) ** 0.9
    rng.shuffle(weight)
    members = [np.flatnonzero(cluster == c) for c in range(clusters)]
    cum = [np.cumsum(weight[m]) / weight[m].sum() for m in members]
    everything = np.cumsum(weight) / weight.sum()
    likes = []
    for u in range(listeners):
        c = u % clusters
        own = members[c][np.searchsorted(cum[c], rng.random(int(per_listener * 0.8)))]
        noise = np.searchsorted(everything, rng.random(per_listener - len(own)))
        did = f"did:key:l{u:05d}"
        likes += [(did, names[int(i)]) for i in np.unique(np.concatenate([own, noise]))]
    mine = members[0][np.searchsorted(cum[0], rng.random(30))]
    plays = {names[int(i)]: float(rng.integers(30, 400)) for i in mine}
    return rec.Signals(ME, likes=likes, plays=plays, tracks=artists)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Median and p95 of ``runs`` calls after one warm-up, in ms; and the last result."""
    out = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", type=int, default=10_000)
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--per-listener", type=int, default=50)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    start = time.perf_counter()
    signals = data(args.listeners, args.tracks, args.per_listener)
    print(f"data: {args.listeners:,} listeners × {args.tracks:,} tracks, {len(signals.likes):,} likes "
          f"({time.perf_counter() - start:.1f} s to generate); {os.cpu_count()} cores")

    start = time.perf_counter()
    rec.fit(signals, params=rec.Params(iterations=0))  # the matrix (and an empty ALS): the baseline
    build = time.perf_counter() - start
    fits = {}
    model = None
    for threads in (1, 0):
        start = time.perf_counter()
        model = rec.fit(signals, params=rec.Params(threads=threads))
        fits[threads] = time.perf_counter() - start
    assert model is not None
    print(f"fit: {fits[1]:.2f} s with 1 thread, {fits[0]:.2f} s with every core "
          f"({model.interactions:,} signals, {len(model.items):,} items, {model.item_factors.shape[1]} factors); "
          f"baseline matrix build alone {build:.2f} s ({fits[0] / build:.1f}×)")

    row, seen = rec.listener_row(signals), rec.listener_seen(signals)
    other = next(iter(sorted(model.users)))
    seed_track = next(iter(row))
    rng = np.random.default_rng(2)  # "sounds like" vectors of the tracks analysed here: the listener's and 10,000 more
    analysed = sorted(set(row) | set(rng.choice(model.items, min(10_000, len(model.items)), replace=False).tolist()))
    vectors = rng.standard_normal((len(analysed), 32)).astype(np.float32)
    audio = rec.AudioVectors(analysed, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("for you (listener, row solved again)", lambda: rec.recommend(model, ME, limit=20, row=row, seen=seen)),
        (f"for you + sound ({len(analysed):,} vectors)",
         lambda: rec.recommend(model, ME, limit=20, row=row, seen=seen, audio=audio)),
        ("for you (a listener of the model)", lambda: rec.recommend(model, other, limit=20)),
        ("more like this", lambda: rec.more_like_this(model, seed_track, limit=20)),
        ("more like this + sound", lambda: rec.more_like_this(model, seed_track, limit=20, audio=audio)),
        ("cold start: popularity (baseline)", lambda: rec.popular(model, limit=20, listener=ME, exclude=seen)),
    ]
    results = {}
    for name, fn in cases:
        med, p95, out = timed(fn, args.queries)
        results[name] = med
        n = len(out.tracks) if isinstance(out, rec.Answer) else len(out)
        print(f"query {name}: median {med:.1f} ms, p95 {p95:.1f} ms ({n} results)")
    base = results["cold start: popularity (baseline)"]
    worst = max(results.values())
    listener = results["for you (listener, row solved again)"]
    print(f"ratio: for you / popularity {listener / base:.2f}×; target under 50 ms (slowest query "
          f"{worst:.1f} ms): {'met' if worst < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
