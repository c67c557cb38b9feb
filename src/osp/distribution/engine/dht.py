"""The engine's DHT (BEP 5, BEP 44) and reachability calls: ``DhtMixin``, a base of ``Engine``.

Part of ``osp.distribution.engine``, the only package that imports ``libtorrent``.  The
decisions (when a lookup is done, which item is best, what the port mapping state is) are
the sans-IO machines of ``osp.distribution.dht``; this module only starts libtorrent's
requests, turns its DHT, port-mapping and session alerts into typed events
(``_translate_session``) and waits for the answers.  ``Engine`` (``session.py``) owns the
session, the alert thread and the subscribers that these methods use.

Port mapping (UPnP IGD + NAT-PMP, ``EngineConfig.port_mapping``): libtorrent maps the
BitTorrent listen port by itself; ``map_port`` adds the node's peer HTTP port.  libtorrent
numbers mappings per mapper (one UPnP and one NAT-PMP mapper per listen socket), in the
order they were asked: its own TCP and UDP listen-port mappings first, then ours, so a
portmap alert whose mapping index is one ``map_port`` got back is the HTTP mapping.
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import libtorrent as lt

from osp.core.errors import CallerError, PeerError
from osp.distribution.dht import MAX_MUTABLE_VALUE, MutableLookup, PeersLookup, ReachabilityState
from osp.distribution.engine.metainfo import _bdecode
from osp.distribution.events import (
    DhtLookups,
    DhtPeers,
    EngineConfig,
    Event,
    ExternalAddress,
    ListenFailed,
    MutableItem,
    MutablePut,
    PortMapFailed,
    PortMapped,
    Reachability,
    SessionStats,
)

__all__ = ["DhtMixin"]


class DhtMixin:
    """DHT requests and reachability of ``Engine``'s session (see the module docstring).

    Needs, from the class it is mixed into: ``config``, ``_session``, ``_reach``, the
    ``_stats_*`` counters and ``_http_mappings`` (set up by ``_init_dht``), ``listen_port``,
    ``subscribe`` and ``_await``.
    """

    config: EngineConfig
    _session: lt.session
    _reach: ReachabilityState
    _stats_lock: threading.Lock
    _stats_posted: int
    _stats_seen: int
    _http_mappings: frozenset[int]

    if TYPE_CHECKING:
        @property
        def listen_port(self) -> int: ...

        def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]: ...

        def _await(self, matches: Callable[[Event], bool], start: Callable[[], None],
                   timeout: float) -> Event | None: ...

    def _init_dht(self) -> None:
        """Join the DHT through the bootstrap nodes and the saved routing table's nodes, and
        set up this mixin's state (called once the session listens)."""
        for h, p in [*self.config.bootstrap, *_state_nodes(self.config.dht_state)]:
            self._session.add_dht_node((h, p))
        self._reach = ReachabilityState(self.config.port_mapping)
        self._stats_lock = threading.Lock()
        self._stats_posted = 0  # post_dht_stats calls so far (answers arrive in this order)
        self._stats_seen = 0  # DhtLookups events so far
        self._http_mappings = frozenset()  # libtorrent's mapping indices of map_port's mapping

    # -- reachability ------------------------------------------------------------

    def reachability(self) -> Reachability:
        """Ports, external address (``ExternalAddress`` votes), port mapping states (BitTorrent, HTTP) and DHT
        routing table size, now."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # status(): the replacement is asynchronous
            nodes = int(self._session.status().dht_nodes)
        return self._reach.snapshot(self.listen_port, nodes)

    def map_port(self, port: int) -> None:
        """Ask the router to forward TCP ``port`` on its outside to ``port`` here (UPnP IGD
        ``AddPortMapping`` / NAT-PMP, external port = internal port), for the node's peer HTTP
        listener (records, search, web seed); a router may grant another external port.

        Fire and forget: ``reachability().http_mapping`` goes ``pending``, then ``mapped``
        (``http_mapped_port`` is the router's outside port) or ``failed`` (every protocol
        failed, or no listen socket has a mapper: only non-loopback listen addresses have
        one).  A later call replaces the mapping.  libtorrent removes it when the engine
        closes.  No-op when ``EngineConfig.port_mapping`` is off; ``CallerError`` for a port
        outside 1..65535.
        """
        if not 0 < port < 65536:
            raise CallerError(f"not a TCP port: {port}")
        if not self.config.port_mapping:
            return
        for index in self._http_mappings:
            self._session.delete_port_mapping(index)
        self._reach.http_asked()
        indices = self._session.add_port_mapping(lt.portmap_protocol.tcp, port, port)
        self._http_mappings = frozenset(int(i) for i in indices)
        if not self._http_mappings:
            self._reach.http_unmappable()

    # -- DHT (BEP 5, BEP 44) ----------------------------------------------------

    def dht_announce(self, key: bytes, port: int) -> None:
        """Announce (BEP 5 ``announce_peer``) that we hold ``key`` (20 bytes: an infohash or a
        rendezvous key) and serve it on ``port`` (1..65535; our HTTP port for rendezvous keys).
        Fire and forget: libtorrent runs a ``get_peers`` lookup, then announces to the 8
        closest nodes, which keep it about 30 minutes.  ``CallerError`` on a bad key or port."""
        if len(key) != 20 or not 0 < port < 65536:
            raise CallerError("a DHT announce needs a 20-byte key and a port in 1..65535")
        self._session.dht_announce(lt.sha1_hash(key), port, 0)

    def _post_dht_stats(self) -> int:
        """Ask for a ``DhtLookups`` snapshot; returns the ``index`` its answer will carry."""
        with self._stats_lock:
            self._stats_posted += 1
            self._session.post_dht_stats()
            return self._stats_posted

    def dht_get_peers(self, key: bytes, timeout: float = 10.0, *, settle: float = 1.0,
                      on_peers: Callable[[list[tuple[str, int]]], None] | None = None) -> list[tuple[str, int]]:
        """The peers announced under ``key`` (BEP 5 ``get_peers``), as ``(ip, port)`` (IPv4 or
        IPv6), deduplicated, in arrival order.  Unverified hints: any DHT node can lie.

        Blocks until the lookup ends (libtorrent has no "done" alert: ended means its DHT
        stats, polled every 50 ms, show no ``get_peers`` lookup running, which on a busy node
        may be only at the deadline; a lookup also waits for slow or dead nodes), or, once
        peers were found, ``settle`` s pass with no new one, or ``timeout`` s pass; then
        returns what it found (an empty list if nothing; at once when the DHT is off or
        knows no node).  ``on_peers``
        is called from the engine's alert thread with each batch of new peers (it must not
        block).  Lookups of the same or different keys may run at once from several threads.
        """
        if len(key) != 20:
            raise CallerError("a DHT key is 20 bytes")
        lookup: PeersLookup | None = None
        done = threading.Event()
        early: list[Event] = []
        guard = threading.Lock()
        last_new = [0.0]

        def on(event: Event) -> None:
            with guard:
                if lookup is None:
                    early.append(event)
                    return
                new = lookup.feed(event)
                if new:
                    last_new[0] = time.monotonic()
                if lookup.done:
                    done.set()
            if new and on_peers is not None:
                on_peers(new)

        unsubscribe = self.subscribe(on)
        try:
            self._session.dht_get_peers(lt.sha1_hash(key))
            index = self._post_dht_stats()
            with guard:
                lookup = PeersLookup(key, index)
                backlog, early[:] = list(early), []
            for event in backlog:
                on(event)
            deadline = time.monotonic() + timeout
            while not done.is_set():
                now = time.monotonic()
                if now >= deadline or (last_new[0] and now - last_new[0] >= settle):
                    break
                if done.wait(min(0.05, deadline - now)):
                    break
                self._post_dht_stats()
        finally:
            unsubscribe()
        with guard:
            return list(lookup.peers)

    def dht_put_mutable(self, secret: bytes, public: bytes, salt: bytes, value: bytes,
                        timeout: float = 20.0) -> int:
        """Store ``value`` as a BEP 44 mutable item under ``(public, salt)``; returns its ``seq``.

        ``secret`` is libtorrent's 64-byte *expanded* Ed25519 secret (SHA-512 of the seed,
        clamped: ``discovery.feed.expanded_secret``), ``public`` the 32-byte key.  The
        value is stored as a bencoded byte string (``v`` = ``<len>:<value>``), at most
        ``MAX_MUTABLE_VALUE`` (996) bytes.  **The caller does not choose ``seq``**: the 2.1
        binding's put first gets the item (authoritatively), then signs and stores ``seq`` =
        the highest seq it found + 1 (1 when none), so a value that must name its own seq
        (``FeedValue.seq``) is written for ``dht_get_mutable(...).seq + 1`` and the returned
        seq checked.  Raises ``PeerError`` when no DHT node stored it or nothing answered in
        ``timeout`` s, ``CallerError`` on bad sizes.
        """
        if len(secret) != 64 or len(public) != 32:
            raise CallerError("a BEP 44 put needs the 64-byte expanded secret and the 32-byte public key")
        if len(value) > MAX_MUTABLE_VALUE or len(salt) > 64:
            raise CallerError(f"a BEP 44 value is at most {MAX_MUTABLE_VALUE} bytes and a salt at most 64")
        event = self._await(lambda e: isinstance(e, MutablePut) and e.public == public and e.salt == salt,
                            lambda: self._session.dht_put_mutable_item(secret, public, value, salt), timeout)
        if not isinstance(event, MutablePut):
            raise PeerError(f"no DHT node confirmed the put within {timeout:.0f} s")
        if event.num_success == 0:
            raise PeerError("no DHT node stored the item")
        return event.seq

    def dht_get_mutable(self, public: bytes, salt: bytes, timeout: float = 10.0) -> MutableItem | None:
        """The BEP 44 mutable item under ``(public, salt)`` with the highest ``seq`` seen, or
        ``None`` if none was found.  Waits for libtorrent's authoritative answer (every close
        node heard) or ``timeout`` s, then returns the best item seen (``authoritative``
        says which).  libtorrent checked the signature; callers check it again with the salt
        they asked for (``MutableLookup`` explains why), and never trust ``seq`` to be fresh
        (BEP 44 items can be replayed).  ``CallerError`` if ``public`` is not 32 bytes.
        """
        if len(public) != 32:
            raise CallerError("a BEP 44 public key is 32 bytes")
        lookup = MutableLookup(public, salt)

        def feed(event: Event) -> bool:
            lookup.feed(event)
            return lookup.done

        self._await(feed, lambda: self._session.dht_get_mutable_item(public, salt), timeout)
        return lookup.best

    def dht_state(self) -> bytes:
        """The DHT's node id and routing table nodes, bencoded (``write_session_params_buf``
        with ``save_dht_state`` only), for ``EngineConfig.dht_state`` next time: a restart
        rejoins through the nodes it knew.  libtorrent keeps the saved node id only while it
        still fits the external address (BEP 42), and makes a new one otherwise."""
        flags = lt.save_state_flags_t.save_dht_state
        return bytes(lt.write_session_params_buf(self._session.session_state(flags), flags))

    def dht_counters(self, timeout: float = 5.0) -> tuple[int, int]:
        """``(messages in, messages out)`` of the DHT since the session started (libtorrent
        counters ``dht.dht_messages_in`` / ``dht.dht_messages_out``); ``(0, 0)`` if libtorrent
        did not answer within ``timeout`` s."""
        event = self._await(lambda e: isinstance(e, SessionStats), self._session.post_session_stats, timeout)
        if not isinstance(event, SessionStats):
            return 0, 0
        return event.values.get("dht.dht_messages_in", 0), event.values.get("dht.dht_messages_out", 0)

    def add_dht_node(self, host: str, port: int) -> None:
        """Ping a DHT node; it enters the routing table when it answers (a private DHT's
        nodes are seeded this way: a bootstrap router alone never enters routing tables)."""
        self._session.add_dht_node((host, port))

    # -- alerts ----------------------------------------------------------------

    def _translate_session(self, alert: lt.alert) -> Event | None:
        """DHT, reachability and session-wide alerts."""
        if isinstance(alert, lt.dht_get_peers_reply_alert):
            peers = tuple((str(ip), int(port)) for ip, port in alert.peers())
            return DhtPeers(bytes(alert.info_hash.to_bytes()), peers)
        if isinstance(alert, lt.dht_stats_alert):
            self._stats_seen += 1
            return DhtLookups(self._stats_seen, tuple(str(r["type"]) for r in alert.active_requests))
        if isinstance(alert, lt.dht_mutable_item_alert):
            item = alert.item
            if not isinstance(item, bytes):
                return None  # not a byte string: not an item we store
            # the non-authoritative alert's salt dangles in libtorrent 2.1 (see MutableLookup)
            salt = bytes(alert.salt) if alert.authoritative else b""
            return MutableItem(bytes(alert.key), salt, int(alert.seq), item, bytes(alert.signature),
                               bool(alert.authoritative))
        if isinstance(alert, lt.dht_put_alert):
            return MutablePut(bytes(alert.public_key), bytes(alert.salt), int(alert.seq), bytes(alert.signature),
                              int(alert.num_success))
        if isinstance(alert, lt.session_stats_alert):
            return SessionStats({str(k): int(v) for k, v in alert.values.items()})
        if isinstance(alert, lt.external_ip_alert):
            return ExternalAddress(str(alert.external_address))
        if isinstance(alert, lt.portmap_alert):
            return PortMapped(int(alert.external_port), _portmap_protocol(alert), self._mapped_service(alert))
        if isinstance(alert, lt.portmap_error_alert):
            return PortMapFailed(_portmap_protocol(alert), alert.message(), self._mapped_service(alert))
        if isinstance(alert, lt.listen_failed_alert):
            return ListenFailed(f"{alert.address}:{alert.port}", alert.message())
        return None

    def _mapped_service(self, alert: Any) -> str:
        """``http`` for an alert about ``map_port``'s mapping, ``bittorrent`` otherwise."""
        return "http" if int(alert.mapping) in self._http_mappings else "bittorrent"


def _portmap_protocol(alert: Any) -> str:
    """``upnp`` or ``natpmp`` for a portmap alert."""
    return "natpmp" if "natpmp" in str(getattr(alert, "map_transport", "")).lower() else "upnp"


def _state_nodes(dht_state: bytes | None, cap: int = 200) -> list[tuple[str, int]]:
    """The routing table nodes saved in ``dht_state`` (compact BEP 5 endpoints: 6 bytes for
    IPv4, 18 for IPv6), at most ``cap``.  libtorrent 2.1 does not ping them itself when the
    session starts from ``session_params`` with listen interfaces set, so we add them."""
    if not dht_state:
        return []
    try:
        decoded = _bdecode(dht_state)
    except RuntimeError:  # not bencoded
        return []
    state = decoded.get(b"dht state") if isinstance(decoded, dict) else None
    if not isinstance(state, dict):
        return []
    found: list[tuple[str, int]] = []
    for field, size, family in ((b"nodes", 6, socket.AF_INET), (b"nodes6", 18, socket.AF_INET6)):
        entries = state.get(field)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, bytes) and len(entry) == size:
                found.append((socket.inet_ntop(family, entry[:-2]), int.from_bytes(entry[-2:], "big")))
    return found[:cap]
