"""osp-node benchmarks: one command, figures and ratios measured in the same run.

    .venv/bin/python bench/run.py [--quick]

1. CID import throughput vs one plain ``hashlib.sha256`` pass over the same file.
2. Publish of a ~50 MB file (probe + CID + torrent + record + sign + store) vs one sha256 pass.
3. Two ``osp node`` processes on loopback: first 256 KiB through B's ``/stream/`` after
   the record is resolved; a 50 MB download vs two bare libtorrent sessions.
4. A slow seeder (upload capped at 1 MB/s): first 256 KiB and the full download.
5. An idle node with 1,000 tracks: start-up time and resident memory.

Real music: Frozen-Bubble's soundtrack (Debian frozen-bubble-data) decoded to WAV by
ffmpeg.  Every step is bounded by timeouts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.nodes import NodeProc, jsonl, osp, start_node  # noqa: E402

MUSIC = Path("/usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg")
MiB = 1024 * 1024
results: list[tuple[str, str, str]] = []


def report(name: str, value: str, note: str = "") -> None:
    results.append((name, value, note))
    print(f"  {name:<52} {value:>14}  {note}", flush=True)


def sha256_pass(path: Path) -> float:
    start = time.perf_counter()
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return time.perf_counter() - start


def best(fn: Any, n: int = 3) -> float:
    return min(fn() for _ in range(n))


def make_wav(out: Path, seconds: int) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(MUSIC), "-t", str(seconds),
                    "-c:a", "pcm_s16le", str(out)], check=True, timeout=120)
    return out


def bench_cid(work: Path) -> None:
    from osp.content.testdata import chacha_stream
    from osp.content.unixfs import cid_of_file

    big = work / "random-256M.bin"
    with open(big, "wb") as f:
        for chunk in chacha_stream("bench", 256 * MiB):
            f.write(chunk)
    base = best(lambda: sha256_pass(big))
    for profile in ("unixfs-v1-2025", "kubo-cidv1-256k-174", "unixfs-v0-2015"):
        def run(profile: str = profile) -> float:
            start = time.perf_counter()
            cid_of_file(big, profile)
            return time.perf_counter() - start
        t = best(run)
        report(f"CID import {profile} (256 MiB)", f"{256 / t:.0f} MiB/s", f"{base / t:.0%} of sha256 ({256 / base:.0f} MiB/s)")
    big.unlink()


def bench_publish(wav: Path, work: Path) -> None:
    from osp.identity import SigningKey
    from osp.library import Library
    from osp.node.publish import TrackMetadata, publish_file

    base = best(lambda: sha256_pass(wav))
    times = []
    for i in range(3):
        lib_dir = work / f"pub{i}"
        lib = Library(lib_dir / "library.sqlite3")
        start = time.perf_counter()
        result = publish_file(wav, TrackMetadata(title="Bench"), key=SigningKey.generate(), library=lib,
                              media_dir=lib_dir / "media")
        times.append(time.perf_counter() - start)
        lib.close()
        shutil.rmtree(lib_dir)
    t = min(times)
    report(f"publish {wav.stat().st_size / 1e6:.0f} MB WAV (CID+torrent+record+copy)", f"{t * 1000:.0f} ms",
           f"{t / base:.2f}x one sha256 pass ({base * 1000:.0f} ms)")
    from osp.distribution.engine import parse_metainfo

    mi = parse_metainfo(result.metainfo)
    report("its torrent (v1; spec §7.1 piece length)", f"{len(result.metainfo)} B",
           f"{mi.num_pieces} pieces of {mi.piece_length // 1024} KiB")


def first_bytes(node_b: NodeProc, track_id: str, peer: str) -> float:
    """Seconds from the fetch request to the first 256 KiB out of B's /stream/."""
    auth = {"Authorization": f"Bearer {node_b.token}"}
    with httpx.Client(timeout=60, headers=auth) as client:
        start = time.perf_counter()
        client.post(f"{node_b.control}/api/fetch", json={"track": track_id, "peer": peer}).raise_for_status()
        r = client.get(f"{node_b.control}/stream/{track_id}", headers={"Range": "bytes=0-262143"})
        elapsed = time.perf_counter() - start
        assert r.status_code == 206 and len(r.content) == 262144, r.status_code
    return elapsed


def wait_complete(node: NodeProc, track_id: str, timeout: float = 300) -> tuple[float, dict[str, Any]]:
    """Seconds until B reports the transfer complete, and its final state."""
    auth = {"Authorization": f"Bearer {node.token}"}
    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30, headers=auth) as client:
        while time.monotonic() < deadline:
            state = client.get(f"{node.control}/api/transfers/{track_id}").json()
            if state["state"] in ("complete", "failed"):
                assert state["state"] == "complete", state
                return time.perf_counter() - start, state
            time.sleep(0.005)
    raise TimeoutError("download did not finish")


def resolve(node_b: NodeProc, track_id: str, peer: str) -> None:
    osp(node_b.data_dir, "resolve", track_id, "--peer", peer, "--json")


