"""Real-link streaming benchmarks (issue 7): first decoded audio over emulated links.

    .venv/bin/python bench/realnet.py [--runs N] [--quick] [--baseline REV] [--skip-swarm]

Every node is a real ``osp node`` process in its own network namespace (``tests/netem``),
its uplink and downlink shaped with ``tc`` to a profile (``lan``, ``home`` 20/2 Mbit/s,
``mobile`` 8/1, ``slow`` 1/0.256).  "First audio" is what a listener feels: from the
play request (``POST /api/fetch``) to the first PCM bytes ``ffmpeg`` decodes from the
listener's ``/stream/`` — seekable, as players open it (it reads the file's tail first).

1. One seeder, one listener, per profile: first audio (Ogg Vorbis and MP3 of the same
   music, ~3 MB each), then a seek to 80 % while the rest downloads (the MP3 with
   ``-fflags +fastseek``: without it ffmpeg reads a CBR MP3 up to the target, see
   ``decode_until_audio``).
2. Three ``home`` seeders named at once (``--peer`` × 3): first audio.
3. A swarm: one ``home`` origin and 20 ``home`` listeners starting the same 5 MB track
   within 10 s: the origin's share of the bytes listeners received, and the 95th
   percentile of their first audio.

Baselines measured in the same run: the decoder alone (ffmpeg on a complete local track
through the same ``/stream/``), and the code of ``--baseline`` (default: main before issue
7: fixed 256 KiB pieces, libtorrent web seeds, no preemption) on the same links, checked
out with ``git archive`` into a temporary directory.  Needs root (namespaces).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.netem.harness import PROFILES, Network, netns_available  # noqa: E402
from tests.netem.nodes import SRC, NetNode, decode_until_audio, first_audio, stream_url  # noqa: E402

MUSIC = Path("/usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg")
BASELINE = "17d9bc0"  #: main before issue 7
results: list[tuple[str, str, str]] = []


def report(name: str, value: str, note: str = "") -> None:
    results.append((name, value, note))
    print(f"  {name:<58} {value:>16}  {note}", flush=True)


failures: list[str] = []


def stats(values: Sequence[float | None]) -> str:
    """``median (min–max)`` in seconds of the runs that worked, and how many did not."""
    ok = [v for v in values if v is not None]
    failed = f", {len(values) - len(ok)} failed" if len(ok) < len(values) else ""
    if not ok:
        return f"- (all {len(values)} failed)"
    return f"{statistics.median(ok):.2f} s ({min(ok):.2f}–{max(ok):.2f}{failed})"


def attempt(what: str, fn: Callable[..., float], *args: Any, **kw: Any) -> float | None:
    """``fn(*args, **kw)``, or ``None`` (and the error kept for the summary) if it raised."""
    try:
        return fn(*args, **kw)
    except Exception as exc:  # noqa: BLE001 - a benchmark run that fails is reported, not fatal
        failures.append(f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}")
        return None


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def make_tracks(work: Path) -> dict[str, Path]:
    """The Ogg original (3.2 MB), an MP3 of its first 3 minutes (2.9 MB) and an MP3 of all
    of it (5.1 MB) for the swarm; 128 kbit/s."""
    mp3, big = work / "track.mp3", work / "swarm.mp3"
    for out, extra in ((mp3, ["-t", "180"]), (big, [])):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(MUSIC), *extra, "-c:a", "libmp3lame", "-b:a", "128k",
                        str(out)], check=True, timeout=120)
    return {"ogg": MUSIC, "mp3": mp3, "swarm": big}


def baseline_src(work: Path, rev: str) -> Path | None:
    """``src/`` of ``rev`` extracted into ``work`` (``None`` if git cannot)."""
    out = work / f"baseline-{rev}"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, timeout=60)
    if archive.returncode != 0:
        print(f"  (no baseline: git archive {rev} failed: {archive.stderr.decode().strip()[:200]})")
        return None
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True, timeout=60)
    return out / "src"


def seek(listener: NetNode, track_id: str, to: float, fast: bool) -> float:
    """A player's seek to ``to`` seconds: a new ffmpeg on the listener's ``/stream/``."""
    return listener.host.run(decode_until_audio, stream_url(listener, track_id), seek=to, timeout=120, fast_seek=fast)


def cancel(node: NetNode, track_id: str) -> None:
    try:
        node.api("POST", "/api/cancel", {"track": track_id})
    except Exception:  # noqa: BLE001 - it may have completed meanwhile
        pass


def one_seeder(work: Path, tracks: dict[str, Path], profile: str, src: Path, label: str, runs: int) -> None:
    """Scenario 1 on ``profile`` with the code in ``src``."""
    with Network() as net:
        sh, lh = net.add(profile), net.add(profile)
        seeder = NetNode.start(sh, work / f"{label}-{profile}-seeder", src=src)
        try:
            published = {fmt: seeder.publish(tracks[fmt], f"{fmt} track") for fmt in ("ogg", "mp3")}
            firsts: dict[str, list[float | None]] = {"ogg": [], "mp3": []}
            seeks: dict[str, list[float | None]] = {"ogg": [], "mp3": []}
            for run in range(runs):
                listener = NetNode.start(lh, work / f"{label}-{profile}-listener{run}", src=src)
                try:
                    for fmt, line in published.items():
                        tid, duration = line["id"], float(line["record"]["duration"])
                        firsts[fmt].append(attempt(f"{label} {profile} {fmt} first audio", first_audio, listener,
                                                   tid, seeder.peer, timeout=120))
                        seeks[fmt].append(attempt(f"{label} {profile} {fmt} seek", seek, listener, tid,
                                                  0.8 * duration, fmt == "mp3"))
                        cancel(listener, tid)
                finally:
                    listener.stop()
            prof = PROFILES[profile]
            for fmt in ("ogg", "mp3"):
                size = published[fmt]["record"]["size"] / 1e6
                report(f"[{label}] {prof.name}: first audio, {fmt} {size:.1f} MB", stats(firsts[fmt]), f"{runs} runs")
                how = "ffmpeg -fflags +fastseek" if fmt == "mp3" else "ffmpeg's Ogg bisection"
                report(f"[{label}] {prof.name}: seek to 80 %, {fmt}", stats(seeks[fmt]), f"while the rest downloads; {how}")
            if label == "new":
                decoder = [sh.run(decode_until_audio, stream_url(seeder, published["ogg"]["id"])) for _ in range(3)]
                report(f"[decoder] {prof.name}: ffmpeg on a complete local track", stats(decoder),
                       "the floor: decoder start + HTTP")
        finally:
            seeder.stop()


def three_seeders(work: Path, tracks: dict[str, Path], src: Path, runs: int) -> None:
    """Scenario 2: the same file seeded by three ``home`` nodes, all named by the listener."""
    with Network() as net:
        hosts = [net.add("home") for _ in range(3)]
        lh = net.add("home")
        seeders = [NetNode.start(h, work / f"three-seeder{i}", src=src) for i, h in enumerate(hosts)]
        try:
            ids = {fmt: [s.publish(tracks[fmt], f"{fmt} track") for s in seeders][0]["id"] for fmt in ("ogg", "mp3")}
            firsts: dict[str, list[float | None]] = {"ogg": [], "mp3": []}
            peers = [s.peer for s in seeders]
            for run in range(runs):
                listener = NetNode.start(lh, work / f"three-listener{run}", src=src)
                try:
                    for fmt, tid in ids.items():
                        firsts[fmt].append(attempt(f"3 seeders {fmt}", first_audio, listener, tid, peers,
                                                   timeout=120))
                        cancel(listener, tid)
                finally:
                    listener.stop()
            for fmt in ("ogg", "mp3"):
                report(f"[new] 3 home seeders: first audio, {fmt}", stats(firsts[fmt]), f"{runs} runs; target median < 0.3 s")
        finally:
            for s in seeders:
                s.stop()


def swarm(work: Path, tracks: dict[str, Path], src: Path, label: str, listeners: int = 20, spread: float = 10.0,
          limit: float = 150.0) -> None:
    """Scenario 3: one origin, ``listeners`` starting within ``spread`` seconds."""
    with Network() as net:
        oh = net.add("home")
        hosts = [net.add("home") for _ in range(listeners)]
        origin = NetNode.start(oh, work / f"{label}-swarm-origin", src=src)
        nodes: list[NetNode] = []
        try:
            line = origin.publish(tracks["swarm"], "swarm track")
            tid, size = line["id"], int(line["record"]["size"])
            with ThreadPoolExecutor(8) as pool:
                nodes = list(pool.map(lambda ih: NetNode.start(ih[1], work / f"{label}-swarm-l{ih[0]}", src=src),
                                      enumerate(hosts)))
            tx0 = oh.tx_bytes()
            rx0 = [int(json.loads(h.sh("ip", "-j", "-s", "link", "show", "eth0").stdout)[0]["stats64"]["rx"]["bytes"])
                   for h in hosts]
            start = time.monotonic()

            def play(i: int) -> float:
                time.sleep(max(0.0, start + i * spread / listeners - time.monotonic()))
                return first_audio(nodes[i], tid, origin.peer, timeout=limit)

            with ThreadPoolExecutor(listeners) as pool:
                started = [pool.submit(attempt, f"{label} swarm listener {i}", play, i) for i in range(listeners)]
                firsts = [r for r in (f.result() for f in started) if r is not None]

            def state(node: NetNode) -> str:
                try:
                    return str(node.api("GET", f"/api/transfers/{tid}")["state"])
                except Exception:  # noqa: BLE001 - a listener whose fetch failed has no transfer
                    return "none"

            def complete() -> int:
                return sum(1 for n in nodes if state(n) == "complete")

            done = 0
            while time.monotonic() - start < limit and (done := complete()) < listeners:
                time.sleep(1.0)
            elapsed = time.monotonic() - start
            origin_tx = oh.tx_bytes() - tx0
            rx = sum(int(json.loads(h.sh("ip", "-j", "-s", "link", "show", "eth0").stdout)[0]["stats64"]["rx"]["bytes"])
                     - r0 for h, r0 in zip(hosts, rx0, strict=True))
            report(f"[{label}] swarm: origin's share of bytes listeners got", f"{origin_tx / max(1, rx):.1%}",
                   f"{origin_tx / 1e6:.1f} of {rx / 1e6:.1f} MB; target <= 10 %")
            report(f"[{label}] swarm: first audio p95 / median",
                   f"{p95(firsts):.2f} / {statistics.median(firsts):.2f} s" if firsts else "-",
                   f"{listeners} home listeners within {spread:.0f} s")
            report(f"[{label}] swarm: complete", f"{done}/{listeners}", f"after {elapsed:.0f} s ({size / 1e6:.1f} MB each)")
        finally:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda n: n.stop(), nodes))
            origin.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="home profile only, no swarm")
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision to compare with (default {BASELINE})")
    parser.add_argument("--skip-swarm", action="store_true", help="leave out scenario 3")
    args = parser.parse_args()
    reason = netns_available()
    if reason:
        sys.exit(f"bench/realnet.py: {reason}")
    if not MUSIC.exists():
        sys.exit("bench needs frozen-bubble-data and ffmpeg: run bash scripts/system-packages.sh test")
    with tempfile.TemporaryDirectory(prefix="osp-realnet-") as tmp:
        work = Path(tmp)
        tracks = make_tracks(work)
        old = baseline_src(work, args.baseline)
        print("real-link streaming (first decoded audio by ffmpeg; median (min–max) of runs)")
        profiles = ["home"] if args.quick else ["lan", "home", "mobile", "slow"]
        for profile in profiles:
            one_seeder(work, tracks, profile, SRC, "new", args.runs)
            if old is not None and profile in ("lan", "home"):
                one_seeder(work, tracks, profile, old, f"baseline {args.baseline}", args.runs)
        three_seeders(work, tracks, SRC, args.runs)
        if not (args.quick or args.skip_swarm):
            swarm(work, tracks, SRC, "new")
            if old is not None:
                swarm(work, tracks, old, f"baseline {args.baseline}")
        for failure in failures:
            print(f"  failed: {failure}")


if __name__ == "__main__":
    main()
