"""Fingerprint benchmarks (issue 10): Chromaprint cost per minute of audio, and lookup time
against 10,000 and 100,000 indexed tracks.

    .venv/bin/python bench/fingerprint.py [--sizes 10000,100000] [--queries 50] [--dir DIR]

1. **Cost** — ``fpcalc -raw`` (``osp.provenance.fingerprint.compute``) on the three real
   frozen-bubble tracks, per minute of audio, against the baseline of a plain
   ``ffmpeg -f null`` decode of the same files (what any analysis must pay at least).
2. **Lookup** — a real library database (migration 9's ``fp_index``, ``WITHOUT ROWID``) of
   N synthetic tracks with random fingerprints of realistic length (2–6 min, ~8 values a
   second: random bits are the worst case for the index, every key is as common as
   another), plus the three real tracks.  Queries go through ``osp.node.fingerprints``
   (``match_refs``: what the publish check and ``GET /osp/v0/match`` run): ``--queries`` 120 s excerpts of
   indexed tracks with 3 % of their bits flipped (a low-bitrate re-encode flips 1–3 %),
   as many unrelated random ones, and a real Opus 24k re-encode of a real track (made by
   ffmpeg here).  Median and p95 in ms; the target is under 50 ms.  Fillers store a 4-byte
   blob instead of their full fingerprint (only the ≤ 16 voted candidates are read: the
   blobs' size does not change a lookup; 100,000 full ones would be 680 MB of disk).

The database of each size is built once and kept in ``--dir`` (default: a temporary
directory, removed at the end) so a second run skips the build.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from osp.library import Library  # noqa: E402
from osp.library import fingerprints as repo  # noqa: E402
from osp.node import fingerprints as nfp  # noqa: E402
from osp.provenance import fingerprint as fp  # noqa: E402

MUSIC = [Path("/usr/share/games/frozen-bubble/snd") / n for n in ("introzik.ogg", "frozen-mainzik-1p.ogg",
                                                                   "frozen-mainzik-2p.ogg")]


def cost() -> None:
    seconds = [float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                     str(p)], capture_output=True, text=True, check=True).stdout) for p in MUSIC]
    minutes = sum(seconds) / 60
    t = time.perf_counter()
    for p in MUSIC:
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(p), "-f", "null", "-"], check=True)
    decode = time.perf_counter() - t
    t = time.perf_counter()
    for p in MUSIC:
        fp.compute(p)
    chroma = time.perf_counter() - t
    print(f"cost: {minutes:.1f} min of real audio; fpcalc {chroma / minutes * 1000:.0f} ms per minute, "
          f"plain ffmpeg decode {decode / minutes * 1000:.0f} ms per minute: {chroma / decode:.2f}x the decode")


def _synthetic(size: int) -> tuple[np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(1)  # the same draws at every run: the kept database stays valid
    return rng.integers(int(120 / fp.ITEM_SECONDS), int(360 / fp.ITEM_SECONDS), size), rng


def build(path: Path, size: int, real: dict[str, fp.Values]) -> dict[int, fp.Values]:
    """The database of ``size`` synthetic tracks (+ the real ones), built unless ``path``
    exists; returns the full prints queries are drawn from (every 100th track's)."""
    fresh = not path.exists()
    lengths, rng = _synthetic(size)
    keep: dict[int, fp.Values] = {}
    packed: list[np.ndarray] = []
    with Library(path) as lib:
        t = time.perf_counter()
        with lib.transaction() as db:
            for i in range(size):
                values = rng.integers(0, 2**32, lengths[i], dtype=np.uint32)
                n = i + 1
                if n % 100 == 1:
                    keep[n] = values
                if not fresh:
                    continue
                blob = fp.to_bytes(values) if n in keep else b"\0\0\0\0"
                db.execute("INSERT INTO fingerprints (n, track_id, fp, seconds, error, at) VALUES (?,?,?,?,NULL,0)",
                           (n, f"osp:track:synthetic{n}", blob, len(values) * fp.ITEM_SECONDS))
                entries = np.array(fp.index_entries(values), dtype=np.int64).reshape(-1, 2)
                packed.append((entries[:, 0] << 32) | (n << 12) | entries[:, 1])  # key | n | pos (< 4096)
            if fresh:
                rows = np.sort(np.concatenate(packed))
                del packed
                db.executemany("INSERT INTO fp_index VALUES (?,?,?)",
                               ((v >> 32, (v >> 12) & 0xFFFFF, v & 0xFFF) for v in rows.tolist()))
        if fresh:
            for name, values in real.items():
                repo.store(lib, f"osp:track:real-{name}", fp.to_bytes(values), len(values) * fp.ITEM_SECONDS,
                           fp.index_entries(values), 0.0, nfp.index_keys)
            print(f"  built {size:,} tracks, {len(rows):,} index rows in {time.perf_counter() - t:.1f} s "
                  f"({path.stat().st_size / 2**20:.0f} MiB)")
    return keep


def lookups(path: Path, keep: dict[int, fp.Values], queries: int, rng: np.random.Generator,
            real_query: fp.Values) -> None:
    with Library(path) as lib:
        refs = list(keep)
        hit_times, miss_times, found = [], [], 0
        for q in range(queries):
            values = keep[refs[q % len(refs)]]
            start = int(rng.integers(0, max(1, len(values) - nfp.MATCH_VALUES)))
            excerpt = values[start:start + nfp.MATCH_VALUES]
            flips = np.packbits(rng.random((len(excerpt), 32)) < 0.03, axis=1, bitorder="little").view("<u4").ravel()
            t = time.perf_counter()
            got = nfp.match_refs(lib, excerpt ^ flips)
            hit_times.append(time.perf_counter() - t)
            found += any(m.ref == refs[q % len(refs)] for _, m in got)
            t = time.perf_counter()
            nfp.match_refs(lib, rng.integers(0, 2**32, nfp.MATCH_VALUES, dtype=np.uint32))
            miss_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        real = [(track_id, m.offset, m.score) for track_id, m in nfp.match_refs(lib, real_query)]
        real_ms = (time.perf_counter() - t) * 1000
    print(f"  lookup of a 120 s excerpt (3 % bits flipped): median {_ms(hit_times, 50)}, p95 {_ms(hit_times, 95)}; "
          f"found {found}/{queries}")
    print(f"  lookup of unrelated audio: median {_ms(miss_times, 50)}, p95 {_ms(miss_times, 95)}")
    print(f"  real Opus 24k re-encode of introzik (whole track): {real_ms:.1f} ms, matched {real}")


def _ms(times: list[float], pct: int) -> str:
    if pct == 50:
        return f"{statistics.median(times) * 1000:.1f} ms"
    return f"{sorted(times)[min(len(times) - 1, int(len(times) * pct / 100))] * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--dir", type=Path, help="keep the databases here (built once)")
    args = ap.parse_args()
    cost()
    work = args.dir or Path(tempfile.mkdtemp(prefix="osp-bench-fp-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        real = {p.stem: fp.compute(p).values for p in MUSIC}
        copy = work / "introzik.opus"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(MUSIC[0]), "-c:a", "libopus", "-b:a", "24k", str(copy)],
                       check=True)
        real_query = fp.compute(copy).values
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"index of {size:,} synthetic tracks + 3 real ones:")
            path = work / f"fp-{size}.sqlite3"
            keep = build(path, size, real)
            lookups(path, keep, args.queries, np.random.default_rng(2), real_query)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