def bench_network(wav: Path, work: Path, slow: bool = True) -> None:
    a = start_node(work / "a", 2)
    try:
        (track,) = jsonl(osp(a.data_dir, "publish", str(wav), "--title", "Bench", "--json", timeout=120))
        # baseline: two bare libtorrent sessions, same torrent, same file, separate processes
        from osp.distribution.engine import with_web_seeds

        torrent = work / "bench.torrent"  # pure BitTorrent: no web seed for the baseline
        torrent.write_bytes(with_web_seeds(httpx.get(f"{a.http}/osp/v0/tracks/{track['id']}/torrent").content, []))
        media = a.data_dir / "media"
        bare_times = []
        for i in range(2):
            seeder = subprocess.Popen([sys.executable, str(ROOT / "bench/bare_libtorrent.py"), "seed", str(torrent),
                                       str(media), "127.0.0.10"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            port = seeder.stdout.readline().strip()  # type: ignore[union-attr]
            leech_dir = work / f"bare{i}"
            leech_dir.mkdir()
            out = subprocess.run([sys.executable, str(ROOT / "bench/bare_libtorrent.py"), "leech", str(torrent),
                                  str(leech_dir), "127.0.0.11", "127.0.0.10", port], capture_output=True, text=True,
                                 timeout=300, check=True)
            seeder.stdin.close()  # type: ignore[union-attr]
            seeder.wait(30)
            bare_times.append(float(out.stdout.strip()))
            shutil.rmtree(leech_dir)
        size = track["record"]["size"]
        bare = min(bare_times)
        report("bare libtorrent, 2 processes, no web seed", f"{size / bare / 1e6:.1f} MB/s", f"{bare:.2f} s for {size / 1e6:.0f} MB")

        download, end_to_end = [], []
        for i in range(3):
            b = start_node(work / f"b{i}", 3)
            try:
                resolve(b, track["id"], a.http)
                t_first = first_bytes(b, track["id"], a.http)
                rest, state = wait_complete(b, track["id"])
                download.append(state["downloadSeconds"])
                end_to_end.append(t_first + rest)
                report(f"osp B /stream/ first 256 KiB (run {i + 1})", f"{t_first * 1000:.0f} ms", "record already resolved")
            finally:
                b.stop()
        t_dl, t_all = min(download), min(end_to_end)
        report("osp node B download phase (libtorrent, 2 nodes)", f"{size / t_dl / 1e6:.1f} MB/s",
               f"{bare / t_dl:.0%} of bare libtorrent ({t_dl:.2f} s)")
        report("osp node B fetch end to end (+torrent, CID verify, store)", f"{size / t_all / 1e6:.1f} MB/s",
               f"{bare / t_all:.0%} of bare libtorrent ({t_all:.2f} s)")
    finally:
        a.stop()

    if not slow:
        return
    slow_node = start_node(work / "a", 2, "--upload-limit", str(1_000_000))
    try:
        b = start_node(work / "b-slow", 4)
        try:
            resolve(b, track["id"], slow_node.http)
            t_first = first_bytes(b, track["id"], slow_node.http)
            total = t_first + wait_complete(b, track["id"], timeout=400)[0]
            report("slow seeder 1 MB/s: first 256 KiB", f"{t_first * 1000:.0f} ms")
            report("slow seeder 1 MB/s: full download", f"{total:.1f} s", f"{size / total / 1e6:.2f} MB/s")
        finally:
            b.stop()
    finally:
        slow_node.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bench_idle(work: Path, count: int) -> None:
    from osp.core.settings import Settings
    from osp.node import Node, TrackMetadata

    data = work / "many"
    node = Node(Settings(data_dir=data))
    node.keystore.create()
    src = work / "tone-src.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(MUSIC), "-t", "1", "-ac", "1", "-ar", "8000",
                    "-c:a", "pcm_s16le", str(src)], check=True, timeout=60)
    base = src.read_bytes()
    start = time.perf_counter()
    for i in range(count):
        f = work / "one.wav"
        f.write_bytes(base[:-8] + i.to_bytes(8, "little"))  # distinct audio, same header
        node.publish(f, TrackMetadata(title=f"Excerpt {i}"))
    report(f"publish {count} short tracks", f"{(time.perf_counter() - start) / count * 1000:.1f} ms/track")
    node.close()
    start = time.perf_counter()
    n = start_node(data, 12, init=False)
    t_start = time.perf_counter() - start
    try:
        time.sleep(5)  # idle: let every torrent settle into seeding
        report(f"idle node with {count} tracks: start", f"{t_start:.2f} s", "until HTTP listeners answer")
        report(f"idle node with {count} tracks: RSS after 5 s", f"{rss_kib(n.proc.pid) / 1024:.0f} MB")
    finally:
        n.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow-seeder run and use 200 idle tracks")
    args = parser.parse_args()
    if not MUSIC.exists() or not shutil.which("ffmpeg"):
        sys.exit("bench needs frozen-bubble-data and ffmpeg: run bash scripts/system-packages.sh test")
    with tempfile.TemporaryDirectory(prefix="osp-bench-") as tmp:
        work = Path(tmp)
        print("osp-node benchmarks (ratios against baselines measured in this run)")
        bench_cid(work)
        wav = make_wav(work / "bench.wav", 290)  # ~51 MB of real music
        bench_publish(wav, work)
        bench_network(wav, work, slow=not args.quick)
        bench_idle(work, 200 if args.quick else 1000)
    print(json.dumps({name: value for name, value, _ in results}))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    main()
