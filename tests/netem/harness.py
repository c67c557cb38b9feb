"""Emulated real links between nodes: network namespaces, a bridge, and shaped rates.

Shared by the real-link tests (``tests/netem``) and the benchmarks (``bench/``).

Topology (everything lives in namespaces this harness creates; the host's own network is
never touched)::

    <run>-hub   bridge ``br0``  ── v1 ─┐ veth ┌─ eth0  <run>-n1   10.77.0.1/24
                                ── v2 ─┘      └─ eth0  <run>-n2   10.77.0.2/24  …

Each host's **uplink** is shaped on its own ``eth0`` (egress), its **downlink** on its
port ``vN`` of the hub's bridge (egress towards it), both with ``tc`` ``tbf`` (token
bucket: ``rate``, a burst of two full frames, and a queue of ``queue_ms`` at that rate
— the buffer a home router keeps, so a full uplink adds up to that much queueing delay).

What it covers: bandwidth and queueing delay (bufferbloat) per direction, per host.  What
it does not: propagation delay and loss — ``netem`` is not in this kernel (design.md §8).
The queue is what decides whether a new request waits behind earlier traffic, which is
what streaming over a slow uplink is about; a fixed RTT would add the same constant to
every figure.

Cleanup: ``Network.close()`` (a context manager) kills every process left in the
namespaces and deletes them; an ``atexit`` hook does the same if the process ends
without it, and every new ``Network`` first removes namespaces of earlier runs whose
process is gone (a run killed with SIGKILL).  Needs root and ``ip``/``tc`` (iproute2);
``netns_available()`` says why not.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import ctypes
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
SUBNET = "10.77.0"
_CLONE_NEWNET = 0x40000000
_NAME = re.compile(r"^osp(\d+)x(\d+)-")


@dataclass(frozen=True)
class Profile:
    """A link: rates in kbit/s (``0`` = unshaped) and the shaped queue in milliseconds."""

    name: str
    down_kbit: int
    up_kbit: int
    queue_ms: int = 100

    def __str__(self) -> str:
        def rate(kbit: int) -> str:
            return "unshaped" if not kbit else f"{kbit / 1000:g} Mbit/s"

        return f"{self.name} ({rate(self.down_kbit)} down / {rate(self.up_kbit)} up)"


#: Named links: ``lan`` is unshaped veth, ``home`` the broadband the issue names
#: (20/2 Mbit/s), ``mobile`` a middling 4G cell, ``slow`` an old ADSL line or weak 3G.
PROFILES = {
    "lan": Profile("lan", 0, 0),
    "home": Profile("home", 20_000, 2_000),
    "mobile": Profile("mobile", 8_000, 1_000),
    "slow": Profile("slow", 1_000, 256),
}


def netns_available() -> str | None:
    """``None`` when namespaces can be made here, else the reason (for a skip message)."""
    if os.geteuid() != 0:
        return "the network harness needs root (ip netns, tc)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"the network harness needs {tool} (iproute2)"
    probe = f"osp{os.getpid()}x0-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create network namespaces: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _sh(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_namespace(name: str) -> None:
    """Kill what runs in ``name`` (a process keeps a deleted namespace alive), then delete it."""
    pids = _sh("ip", "netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    _sh("ip", "netns", "del", name, check=False)


def sweep_stale() -> list[str]:
    """Delete namespaces left by runs whose process is gone; returns their names."""
    gone = []
    for line in _sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = _NAME.match(name)
        if m and not _pid_alive(int(m.group(1))):
            _delete_namespace(name)
            gone.append(name)
    return gone


def _tbf(ns: str, dev: str, kbit: int, queue_ms: int) -> None:
    """Shape ``dev``'s egress to ``kbit`` with a queue of ``queue_ms`` at that rate."""
    rate_bytes = kbit * 1000 // 8
    limit = max(3 * 1514, rate_bytes * queue_ms // 1000)
    burst = 2 * 1514 if kbit <= 50_000 else max(2 * 1514, rate_bytes // 250)  # ≥ rate/HZ at high rates
    _sh("tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit", "burst", str(burst),
        "limit", str(limit), ns=ns)


class _NsThread:
    """One thread that lives inside a namespace: sockets it opens and processes it starts
    are in that namespace (``setns`` changes only the calling thread)."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"ns-{ns}",
                                                           initializer=self._enter)

    def _enter(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)
        try:
            if libc.setns(fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns({self.ns}) failed")
        finally:
            os.close(fd)

    def submit(self, fn: Callable[..., T], *args: Any, **kw: Any) -> concurrent.futures.Future[T]:
        return self._pool.submit(fn, *args, **kw)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class Host:
    """One emulated machine: its namespace, address and link."""

    name: str  #: namespace name
    ip: str  #: its address on the test subnet
    profile: Profile
    port: str  #: its port on the hub's bridge
    _thread: _NsThread | None = field(default=None, repr=False)

    def run(self, fn: Callable[..., T], *args: Any, within: float = 300, **kw: Any) -> T:
        """Call ``fn(*args, **kw)`` in a thread inside this host's namespace and return its
        result (``TimeoutError`` after ``within`` seconds)."""
        return self.submit(fn, *args, **kw).result(within)

    def submit(self, fn: Callable[..., T], *args: Any, **kw: Any) -> concurrent.futures.Future[T]:
        """Like ``run`` without waiting: a future."""
        if self._thread is None:
            self._thread = _NsThread(self.name)
        return self._thread.submit(fn, *args, **kw)

    def popen(self, args: list[str], **kw: Any) -> subprocess.Popen[str]:
        """Start a process inside this host's namespace."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, *args], text=True, **kw)

    def sh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command inside this host's namespace and wait (30 s at most)."""
        return _sh(*args, ns=self.name, check=check)

    def tx_bytes(self) -> int:
        """Bytes this host has sent on its link so far (every protocol, with headers)."""
        out = _sh("ip", "-j", "-s", "link", "show", "eth0", ns=self.name).stdout
        import json

        return int(json.loads(out)[0]["stats64"]["tx"]["bytes"])

    def shape(self, profile: Profile) -> None:
        """Change this host's link (both directions) now."""
        self.profile = profile
        hub = self.name.rsplit("-", 1)[0] + "-hub"
        for ns, dev, kbit in ((self.name, "eth0", profile.up_kbit), (hub, self.port, profile.down_kbit)):
            if kbit:
                _tbf(ns, dev, kbit, profile.queue_ms)
            else:
                _sh("tc", "qdisc", "del", "dev", dev, "root", ns=ns, check=False)


_live: set[Network] = set()
_live_lock = threading.Lock()


class Network:
    """A bridge and hosts on it; use as a context manager (``close()`` on every exit).

    ``add(profile)`` makes a host ``10.77.0.N`` with that link.  Up to 250 hosts.
    """

    _count = 0

    def __init__(self) -> None:
        reason = netns_available()
        if reason:
            raise RuntimeError(reason)
        sweep_stale()
        Network._count += 1
        self.prefix = f"osp{os.getpid()}x{Network._count}"
        self.hub = f"{self.prefix}-hub"
        self.hosts: list[Host] = []
        self._closed = False
        _sh("ip", "netns", "add", self.hub)
        with _live_lock:
            _live.add(self)
        _sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        _sh("ip", "-n", self.hub, "link", "set", "br0", "up")

    def add(self, profile: Profile | str = "lan") -> Host:
        """A new host on the bridge, with ``profile`` (a ``Profile`` or a name in ``PROFILES``)."""
        prof = PROFILES[profile] if isinstance(profile, str) else profile
        n = len(self.hosts) + 1
        if n > 250:
            raise ValueError("at most 250 hosts")
        name, port, ip = f"{self.prefix}-n{n}", f"v{n}", f"{SUBNET}.{n}"
        _sh("ip", "netns", "add", name)
        host = Host(name, ip, prof, port)
        self.hosts.append(host)
        _sh("ip", "-n", self.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name)
        _sh("ip", "-n", self.hub, "link", "set", port, "master", "br0")
        _sh("ip", "-n", self.hub, "link", "set", port, "up")
        _sh("ip", "-n", name, "addr", "add", f"{ip}/24", "dev", "eth0")
        _sh("ip", "-n", name, "link", "set", "eth0", "up")
        _sh("ip", "-n", name, "link", "set", "lo", "up")
        host.shape(prof)
        return host

    def close(self) -> None:
        """Kill every process in the namespaces and delete them (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for host in self.hosts:
            if host._thread is not None:
                host._thread.close()
            _delete_namespace(host.name)
        _delete_namespace(self.hub)
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@atexit.register
def _close_all() -> None:
    with _live_lock:
        live = list(_live)
    for net in live:
        net.close()


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy (returned), or raise ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(interval)


def namespaces() -> Iterator[str]:
    """Names of every namespace on the machine (for tests of the cleanup)."""
    for line in _sh("ip", "netns", "list", check=False).stdout.splitlines():
        if line.split():
            yield line.split()[0]
