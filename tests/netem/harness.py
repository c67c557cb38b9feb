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

A **home router** (``Network.add_router()``, for issue 8's reachability test) is a host on
the bridge whose namespace also holds a LAN (``192.168.77.0/24``, reachable only from inside
the test's namespaces) with hosts behind it, nftables masquerade towards the bridge, and
``miniupnpd`` (UPnP IGD + NAT-PMP) on the LAN side (``Router.start_upnp``)::

    bridge ── eth0 <run>-nN (router) 11.77.0.N + 10.77.0.N ── lan0 192.168.77.1 ── eth0 <run>-rNl1 192.168.77.2

miniupnpd refuses to map ports on a WAN interface whose address is private ("port
forwarding is impossible"), so the router's WAN address is a public-range one,
``11.77.0.N`` (the namespaces route nothing beyond the bridge; other hosts reach it with
``Router.route_from``), with the harness's ``10.77.0.N`` as a second address.

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
from pathlib import Path
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


WAN_PUBLIC = "11.77.0"  #: the routers' public-range WAN addresses (miniupnpd needs one)
LAN_SUBNET = "192.168.77"  #: each router's LAN (inside its own namespaces)

_NFT_RULES = """table inet miniupnpd {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "eth0" masquerade
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
"""


@dataclass
class Router:
    """A home router on the bridge: ``wan`` is its own host (namespace), ``lan`` the hosts
    behind it (``192.168.77.2``…, default route through it), ``public_ip`` the WAN address
    outside hosts dial (port forwards appear there once ``miniupnpd`` maps them)."""

    wan: Host
    public_ip: str
    lan: list[Host]
    upnpd: subprocess.Popen[str] | None = None

    def route_from(self, host: Host) -> None:
        """Let ``host`` (on the bridge) reach ``public_ip``."""
        host.sh("ip", "route", "replace", f"{self.public_ip}/32", "dev", "eth0")

    def start_upnp(self, workdir: Path) -> subprocess.Popen[str]:
        """Run ``miniupnpd`` (foreground, log in ``workdir/miniupnpd.log``): UPnP IGD and
        NAT-PMP on the LAN side, ``ext_ifname`` = the WAN veth, not secure mode, mappings
        of ports 1024-65535 allowed for the LAN only; its nftables chains are the ones
        ``_NFT_RULES`` made.  Stopped by ``stop_upnp`` or when the namespace is deleted."""
        workdir.mkdir(parents=True, exist_ok=True)
        conf = workdir / "miniupnpd.conf"
        conf.write_text("\n".join([
            "ext_ifname=eth0", "listening_ip=lan0", "enable_upnp=yes", "enable_natpmp=yes", "secure_mode=no",
            "upnp_table_name=miniupnpd", "upnp_nat_table_name=miniupnpd", f"lease_file={workdir / 'leases'}",
            "uuid=0f5ea6c2-8cf0-11e0-98ee-0a77a0a77a00", "system_uptime=no",
            f"allow 1024-65535 {LAN_SUBNET}.0/24 1024-65535", "deny 0-65535 0.0.0.0/0 0-65535", ""]))
        log = open(workdir / "miniupnpd.log", "w")  # noqa: SIM115 - closed with the process
        self.upnpd = self.wan.popen(["miniupnpd", "-d", "-f", str(conf), "-P", str(workdir / "miniupnpd.pid")],
                                    stdout=log, stderr=subprocess.STDOUT)
        log.close()
        try:
            wait_for(lambda: self.upnpd is not None and (self.upnpd.poll() is not None or "5351" in (
                workdir / "miniupnpd.log").read_text()), 10, "miniupnpd listening")
            if self.upnpd.poll() is not None:
                raise RuntimeError(f"miniupnpd exited: {(workdir / 'miniupnpd.log').read_text()[-2000:]}")
        except BaseException:
            self.stop_upnp()
            raise
        return self.upnpd

    def stop_upnp(self) -> None:
        """Stop ``miniupnpd`` (SIGTERM, then SIGKILL after 10 s); idempotent."""
        if self.upnpd is not None and self.upnpd.poll() is None:
            self.upnpd.terminate()
            try:
                self.upnpd.wait(10)
            except subprocess.TimeoutExpired:
                self.upnpd.kill()
                self.upnpd.wait(10)

    def redirects(self) -> str:
        """miniupnpd's port forwards now (its nftables DNAT chain, as text)."""
        return self.wan.sh("nft", "list", "chain", "inet", "miniupnpd", "prerouting_miniupnpd").stdout


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
        self.routers: list[Router] = []
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

    def add_router(self, lan_hosts: int = 1) -> Router:
        """A home router on the bridge (unshaped) with ``lan_hosts`` hosts behind it (see the
        module docstring); nftables masquerade and miniupnpd's chains are set up, miniupnpd
        itself is started by ``Router.start_upnp``.  Needs ``nft``."""
        if shutil.which("nft") is None:
            raise RuntimeError("the home router needs nft (nftables)")
        wan = self.add("lan")
        n = len(self.hosts)
        public_ip = f"{WAN_PUBLIC}.{n}"
        # miniupnpd takes the interface's first address as its external one: the public-range one first
        wan.sh("ip", "addr", "flush", "dev", "eth0")
        wan.sh("ip", "addr", "add", f"{public_ip}/24", "dev", "eth0")
        wan.sh("ip", "addr", "add", f"{wan.ip}/24", "dev", "eth0")
        wan.sh("sysctl", "-qw", "net.ipv4.ip_forward=1")
        router = Router(wan, public_ip, [])
        self.routers.append(router)
        _sh("ip", "-n", wan.name, "link", "add", "lan0", "type", "bridge")  # the LAN switch
        _sh("ip", "-n", wan.name, "link", "set", "lan0", "up")
        for k in range(1, lan_hosts + 1):
            name, ip = f"{self.prefix}-r{n}l{k}", f"{LAN_SUBNET}.{k + 1}"
            _sh("ip", "netns", "add", name)
            host = Host(name, ip, PROFILES["lan"], "")
            router.lan.append(host)
            _sh("ip", "-n", wan.name, "link", "add", f"l{k}", "type", "veth", "peer", "name", "eth0", "netns", name)
            _sh("ip", "-n", wan.name, "link", "set", f"l{k}", "master", "lan0")
            _sh("ip", "-n", wan.name, "link", "set", f"l{k}", "up")
            _sh("ip", "-n", name, "addr", "add", f"{ip}/24", "dev", "eth0")
            _sh("ip", "-n", name, "link", "set", "eth0", "up")
            _sh("ip", "-n", name, "link", "set", "lo", "up")
        _sh("ip", "-n", wan.name, "addr", "add", f"{LAN_SUBNET}.1/24", "dev", "lan0")
        for host in router.lan:
            _sh("ip", "-n", host.name, "route", "add", "default", "via", f"{LAN_SUBNET}.1")
        subprocess.run(["ip", "netns", "exec", wan.name, "nft", "-f", "-"], input=_NFT_RULES, text=True,
                       capture_output=True, timeout=30, check=True)
        return router

    def close(self) -> None:
        """Kill every process in the namespaces and delete them (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for router in self.routers:
            router.stop_upnp()
            for host in router.lan:
                if host._thread is not None:
                    host._thread.close()
                _delete_namespace(host.name)
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
