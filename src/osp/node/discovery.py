"""The node's face on the DHT (spec §9, design.md §5): announcing what it holds, finding holders.

``Discovery`` is the thin adapter between the pure planner/scheduler of
``osp.discovery.announce`` and the engine's BEP 5 calls:

* **Announcer thread.**  Every change of the library (publish, fetch complete, remove,
  cache eviction) calls ``refresh()``; the thread then rebuilds the plan from the library
  rows (``announce.plan``: mine = origin ``published``, capped at ``announce_cap`` keys in
  priority order), feeds the ``Scheduler`` and calls ``engine.dht_announce(key, port)`` for
  each key it says is due — the HTTP port for rendezvous keys, the BitTorrent port for
  torrent infohashes.  It sleeps until the scheduler's next deadline, a refresh or
  ``close()``.  One announce per distinct key per interval, however many tracks share it;
  the scheduler's token bucket caps the rate (``announce_rate``).
* **Holders.**  ``holders(key, timeout)``: ``engine.dht_get_peers`` under a rendezvous key,
  as peer base URLs ``http://ip:port`` — never our own, never a peer ``BadPeers`` remembers,
  at most ``MAX_HOLDERS``, ``MAX_PER_NETWORK`` per /24 (IPv4) or /64 (IPv6) and two per IP,
  round-robin across networks, random within, no privileged port (``HolderPicker``): DHT
  answers are hints from anyone (Sybils crowd predictable keys), so what one network can fill
  is capped.

The scheduler runs on ``monotonic`` (injected); nothing here decides anything the pure
modules do not.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osp.core.errors import OspError
from osp.discovery import announce
from osp.discovery.keys import RendezvousKey
from osp.discovery.search import HolderPicker
from osp.node.network import announce_ports
from osp.records.canonical import strict_loads

if TYPE_CHECKING:
    from osp.node.core import Node

MAX_HOLDERS = 32  #: peer URLs one lookup yields at most
MAX_PER_NETWORK = 4  #: of them from one /24 (IPv4) or /64 (IPv6)
LOOKUP_TIMEOUT = 10.0  #: seconds a resolve/get by id waits for the DHT's holders
BOOTSTRAP_WAIT = 3.0  #: seconds a lookup waits for a first routing-table node before giving up
HOLDER_DEADLINE = 5.0  #: seconds one DHT-named holder has to answer a record request
RESOLVE_DEADLINE = 15.0  #: seconds the holders of a resolve by id have in all (asked in parallel)
SLOW_PEER_TTL = 300.0  #: seconds a holder that timed out (or was down) is skipped
LOOKUP_SETTLE = 1.0  #: seconds a lookup goes on after its last new peer (``Engine.dht_get_peers``'s ``settle``)
RETRY_SETTLE = 4.0  #: ... in the second lookup of a resolve whose holders all failed (dead ones answer slowly)
RETRY_MIN = 1.0  #: seconds of RESOLVE_DEADLINE that must be left for that second lookup to run


@dataclass(frozen=True)
class AnnounceStats:
    """What ``osp status`` shows about announcing."""

    planned: int  #: distinct keys in the current plan (after the cap)
    announced: int  #: announces sent since start
    last_announce: float | None  #: Unix seconds of the last one, ``None`` before the first
    running: bool  #: the announcer thread runs (DHT on and a peer listener to announce)

    def to_json(self) -> dict[str, Any]:
        return {"planned": self.planned, "announced": self.announced, "lastAnnounce": self.last_announce,
                "running": self.running}


def network_of(host: str, *, loopback_apart: bool = False) -> str:
    """The /24 (IPv4) or /64 (IPv6) of an address, the unit ``MAX_PER_NETWORK`` counts;
    ``loopback_apart``: each loopback address counts alone (test networks on 127.0.0.N)."""
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    if loopback_apart and addr.is_loopback:
        return str(addr)
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def peer_url(host: str, port: int) -> str:
    """``http://host:port`` (IPv6 in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Discovery:
    """Announcing and holder lookups for ``node`` (its engine, library, settings, ``bad_peers``).

    ``start()`` begins the announcer (the node calls it once the engine runs with the DHT on
    and a peer listener is bound); ``refresh()`` after every library change; ``close()`` stops
    the thread (joined briefly: it only waits on a condition)."""

    def __init__(self, node: Node, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.node = node
        self.monotonic = monotonic
        s = node.settings
        self.cap = s.announce_cap if s.announce_cap is not None else announce.DEFAULT_CAP
        rate = s.announce_rate if s.announce_rate is not None else announce.DEFAULT_RATE
        self.scheduler = announce.Scheduler(interval=announce.ANNOUNCE_INTERVAL, rate=rate)
        self._cond = threading.Condition()
        self._dirty = True
        self._stop = False
        self._thread: threading.Thread | None = None
        self._planned = 0
        self._announced = 0
        self._last: float | None = None

    # -- announcer ------------------------------------------------------------------

    def start(self) -> None:
        """Start the announcer thread (once; no-op without an engine)."""
        if self._thread is not None or self.node.engine is None:
            return
        self._thread = threading.Thread(target=self._run, name="osp-announce", daemon=True)
        self._thread.start()

    def refresh(self) -> None:
        """The library changed: re-plan at once (cheap to call; coalesced)."""
        with self._cond:
            self._dirty = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._thread = None

    def stats(self) -> AnnounceStats:
        return AnnounceStats(self._planned, self._announced, self._last, self._thread is not None)

    def _holdings(self) -> list[announce.Holding]:
        rows = self.node.library.tracks(1_000_000, available=True)
        out = []
        for r in rows:
            try:
                record = strict_loads(r.record)
            except OspError:
                continue
            out.append(announce.Holding(record=record, infohash=r.infohash, mine=r.origin == "published",
                                        last_played=r.last_played or 0.0))
        return out

    def _ports(self) -> tuple[int | None, int | None]:
        return announce_ports(self.node)  # the router's outside ports when mapped

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stop:
                    return
                dirty, self._dirty = self._dirty, False
            try:
                if dirty:
                    # followed artists whose catalog we seed: seekers of the artist find us (spec §9 feeds)
                    extra = self.node.library.catalog_artists(exclude=self.node.library.meta("did"))
                    # tracks our comments, likes and flags are about: seekers of those find us (spec §10)
                    talked = self.node.social.announced_tracks()
                    plan = announce.plan(self._holdings(), cap=self.cap, extra_artists=extra, extra_tracks=talked)
                    self._planned = len(plan)
                    self.scheduler.update(plan, self.monotonic())
                self._announce_due()
            except OspError:
                pass  # the engine closed under us, or one announce failed: the next round retries
            deadline = self.scheduler.next_deadline()
            with self._cond:
                if self._stop:
                    return
                if not self._dirty:
                    wait = 60.0 if deadline is None else max(0.05, min(60.0, deadline - self.monotonic()))
                    self._cond.wait(wait)

    def _announce_due(self) -> None:
        engine = self.node.engine
        if engine is None:
            return
        http, bittorrent = self._ports()
        for item in self.scheduler.due(self.monotonic()):
            port = http if item.port == "http" else bittorrent
            if port is None:
                continue  # no peer listener: nobody could ask us over HTTP
            engine.dht_announce(item.key, port)
            self._announced += 1
            self._last = self.node.clock()

    # -- lookups --------------------------------------------------------------------

    def wait_for_nodes(self, wait: float = BOOTSTRAP_WAIT) -> int:
        """The DHT routing table's size once it is non-empty, polled every 50 ms for at most
        ``wait`` seconds (a fresh engine is still bootstrapping: a lookup started with no
        node ends at once with nothing); 0 when no node answered in time, the engine is not
        running or the DHT is off."""
        engine = self.node.engine
        if engine is None or not self.node.settings.dht:
            return 0
        end = self.monotonic() + max(0.0, wait)
        while True:
            nodes = engine.reachability().dht_nodes
            if nodes > 0 or self.monotonic() >= end:
                return nodes
            time.sleep(0.05)

    def unreachable(self, wait: float = BOOTSTRAP_WAIT) -> str:
        """Why no DHT lookup can run, for error messages: ``"no DHT nodes reachable: the
        routing table is empty after N s (bootstrap: host:port, …)"``."""
        boot = ", ".join(f"{h}:{p}" for h, p in self.node.settings.bootstrap) or "libtorrent's default routers"
        return f"no DHT nodes reachable: the routing table is empty after {wait:.2g} s (bootstrap: {boot})"

    def picker(self, total: int) -> HolderPicker:
        """A ``HolderPicker`` for this node's networks (each loopback address apart when
        private peers are allowed: test networks on 127.0.0.N)."""
        apart = self.node.settings.allow_private_peers
        return HolderPicker(lambda host: network_of(host, loopback_apart=apart), total=total,
                            per_network=MAX_PER_NETWORK)

    def holder_candidates(self, key: RendezvousKey, timeout: float = LOOKUP_TIMEOUT, *, settle: float = LOOKUP_SETTLE,
                          on_candidates: Callable[[list[tuple[str, str, int]]], None] | None = None,
                          exclude: Collection[str] = ()) -> list[tuple[str, str, int]]:
        """``(url, host, port)`` of every peer announced under ``key`` (BEP 5 ``get_peers``,
        blocking up to ``timeout`` s; the lookup ends ``settle`` s after its last new peer,
        see ``Engine.dht_get_peers``), in arrival order, deduplicated, without our own
        listener, the hosts ``bad_peers`` remembers and the URLs in ``exclude``; unfiltered
        otherwise (callers pick with a ``HolderPicker``).  ``on_candidates(batch)`` streams
        the same candidates while the lookup runs, each once, from the engine's alert thread
        (it must not block: put them on a queue); the list returned holds every one of them
        (a batch may come after the return: a caller must take the list as the final word).
        Empty when the engine is not running or the DHT is off."""
        engine = self.node.engine
        if engine is None or not self.node.settings.dht:
            return []
        own = self.node.http_url.rstrip("/") if self.node.http_url else None
        streamed_urls: set[str] = set(exclude)
        guard = threading.Lock()  # batches come from the alert thread, the final list from ours

        def fresh(found: list[tuple[str, int]], seen: set[str]) -> list[tuple[str, str, int]]:
            out: list[tuple[str, str, int]] = []
            for host, port in found:
                url = peer_url(host, port)
                if url == own or url in seen or self.node.bad_peers.is_bad(url):
                    continue
                seen.add(url)
                out.append((url, host, port))
            return out

        def streamed(batch: list[tuple[str, int]]) -> None:
            with guard:
                new = fresh(batch, streamed_urls)
            if new and on_candidates is not None:
                on_candidates(new)

        found = engine.dht_get_peers(key.digest, timeout, settle=settle,
                                     on_peers=streamed if on_candidates is not None else None)
        return fresh(found, set(exclude))  # the final list: every candidate, streamed or not

    def holders(self, key: RendezvousKey, timeout: float = LOOKUP_TIMEOUT, *, settle: float = LOOKUP_SETTLE,
                exclude: Collection[str] = ()) -> list[str]:
        """Peer base URLs announced under ``key`` (``holder_candidates``, with ``settle`` and
        ``exclude``), picked by a ``HolderPicker``: at most ``MAX_HOLDERS``, ``MAX_PER_NETWORK``
        per /24 or /64 and ``HOLDERS_PER_IP`` per address, round-robin across networks
        (random within), no port below 1024."""
        return self.picker(MAX_HOLDERS).pick(self.holder_candidates(key, timeout, settle=settle, exclude=exclude))
