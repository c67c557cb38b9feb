"""Bulk import and publish overhead (issue 10): figures and ratios measured in the same run.

    .venv/bin/python bench/import.py [--quick]

1. Bulk import throughput in tracks per minute: 50 short files (10 s MP3s with an embedded
   cover and generator tags) and 10 full tracks (3–5 min Ogg Vorbis), with ``osp import``
   offline and through a running ``osp node``; then a re-run (everything skipped).
2. Publish overhead: ``Node.publish`` of a real track (what ``osp publish FILE`` runs now),
   and the bulk import of that one file (tags, cover, the extra CID pass), against the
   plain pipeline measured in the same run (``publish_file``: probe + CID + torrent + record
   + sign + store).  Target: within 2×.

Real music: Frozen-Bubble's soundtrack (Debian frozen-bubble-data) cut and encoded by
ffmpeg.  Every step is bounded by timeouts; a run takes about a minute.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from osp.content.unixfs import cid_of_file  # noqa: E402
from osp.core.settings import Settings  # noqa: E402
from osp.identity.keys import SigningKey  # noqa: E402
from osp.library.store import Library  # noqa: E402
from osp.node import Node  # noqa: E402
from osp.node.bulk import import_paths  # noqa: E402
from osp.node.publish import TrackMetadata, publish_file  # noqa: E402
from tests.integration.nodes import jsonl, osp, start_node  # noqa: E402

MUSIC_DIR = Path("/usr/share/games/frozen-bubble/snd")
MUSIC = sorted(MUSIC_DIR.glob("frozen-mainzik-*.ogg")) + [MUSIC_DIR / "introzik.ogg"]


def report(name: str, value: str, note: str = "") -> None:
    print(f"  {name:<58} {value:>14}  {note}", flush=True)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


def make_folders(work: Path, shorts: int, fulls: int) -> tuple[Path, Path]:
    short_dir, full_dir = work / "short", work / "full"
    short_dir.mkdir(parents=True)
    full_dir.mkdir()
    cover = work / "cover.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=purple:s=300x300", "-frames:v", "1", str(cover))
    clips = []
    for i, src in enumerate(MUSIC):  # one encode per source; the files are tag variants of these (no re-encode)
        clip = work / f"clip{i}.mp3"
        ffmpeg("-ss", "20", "-t", "10", "-i", str(src), "-c:a", "libmp3lame", "-b:a", "128k", str(clip))
        clips.append(clip)
    for i in range(shorts):
        ffmpeg("-i", str(clips[i % len(clips)]), "-i", str(cover), "-map", "0:a", "-map", "1", "-c", "copy",
               "-disposition:v", "attached_pic", "-metadata", f"title=Short {i:02d}", "-metadata", "artist=Bench",
               "-metadata", "genre=Chiptune", "-metadata", "generator=Suno", "-metadata", f"seed={i}",
               str(short_dir / f"{i:02d}.mp3"))
    for i in range(fulls):  # whole tracks, stream-copied: distinct bytes (title), real length
        src = MUSIC[i % len(MUSIC)]
        ffmpeg("-i", str(src), "-c", "copy", "-metadata", f"title=Full {i:02d}", "-metadata", "artist=Bench",
               str(full_dir / f"{i:02d}.ogg"))
    return short_dir, full_dir


def timed_import(data: Path, folder: Path, expect: int) -> float:
    start = time.perf_counter()
    proc = osp(data, "import", str(folder), "--json", timeout=300)
    seconds = time.perf_counter() - start
    summary = jsonl(proc)[-1]["summary"]
    assert summary["published"] + summary["alreadyPublished"] == expect and summary["refused"] == 0, summary
    return seconds


def throughput(work: Path, short_dir: Path, full_dir: Path, n_short: int, n_full: int) -> None:
    print("1. bulk import throughput (osp import, wall time including the CLI's start)")
    empty = work / "empty"
    empty.mkdir()
    osp(work / "floor", "id", "init")
    start = time.perf_counter()
    osp(work / "floor", "import", str(empty), "--json")
    report("the CLI's floor: osp import of an empty folder", f"{time.perf_counter() - start:8.2f} s")
    size = sum(p.stat().st_size for p in full_dir.iterdir()) / 1e6
    for label, folder, n in (("short 10 s MP3s", short_dir, n_short), (f"full tracks ({size:.0f} MB)", full_dir, n_full)):
        offline = work / f"offline-{folder.name}"
        osp(offline, "id", "init")
        t = timed_import(offline, folder, n)
        report(f"{n} {label}, offline", f"{60 * n / t:8.0f} /min", f"{t:.2f} s")
        again = timed_import(offline, folder, n)
        report(f"{n} {label}, re-run (all skipped, unread)", f"{60 * n / again:8.0f} /min", f"{again:.2f} s")
        data = work / f"running-{folder.name}"
        node = start_node(data, 97)
        try:
            t2 = timed_import(data, folder, n)
        finally:
            node.stop()
        report(f"{n} {label}, through a running node", f"{60 * n / t2:8.0f} /min", f"{t2:.2f} s")


def overhead(work: Path, track: Path, rounds: int) -> None:
    print(f"2. publish of one real track ({track.stat().st_size / 1e6:.1f} MB), best of {rounds}")
    key = SigningKey.generate()

    def plain(i: int) -> float:
        with Library(work / f"plain-{i}" / "library.sqlite3") as lib:
            start = time.perf_counter()
            publish_file(track, TrackMetadata(), key=key, library=lib, media_dir=work / f"plain-{i}" / "media")
            return time.perf_counter() - start

    def node_publish(i: int, bulk: bool) -> float:
        node = Node(Settings(data_dir=work / f"{'bulk' if bulk else 'node'}-{i}", dht=False))
        try:
            node.keystore.create()
            node.signing_key()
            start = time.perf_counter()
            if bulk:
                summary = import_paths(node, [track], TrackMetadata())
                assert summary.published == 1, summary
            else:
                node.publish(track, TrackMetadata())
            return time.perf_counter() - start
        finally:
            node.close()

    def cid_pass() -> float:
        start = time.perf_counter()
        cid_of_file(track)
        return time.perf_counter() - start

    base = min(plain(i) for i in range(rounds))
    now = min(node_publish(i, False) for i in range(rounds))
    bulk = min(node_publish(i, True) for i in range(rounds))
    extra = min(cid_pass() for _ in range(rounds))
    report("plain pipeline (publish_file): baseline", f"{1000 * base:8.1f} ms")
    report("Node.publish (osp publish FILE, issue 10 steps registered)", f"{1000 * now:8.1f} ms",
           f"{now / base:.2f}× baseline (target ≤ 2×)")
    report("bulk import of the file (tags, cover, CID pre-pass)", f"{1000 * bulk:8.1f} ms",
           f"{bulk / base:.2f}× baseline (target ≤ 2×)")
    report("  of which the extra CID pass (skip check)", f"{1000 * extra:8.1f} ms", f"{extra / base:.2f}× baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer files and rounds (CI smoke)")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None or not all(p.exists() for p in MUSIC):
        sys.exit("needs ffmpeg and frozen-bubble-data")
    n_short, n_full, rounds = (10, 3, 1) if args.quick else (50, 10, 3)
    with tempfile.TemporaryDirectory(prefix="osp-bench-import-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        short_dir, full_dir = make_folders(work / "exports", n_short, n_full)
        print(f"folders made in {time.perf_counter() - started:.1f} s")
        throughput(work, short_dir, full_dir, n_short, n_full)
        overhead(work, MUSIC[0], rounds)


if __name__ == "__main__":
    main()
