"""Discovery benchmarks (issue 8): search, findability, feeds and DHT traffic on private DHTs.

    .venv/bin/python bench/discovery.py [--sizes 20,50,100] [--quick] [--queries N]

For each size N a private DHT of N real ``osp node`` processes runs on loopback, member
``i`` on ``127.0.<20+i>.1`` (one address per /24, like nodes on the Internet), each
bootstrapped from up to 4 earlier members (``tests/integration/dht_cluster.py``).  Five
members are artists; each publishes two short real-music tracks (Ogg excerpts made by
ffmpeg) with tags from a small vocabulary, so a tag has 2–6 holders.  Then:

1. **Search** — ``--queries`` searches (tag, title word, artist did, in turn) from
   members that hold nothing (every 4th from an artist: a holder whose announcer runs), through the control API ``POST /api/search`` (NDJSON
   streamed; each line timestamped on arrival): time to the first verified result, to the
   complete answer (every track the ground truth says matches has arrived), and to the
   ``done`` line (all asked peers answered or the deadline passed).  Median and p95.
2. **DHT messages per lookup** — the searcher's DHT messages in+out (libtorrent's
   ``dht.dht_messages_in/out``, ``GET /api/status`` → ``dhtMessages``) over one search,
   minus its rate at rest.
3. **At rest** — DHT messages per node per minute summed over all members during a quiet
   window; the members' RSS and CPU use (``/proc``).
4. **Publish → findable** — a new track with a unique title word is published; three
   other members search for the word every 0.5 s: time until each finds it.
5. **Feed update latency** — a member follows an artist (``--feed-poll-interval 5``);
   the artist publishes: time until the follower's ``GET /api/following`` shows the new
   ``seq`` (bounded below by the poll interval: half of it on average).
6. **Announce cost of a 10,000-track node** (once, on the first size) — no audio: 10,000
   synthetic holdings (records with titles, tags, artists drawn like a real library's) go
   through ``discovery.announce.plan`` (cap, dedup by key, priority) and ``Scheduler``
   (rate); a real ``Engine`` on its own loopback address in the private DHT announces what
   the scheduler lets through for a fixed window.  Its DHT messages per second versus the
   baseline without cap or dedup (one announce per track × key, spread over the 30-min
   interval), and versus the same engine idle.

Numbers depend on the machine: 2 shared cores in the issue's runs; where N stops (start-up
CPU, memory per process) is printed with the figures.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.dht_cluster import Cluster, Member, dht_messages_of, free_port, rss_cpu  # noqa: E402

MUSIC = Path("/usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg")
TAGS = ["ambient", "techno", "jazz", "chill", "folk", "drone", "lofi"]
WORDS = ["ocean", "night", "harbor", "desert", "wind", "glass", "river", "ember", "static", "velvet", "orbit",
         "meadow"]
ARTISTS = 5
SEARCH_TIMEOUT = 8.0
results: list[tuple[str, str, str]] = []
failures: list[str] = []


def report(name: str, value: str, note: str = "") -> None:
    results.append((name, value, note))
    print(f"  {name:<54} {value:>18}  {note}", flush=True)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def dist(values: Sequence[float | None], unit: str = "s") -> str:
    """``median / p95`` of the values that exist, and how many are missing."""
    ok = [v for v in values if v is not None]
    missing = f" ({len(values) - len(ok)} missing)" if len(ok) < len(values) else ""
    if not ok:
        return f"- (all {len(values)} missing)"
    return f"{statistics.median(ok):.2f} / {p95(ok):.2f} {unit}{missing}"


def make_clips(work: Path, n: int) -> list[Path]:
    """``n`` distinct 3-second Ogg excerpts of real music."""
    clips = []
    for i in range(n):
        target = work / f"clip{i}.ogg"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(2 + 4 * i), "-t", "3", "-i", str(MUSIC),
                        "-c:a", "libvorbis", "-q:a", "0", str(target)], check=True, timeout=60)
        clips.append(target)
    return clips


def publish(m: Member, path: Path, title: str, tags: Sequence[str]) -> dict[str, Any]:
    import json

    args = [a for t in tags for a in ("--tag", t)]
    out = m.osp("publish", str(path), "--title", title, *args, "--json", timeout=120).stdout
    return json.loads(out.splitlines()[0])  # type: ignore[no-any-return]


def messages(m: Member) -> int | None:
    try:
        got = dht_messages_of(m.api("GET", "/api/status", timeout=10))
    except Exception:  # noqa: BLE001 - a member that does not answer counts as missing
        return None
    return None if got is None else got[0] + got[1]


def timed_search(m: Member, body: dict[str, Any], want: set[str]) -> tuple[float | None, float | None, float, int]:
    """``(first result s, complete answer s, done s, results)`` of one search from ``m``."""
    first: list[float] = []
    complete: list[float] = []
    seen: set[str] = set()
    done = [0.0]

    def on_line(t: float, line: dict[str, Any]) -> None:
        result = line.get("result")
        if result is not None:
            seen.add(str(result.get("id") or result["record"]["id"]))
            if not first and any(h != "local" for h in result.get("holders", [])):
                first.append(t)  # the first result from another node (local ones come at once)
            if want <= seen and not complete:
                complete.append(t)
        if "done" in line:
            done[0] = t

    m.search({**body, "timeout": SEARCH_TIMEOUT}, timeout=SEARCH_TIMEOUT + 30, on_line=on_line)
    return (first[0] if first else None), (complete[0] if complete else None), done[0], len(seen)


def run_size(work: Path, n: int, clips: list[Path], queries: int, do_announce: bool) -> None:
    rng = random.Random(n)
    artists = list(range(1, 1 + ARTISTS))
    print(f"\n[{n} nodes]", flush=True)
    t0 = time.monotonic()
    with Cluster(work / f"n{n}", n, identities=artists, extra=("--feed-poll-interval", "5"),
                 batch=10) as cluster:
        started = time.monotonic() - t0
        ready = cluster.wait_ready(min_nodes=5, timeout=120 + n)
        pids = [m.proc.pid for m in cluster if m.proc is not None]
        rss, cpu = rss_cpu(pids)
        report(f"N={n}: start-up / routing tables 5+ nodes", f"{started:.0f} s / {ready:.0f} s",
               f"CPU {cpu:.0f} s for start-up, RSS {rss / n:.0f} MB per node ({rss / 1024:.1f} GB)")

        # publish: artist a gets tracks 2a, 2a+1, each with 2 tags and 2 title words
        truth: dict[str, dict[str, Any]] = {}
        with ThreadPoolExecutor(ARTISTS) as pool:
            def publish_two(a: int) -> list[dict[str, Any]]:
                out = []
                for k in range(2):
                    j = 2 * (a - 1) + k
                    title = f"{WORDS[j % len(WORDS)]} {WORDS[(j + 5) % len(WORDS)]}"
                    tags = [TAGS[j % len(TAGS)], TAGS[(j + 3) % len(TAGS)]]
                    out.append(publish(cluster[a], clips[j], title, tags) | {"tags": tags, "artist": cluster[a].did})
                return out
            for lines in pool.map(publish_two, artists):
                for line in lines:
                    truth[line["id"]] = line
        # the ground truth of a query
        def expected(body: dict[str, Any]) -> set[str]:
            if "tags" in body:
                return {i for i, t in truth.items() if body["tags"][0] in t["tags"]}
            if "artist" in body:
                return {i for i, t in truth.items() if t["artist"] == body["artist"]}
            return {i for i, t in truth.items() if body["q"] in t["title"].split()}

        # 4. publish → findable (first, so the announce of a brand-new track is measured)
        publish(cluster[artists[0]], clips[2 * ARTISTS], f"zephyr{n} theme", ["bench"])
        published_at = time.monotonic()
        seekers = rng.sample(range(1 + ARTISTS, n), 3)

        def findable(i: int) -> float | None:
            deadline = published_at + 90
            while time.monotonic() < deadline:
                try:
                    lines = cluster[i].search({"q": f"zephyr{n}", "timeout": 3.0}, timeout=30)
                except Exception:  # noqa: BLE001 - a failed search is retried until the deadline
                    lines = []
                if any(line.get("result") for line in lines):
                    return time.monotonic() - published_at
                time.sleep(0.5)
            return None
        with ThreadPoolExecutor(3) as pool:
            found_after = list(pool.map(findable, seekers))
        report(f"N={n}: publish → findable by a title word", dist(found_after),
               "median / p95 of 3 searchers; target < 30 s")

        # 1./2. search latency and messages per lookup
        kinds: list[dict[str, Any]] = []
        for q in range(queries):
            t = list(truth.values())[q % len(truth)]
            kinds.append([{"tags": [t["tags"][0]]}, {"q": t["title"].split()[0]}, {"artist": t["artist"]}][q % 3])
        firsts: list[float | None] = []
        completes: list[float | None] = []
        dones: list[float] = []
        busy: dict[str, list[float | None]] = {"first": [], "complete": []}  # searches from holders
        per_lookup: list[float] = []
        rest_before = [messages(m) for m in cluster]
        rest_t = time.monotonic()
        time.sleep(30 if n <= 50 else 45)
        rest_after = [messages(m) for m in cluster]
        rest_s = time.monotonic() - rest_t
        pairs = [(a, b) for a, b in zip(rest_before, rest_after, strict=True) if a is not None and b is not None]
        per_node_min = (sum(b - a for a, b in pairs) / max(1, len(pairs))) / rest_s * 60 if pairs else None
        rest_rate = {i: (b - a) / rest_s for i, (a, b) in enumerate(zip(rest_before, rest_after, strict=True))
                     if a is not None and b is not None}
        for q, body in enumerate(kinds):
            if q % 4 == 3:  # from an artist: a holder whose announcer runs (its own DHT lookups)
                i = artists[q % ARTISTS]
                try:
                    first, complete, _done, _count = timed_search(cluster[i], body, expected(body))
                except Exception as exc:  # noqa: BLE001 - reported, the bench goes on
                    failures.append(f"N={n} search {body} from an artist: {exc}")
                    first = complete = None
                busy["first"].append(first)
                busy["complete"].append(complete)
                continue
            i = rng.choice(range(1 + ARTISTS, n))
            before = messages(cluster[i])
            t_start = time.monotonic()
            try:
                first, complete, done, _count = timed_search(cluster[i], body, expected(body))
            except Exception as exc:  # noqa: BLE001 - reported, the bench goes on
                failures.append(f"N={n} search {body}: {exc}")
                firsts.append(None)
                completes.append(None)
                continue
            after = messages(cluster[i])
            firsts.append(first)
            completes.append(complete)
            dones.append(done)
            if before is not None and after is not None:
                per_lookup.append(after - before - rest_rate.get(i, 0.0) * (time.monotonic() - t_start))
        report(f"N={n}: search → first verified result", dist(firsts), f"median / p95 of {queries}; target p95 < 2 s")
        report(f"N={n}: search → complete answer", dist(completes), "every matching track arrived; target p95 < 5 s")
        report(f"N={n}: search → done line", dist(dones), f"all peers answered or the {SEARCH_TIMEOUT:.0f} s deadline")
        report(f"N={n}: from a holder: first remote / complete", f"{dist(busy['first'])} | {dist(busy['complete'])}",
               "searcher's own announcer running")
        report(f"N={n}: DHT messages per search", dist(per_lookup, "msg") if per_lookup else "- (no counters)",
               "searcher's in+out, minus its rate at rest; 1–3 keys per query")
        report(f"N={n}: DHT messages per node per minute at rest",
               f"{per_node_min:.0f}" if per_node_min is not None else "- (no counters)",
               f"over {rest_s:.0f} s, all {len(pairs)} members; holders re-announce on their schedule")
        rss, cpu_now = rss_cpu(pids)
        idle0 = cpu_now
        time.sleep(10)
        _, idle1 = rss_cpu(pids)
        report(f"N={n}: RSS / CPU at rest", f"{rss / n:.0f} MB / {(idle1 - idle0) / 10 / n * 100:.1f} %",
               f"per node (total {rss / 1024:.1f} GB, {(idle1 - idle0) / 10 * 100:.0f} % of a core)")

        # 5. feed update latency
        artist, follower = cluster[artists[1]], cluster[rng.choice(range(1 + ARTISTS, n))]
        assert artist.did is not None
        follower.api("POST", "/api/follow", {"did": artist.did, "audio": False})
        latencies: list[float | None] = []

        def seq_of() -> int | None:
            rows = follower.api("GET", "/api/following")["following"]
            return next((r["seq"] for r in rows if r["did"] == artist.did), None)
        deadline = time.monotonic() + 60
        while seq_of() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        for k in range(2 if n > 20 else 3):
            seq = seq_of()
            publish(artist, clips[2 * ARTISTS + 1 + k], f"release {k}", ["feed"])
            t_pub = time.monotonic()
            latency = None
            while time.monotonic() - t_pub < 90:
                now_seq = seq_of()
                if now_seq is not None and (seq is None or now_seq > seq):
                    latency = time.monotonic() - t_pub
                    break
                time.sleep(0.25)
            latencies.append(latency)
        report(f"N={n}: feed update latency (poll every 5 s)", dist(latencies),
               "publish returns → follower's following shows the new seq")

        if do_announce:
            announce_cost(cluster, rng)


def synthetic_library(rng: random.Random, tracks: int = 10_000) -> list[Any]:
    """``tracks`` holdings like a big library: 400 artists, ~200 tags (Zipf-like), titles of
    2–4 words from a 3,000-word vocabulary; 1 % our own."""
    from osp.discovery.announce import Holding
    from osp.identity import SigningKey

    artists = [SigningKey.generate().did for _ in range(400)]
    tags = [f"tag{i}" for i in range(200)]
    words = [f"w{i}x" for i in range(3000)]
    holdings = []
    for i in range(tracks):
        record = {
            "id": f"osp:track:{i:040x}",
            "title": " ".join(rng.choice(words) for _ in range(rng.randint(2, 4))),
            "artist": rng.choice(artists),
            "tags": sorted({tags[min(199, int(rng.paretovariate(1.2)) - 1)] for _ in range(rng.randint(1, 3))}),
        }
        holdings.append(Holding(record=record, infohash=f"{i:040x}", mine=i % 100 == 0, last_played=float(i)))
    return holdings


def announce_cost(cluster: Cluster, rng: random.Random, window: float = 60.0) -> None:
    """Scenario 6: a 10,000-track node's announces at the scheduler's rate, versus no cap/dedup."""
    from osp.discovery.announce import ANNOUNCE_INTERVAL, BURST, DEFAULT_CAP, DEFAULT_RATE, Scheduler, plan
    from osp.discovery.keys import record_keys
    from osp.distribution.engine import Engine
    from osp.distribution.events import EngineConfig

    holdings = synthetic_library(rng)
    planned = plan(holdings, cap=DEFAULT_CAP)
    naive = sum(len(record_keys(h.record)) + 1 for h in holdings)  # every track × key, plus its infohash
    distinct = len({k.digest for h in holdings for k in record_keys(h.record)}) + len(holdings)
    ip = f"127.0.{20 + cluster.n + 3}.1"
    seeds = tuple((m.ip, m.bt_port) for m in cluster.members[1:5])
    engine = Engine(EngineConfig(listen=(ip, free_port(ip)), dht=True, bootstrap=seeds, local_network=True))
    try:
        deadline = time.monotonic() + 60
        while engine.reachability().dht_nodes < 5 and time.monotonic() < deadline:
            time.sleep(0.5)

        def count() -> int:
            got = engine.dht_counters()
            return got[0] + got[1]

        # idle
        c0, t0 = count(), time.monotonic()
        time.sleep(window / 2)
        idle = (count() - c0) / (time.monotonic() - t0)
        # the scheduler: plan + rate limit + dedup, a steady state after the first burst
        sched = Scheduler(rate=DEFAULT_RATE)
        now = time.monotonic()
        sched.update(planned, now)
        announced = 0
        c0, t0 = count(), time.monotonic()
        steady: tuple[int, float, int] | None = None  # counter, time, announces once the first burst is out
        while time.monotonic() - t0 < window + 10:
            for a in sched.due(time.monotonic()):
                engine.dht_announce(a.key, 8787)
                announced += 1
            if steady is None and announced >= BURST and time.monotonic() - t0 >= 10:
                steady = count(), time.monotonic(), announced  # the burst's lookups have ended
            nxt = sched.next_deadline()
            time.sleep(min(1.0, max(0.05, (nxt or time.monotonic() + 1) - time.monotonic())))
        c1, t1 = count(), time.monotonic()
        ours = (c1 - c0) / (t1 - t0)
        assert steady is not None
        steady_rate = (c1 - steady[0]) / (t1 - steady[1])
        steady_announces = announced - steady[2]
        sched_s = t1 - t0
        # the baseline: one announce per track × key per interval, no cap, no dedup
        rate = naive / ANNOUNCE_INTERVAL
        stop = threading.Event()
        c0, t0 = count(), time.monotonic()
        sent = 0
        while time.monotonic() - t0 < window / 2 and not stop.is_set():
            due = int((time.monotonic() - t0) * rate) - sent
            for _ in range(max(0, due)):
                engine.dht_announce(rng.randbytes(20), 8787)
                sent += 1
            time.sleep(0.05)
        base = (count() - c0) / (time.monotonic() - t0)
    finally:
        engine.close()
    per = (steady_rate - idle) * (t1 - steady[1]) / max(1, steady_announces)
    report("10k tracks: keys planned / distinct / naive track × key",
           f"{len(planned)} / {distinct} / {naive}", f"cap {DEFAULT_CAP}, rate {DEFAULT_RATE:.2f}/s")
    report("10k tracks: DHT msg/s at rest (scheduler's steady rate)", f"{steady_rate:.1f} msg/s",
           f"{steady_announces} announces in {t1 - steady[1]:.0f} s; ~{per:.0f} msg per announce; target < 20")
    report("10k tracks: DHT msg/s, first minute (start-up burst)", f"{ours:.1f} msg/s",
           f"{announced} announces in {sched_s:.0f} s: the first {BURST} at once, then the rate")
    report("10k tracks: DHT msg/s, baseline without cap or dedup", f"{base:.1f} msg/s",
           f"{rate:.1f} announces/s = {naive} per {ANNOUNCE_INTERVAL / 60:.0f} min")
    report("10k tracks: DHT msg/s, the same engine idle", f"{idle:.1f} msg/s", "routing-table upkeep")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20,50,100", help="private DHT sizes (default 20,50,100)")
    parser.add_argument("--quick", action="store_true", help="20 nodes, 9 queries")
    parser.add_argument("--queries", type=int, default=30, help="searches per size (default 30)")
    parser.add_argument("--no-announce", action="store_true", help="leave out the 10,000-track announce cost")
    args = parser.parse_args()
    sizes = [20] if args.quick else [int(s) for s in args.sizes.split(",")]
    queries = 9 if args.quick else args.queries
    if not MUSIC.exists() or shutil.which("ffmpeg") is None:
        sys.exit("bench needs frozen-bubble-data and ffmpeg: run bash scripts/system-packages.sh test")
    with tempfile.TemporaryDirectory(prefix="osp-discovery-") as tmp:
        work = Path(tmp)
        clips = make_clips(work, 2 * ARTISTS + 4)
        print("discovery on private DHTs (osp node processes on loopback; median / p95)")
        for k, n in enumerate(sizes):
            try:
                run_size(work, n, clips, queries, do_announce=k == 0 and not args.no_announce)
            except Exception as exc:  # noqa: BLE001 - a size that fails is reported and the next one runs
                failures.append(f"N={n}: {type(exc).__name__}: {str(exc)[:300]}")
                print(f"  N={n} stopped: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
        for failure in failures:
            print(f"  failed: {failure}")


if __name__ == "__main__":
    main()
