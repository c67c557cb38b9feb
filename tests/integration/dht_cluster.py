"""A private DHT of many real ``osp node`` processes on loopback (the issue 8 suite and
``bench/discovery.py``).

Each member runs on its own loopback address ``127.0.<base+i>.1`` — one address per /24,
as nodes on the Internet are: the search's holder caps (per /24) and the ranking by
independent holders then behave as they do on the real DHT.  Every address is on ``lo``
(Linux routes all of 127/8 there), so nothing outside the machine is involved.

Start-up is fast and deterministic: the BitTorrent port of each member is chosen before
it starts (free on TCP and UDP of its own address), so member ``i`` can be told to
bootstrap from up to 4 earlier members (``--bootstrap``) while they start in parallel
batches; each batch waits for the previous one's ``node.json``.  ``wait_ready`` then polls
each member's DHT routing-table size (``GET /api/status``) up to a deadline — with 4 seeds
each, 20 members reach 5+ neighbours in ~15 s (design.md §5).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from osp.identity.keystore import Keystore

OSP = [sys.executable, "-m", "osp"]


def free_port(ip: str) -> int:
    """A port free on both TCP and UDP of ``ip`` (libtorrent listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((ip, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((ip, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no free TCP+UDP port on {ip}")


@dataclass
class Member:
    """One ``osp node`` process of the cluster."""

    index: int
    ip: str
    bt_port: int
    data_dir: Path
    did: str | None = None  #: its identity, if it has one (publishers, followers)
    proc: subprocess.Popen[str] | None = None
    http: str = ""  #: peer API base URL (``http://ip:port``)
    control: str = ""  #: control API base URL
    token: str = ""
    log: Path | None = None  #: its stderr

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
        """A control API call; the decoded JSON answer (``AssertionError`` on an error status)."""
        r = httpx.request(method, self.control + path, json=body, timeout=timeout,
                          headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code < 400, f"{method} {path} on member {self.index}: {r.status_code} {r.text[:300]}"
        return r.json()

    def search(self, body: dict[str, Any], timeout: float = 30.0,
               on_line: Callable[[float, dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """``POST /api/search`` streamed: every NDJSON line; ``on_line(seconds since the request, line)``."""
        lines: list[dict[str, Any]] = []
        start = time.monotonic()
        with httpx.stream("POST", self.control + "/api/search", json=body, timeout=timeout,
                          headers={"Authorization": f"Bearer {self.token}"}) as r:
            if r.status_code >= 400:
                r.read()
                raise AssertionError(f"search on member {self.index}: {r.status_code} {r.text[:300]}")
            for raw in r.iter_lines():
                if raw.strip():
                    line = json.loads(raw)
                    lines.append(line)
                    if on_line is not None:
                        on_line(time.monotonic() - start, line)
        return lines

    def dht_nodes(self) -> int:
        """The size of its DHT routing table (0 while unknown)."""
        try:
            info = self.api("GET", "/api/status", timeout=10)
        except (httpx.HTTPError, AssertionError):
            return 0
        return dht_nodes_of(info)

    def osp(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The CLI on this member's data directory (it talks to the running node)."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("OSP_DATA_DIR", None)
        proc = subprocess.run([*OSP, "--data-dir", str(self.data_dir), *args], capture_output=True, text=True,
                              timeout=timeout, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"osp {' '.join(args)} on member {self.index} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout``)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def dht_nodes_of(info: dict[str, Any]) -> int:
    """The routing-table size in a ``GET /api/node`` or ``/api/status`` answer."""
    for holder in (info, info.get("reachability") or {}, info.get("dht") if isinstance(info.get("dht"), dict) else {}):
        for name in ("dhtNodes", "dht_nodes", "nodes"):
            value = holder.get(name)
            if isinstance(value, int):
                return value
    return 0


def dht_messages_of(info: dict[str, Any]) -> tuple[int, int] | None:
    """DHT messages ``(in, out)`` since start in a ``GET /api/node`` or ``/api/status`` answer."""
    for holder in (info, info.get("reachability") or {}, info.get("dht") if isinstance(info.get("dht"), dict) else {}):
        for name in ("dhtMessages", "dht_messages", "messages"):
            value = holder.get(name)
            if isinstance(value, dict) and isinstance(value.get("in"), int):
                return int(value["in"]), int(value["out"])
            if isinstance(value, list) and len(value) == 2:
                return int(value[0]), int(value[1])
    return None


@dataclass
class Cluster:
    """``n`` members under ``root``; use as a context manager (every process stops on exit)."""

    root: Path
    n: int
    base: int = 20  #: member i binds 127.0.<base+i>.1
    identities: Iterable[int] = ()  #: members that get an identity key (publishers, followers)
    extra: Sequence[str] = ()  #: more ``osp node`` arguments for every member
    seeds: int = 4  #: how many earlier members each one bootstraps from
    batch: int = 10  #: members started at once
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        with_id = set(self.identities)
        for i in range(self.n):
            ip = f"127.0.{self.base + i // 250}.{1 + i % 250}" if self.n > 200 else f"127.0.{self.base + i}.1"
            member = Member(i, ip, free_port(ip), self.root / f"m{i:03d}")
            if i in with_id:
                member.did = Keystore(member.data_dir / "identity").create().did
            self.members.append(member)

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, i: int) -> Member:
        return self.members[i]

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members)

    def batch_start(self, i: int) -> int:
        """The first member of ``i``'s start-up batch (member 0 starts alone)."""
        return 0 if i == 0 else 1 + (i - 1) // self.batch * self.batch

    def seeds_of(self, i: int) -> list[Member]:
        """Up to ``seeds`` members of earlier batches (already listening: a ping to a node not
        yet up is lost, and a last member nobody pings would stay alone): the two started
        last, then spread over the earlier ones."""
        s = self.batch_start(i)
        picks: list[int] = []
        for j in (s - 1, s - 2, i // 2, i // 3, i // 4, 0):
            if 0 <= j < s and j not in picks:
                picks.append(j)
        return [self.members[j] for j in picks[: self.seeds]]

    def spawn(self, m: Member, extra: Sequence[str] = ()) -> None:
        """Start member ``m``'s process (no wait)."""
        m.data_dir.mkdir(parents=True, exist_ok=True)
        boot = [a for s in self.seeds_of(m.index) for a in ("--bootstrap", f"{s.ip}:{s.bt_port}")]
        args = [*OSP, "--data-dir", str(m.data_dir), "node", "--listen", f"{m.ip}:{m.bt_port}",
                "--http", f"{m.ip}:0", "--control", "127.0.0.1:0", "--share", f"{m.ip}:0", "--dht", "--allow-private-peers",
                *boot, *self.extra, *extra]
        m.log = m.data_dir / "node.log"
        with open(m.log, "ab") as log:
            m.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, text=True,
                                      env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def wait_started(self, members: Iterable[Member], deadline: float) -> None:
        """Wait for each member's ``node.json`` (its listeners are up)."""
        for m in members:
            assert m.proc is not None
            while True:
                if m.proc.poll() is not None:
                    raise AssertionError(f"member {m.index} exited {m.proc.returncode}: {self.tail(m)}")
                with contextlib.suppress(OSError, ValueError, KeyError):
                    info = json.loads((m.data_dir / "node.json").read_text())
                    if info.get("pid") == m.proc.pid:
                        m.http, m.control = info["http"], info["control"]
                        m.token = (m.data_dir / "api-token").read_text().strip()
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(f"member {m.index} did not start in time: {self.tail(m)}")
                time.sleep(0.05)

    def start(self, timeout: float = 180.0) -> None:
        """Start every member: the first alone, then batches of ``batch`` in parallel."""
        deadline = time.monotonic() + timeout
        order = [self.members[:1], *(self.members[i:i + self.batch] for i in range(1, self.n, self.batch))]
        for group in order:
            for m in group:
                self.spawn(m)
            self.wait_started(group, deadline)

    def restart(self, m: Member, timeout: float = 60.0) -> None:
        """Start a stopped member again (same address and ports, same data)."""
        self.spawn(m)
        self.wait_started([m], time.monotonic() + timeout)

    def wait_ready(self, min_nodes: int = 5, timeout: float = 90.0, members: Iterable[Member] | None = None) -> float:
        """Poll until every (live) member's routing table has ``min_nodes`` nodes; seconds it took."""
        start = time.monotonic()
        pending = [m for m in (members if members is not None else self.members) if m.alive]
        while pending:
            with ThreadPoolExecutor(8) as pool:
                counts = list(pool.map(Member.dht_nodes, pending))
            pending = [m for m, c in zip(pending, counts, strict=True) if c < min_nodes]
            if not pending:
                break
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{len(pending)} members below {min_nodes} DHT nodes after {timeout:.0f} s: "
                                     f"{[(m.index, m.dht_nodes()) for m in pending[:8]]}")
            time.sleep(0.5)
        return time.monotonic() - start

    def tail(self, m: Member, chars: int = 2000) -> str:
        try:
            return (m.log.read_text(errors="replace") if m.log else "")[-chars:]
        except OSError:
            return ""

    def close(self) -> None:
        """Stop every member (SIGTERM all first, then wait; SIGKILL stragglers)."""
        live = [m for m in self.members if m.alive]
        for m in live:
            with contextlib.suppress(ProcessLookupError):
                assert m.proc is not None
                m.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for m in live:
            assert m.proc is not None
            try:
                m.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait()


def poll(what: str, fn: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """``fn()`` until it returns something truthy (returned); ``AssertionError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fn()
        except (httpx.HTTPError, AssertionError) as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r:.300})")
        time.sleep(interval)


def rss_cpu(pids: Sequence[int]) -> tuple[float, float]:
    """Summed resident memory (MB) and CPU time (s, user+system) of ``pids`` from ``/proc``."""
    tick = os.sysconf("SC_CLK_TCK")
    rss = cpu = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
    return rss, cpu
