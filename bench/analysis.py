"""Audio analysis benchmarks (issue 10): what analysing a track costs, and "more like this".

    .venv/bin/python bench/analysis.py [--runs 3] [--file PATH]

1. **Analysis cost per minute of audio** — ``osp.provenance.analysis.analyse`` on a real
   3-minute track (Debian's frozen-bubble ``introzik.ogg``, Ogg Vorbis, 3:15): wall seconds
   and CPU seconds (this process and its ffmpeg children) per minute of audio, median of
   ``--runs`` after one warm-up (imports, numba's compiled functions); then one run's
   stages (the two decodes, loudness, true peak, tempo, key, vector), and the same file
   twice through ``IsolatedAnalyser`` (the node's worker process: cold, then started).
2. **Baseline** (same run): a plain ``ffmpeg -i FILE -f null -`` decode of the same file.
3. **Similar tracks** — ``SimilarIndex.similar`` over 10,000 and 100,000 stored vectors
   (random unit vectors in a real library's ``analysis`` table): the first query after a
   change (reads every vector from SQLite into the matrix) and the next ones (cached
   matrix: one matrix-vector product and a partial sort), median of 20.

Bounded: about a minute on two cores.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from osp.library.analysis import Analyses  # noqa: E402
from osp.library.store import Library  # noqa: E402
from osp.node.analysis import SimilarIndex  # noqa: E402
from osp.provenance import analysis as A  # noqa: E402
from osp.provenance.analysis_worker import IsolatedAnalyser  # noqa: E402

TRACK = Path("/usr/share/games/frozen-bubble/snd/introzik.ogg")


def cpu() -> float:
    """CPU seconds of this process and its waited-for children (ffmpeg)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s, result) of ``fn()``."""
    c, w = cpu(), time.perf_counter()
    out = fn()
    return time.perf_counter() - w, cpu() - c, out


def analysis_cost(path: Path, runs: int) -> None:
    timed(lambda: A.analyse(path, seconds=20))  # warm-up: imports and numba's cache
    walls, cpus = [], []
    result: A.Analysis | None = None
    for _ in range(runs):
        wall, used, result = timed(lambda: A.analyse(path))
        walls.append(wall)
        cpus.append(used)
    assert result is not None
    minutes = result.duration / 60
    base_wall, base_cpu = [], []
    for _ in range(runs):
        wall, used, _ = timed(lambda: subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f",
                                                      "null", "-"], check=True, timeout=120))
        base_wall.append(wall)
        base_cpu.append(used)
    w, c = statistics.median(walls), statistics.median(cpus)
    bw, bc = statistics.median(base_wall), statistics.median(base_cpu)
    print(f"analysis of {path.name} ({result.duration:.0f} s): {result.bpm} BPM, {result.key_name}, "
          f"{result.loudness} LUFS, {result.true_peak} dBTP")
    print(f"  analysis: {w / minutes:.2f} s wall, {c / minutes:.2f} s CPU per minute of audio "
          f"(median of {runs}: {w:.2f} s wall, {c:.2f} s CPU; min-max wall {min(walls):.2f}-{max(walls):.2f})")
    print(f"  baseline ffmpeg decode: {bw / minutes:.3f} s wall, {bc / minutes:.3f} s CPU per minute "
          f"-> analysis costs {w / bw:.0f}x the wall and {c / bc:.0f}x the CPU of a plain decode")
    worker = IsolatedAnalyser()
    try:
        cold, _, _ = timed(lambda: worker(path))
        warm, _, _ = timed(lambda: worker(path))
    finally:
        worker.close()
    print(f"  in the node's worker process: {warm / minutes:.2f} s wall per minute once started ({warm:.2f} s); "
          f"the first file also pays its start: {cold:.2f} s")
    stereo = A.decode(path, A.LOUDNESS_RATE, None)
    mono = A.decode(path, A.FEATURE_RATE, 1)
    stages = [("decode 48 kHz stereo", lambda: A.decode(path, A.LOUDNESS_RATE, None)),
              ("loudness (pyloudnorm)", lambda: A.integrated_loudness(stereo, A.LOUDNESS_RATE)),
              ("true peak (4x resample_poly)", lambda: A.true_peak(stereo)),
              ("decode 22.05 kHz mono", lambda: A.decode(path, A.FEATURE_RATE, 1)),
              ("tempo (onsets, beats)", lambda: A.tempo(mono, A.FEATURE_RATE)),
              ("key (chroma CQT)", lambda: A.estimate_key(mono, A.FEATURE_RATE)),
              ("vector (MFCC, contrast)", lambda: A.feature_vector(mono, A.FEATURE_RATE, 120.0))]
    print("  stages (one run, wall s per minute of audio):")
    for name, fn in stages:
        wall, used, _ = timed(fn)
        print(f"    {name:30s} {wall / minutes:6.3f} s wall, {used / minutes:6.3f} s CPU")


def similar_queries(counts: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    for n in counts:
        similar_at(n, rng)


def similar_at(n: int, rng: np.random.Generator) -> None:
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "library.db") as lib:
        vectors = rng.standard_normal((n, A.VECTOR_DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with lib.transaction() as db:  # n tracks (sharing one file and torrent) and their analysis rows
            db.execute("INSERT INTO files (cid, path, size, profile) VALUES ('bfile', 'f.ogg', 1, 'p')")
            db.execute("INSERT INTO torrents (infohash, cid, metainfo) VALUES ('00', 'bfile', x'00')")
            db.executemany("INSERT INTO tracks (id, artist, title, cid, infohash, format, duration, size, released, "
                           "record, origin, added_at) VALUES (?, 'did', 't', 'bfile', '00', 'ogg', 1, 1, "
                           "'2026-01-01', x'7b7d', 'fetched', '2026-01-01T00:00:00Z')",
                           [(f"osp:track:bench{i:06d}",) for i in range(n)])
            db.executemany("INSERT INTO analysis (track_id, bpm, key, mode, vector, version, analysed_at) "
                           "VALUES (?,?,?,?,?,?,?)",
                           [(f"osp:track:bench{i:06d}", 120.0, "C", "major", vectors[i].tobytes(),
                             A.ANALYSER_VERSION, float(i)) for i in range(n)])
        analyses = Analyses(lib)
        index = SimilarIndex(analyses)
        first, _, found = timed(lambda: index.similar("osp:track:bench000000", 10))
        times = [timed(lambda i=i: index.similar(f"osp:track:bench{i:06d}", 10))[0] for i in range(1, 21)]
        brute = [timed(lambda: A.similarity(vectors[3].tobytes(), vectors))[0] for _ in range(20)]
        assert len(found) == 10 and found[0][1] >= found[-1][1]
        print(f"similar tracks among {n:,} vectors: first query {first * 1000:.0f} ms (loads the matrix), then "
              f"{statistics.median(times) * 1000:.1f} ms median (cosine alone {statistics.median(brute) * 1000:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file", type=Path, default=TRACK)
    args = parser.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file} is missing (Debian: frozen-bubble-data)")
    analysis_cost(args.file, max(1, args.runs))
    similar_queries((10_000, 100_000))


if __name__ == "__main__":
    main()
