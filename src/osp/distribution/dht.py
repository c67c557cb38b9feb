"""Sans-IO state of the engine's DHT requests and of the node's reachability.

libtorrent answers DHT requests with alerts, several per request and with no "lookup
finished" alert for ``get_peers``; these small state machines take the engine's typed
events (``osp.distribution.events``) and decide what a caller gets and when it is done.
``Engine`` (the only module that imports libtorrent) drives them; tests feed them events
by hand.  No I/O, no clock: deadlines stay with the caller.

Rules (BEP 5 ``get_peers``, BEP 44 ``get``/``put``):

==============  =====================================  ===============================
machine         event                                  effect
==============  =====================================  ===============================
PeersLookup     ``DhtPeers`` for its key               new ``(ip, port)`` kept, in order
PeersLookup     ``DhtLookups`` (index >= its own)      done if no ``get_peers`` runs
MutableLookup   ``MutableItem`` for its key and salt   best (highest ``seq``) kept
MutableLookup   the authoritative ``MutableItem``      done
Reachability    ``ExternalAddress``                    external address replaced
Reachability    ``PortMapped``                         mapping ``mapped``
Reachability    ``PortMapFailed``                      ``failed`` once both protocols failed
==============  =====================================  ===============================
"""

from __future__ import annotations

from osp.distribution.events import (
    DhtLookups,
    DhtPeers,
    Event,
    ExternalAddress,
    MutableItem,
    PortMapFailed,
    PortMapped,
    Reachability,
)

#: BEP 44: a stored value (bencoded) is at most 1000 bytes; a byte string of 996 bytes bencodes to 1000
MAX_MUTABLE_VALUE = 996

#: libtorrent's names of the lookups that can answer a ``get_peers`` (``announce`` runs one too)
_GET_PEERS_LOOKUPS = frozenset({"get_peers", "obfuscated_get_peers"})


class PeersLookup:
    """One ``get_peers`` lookup of ``key``.

    ``stats_index`` is the ``DhtLookups.index`` of the first DHT snapshot asked for after
    the lookup started: only that snapshot or later ones can say it ended.  libtorrent does
    not say which lookup is which, so "ended" means no ``get_peers`` lookup runs at all
    (conservative: a busy DHT ends the wait at the caller's deadline instead).
    """

    def __init__(self, key: bytes, stats_index: int) -> None:
        if len(key) != 20:
            raise ValueError("a DHT key is 20 bytes")
        self.key = key
        self.stats_index = stats_index
        self.peers: list[tuple[str, int]] = []
        self._seen: set[tuple[str, int]] = set()
        self.done = False

    def feed(self, event: Event) -> list[tuple[str, int]]:
        """Take one event; returns the peers it added (deduplicated, in arrival order)."""
        if isinstance(event, DhtPeers) and event.key == self.key:
            new = []
            for p in event.peers:
                if p not in self._seen and 0 < p[1] < 65536:
                    self._seen.add(p)
                    new.append(p)
            self.peers.extend(new)
            return new
        if isinstance(event, DhtLookups) and event.index >= self.stats_index:
            if not _GET_PEERS_LOOKUPS.intersection(event.active):
                self.done = True
        return []


class MutableLookup:
    """One BEP 44 ``get`` of the item under ``(public, salt)``.

    libtorrent 2.1's non-authoritative ``dht_mutable_item_alert`` carries a dangling salt
    (reading it gives other bytes or ``MemoryError``), so the engine sends those with an
    empty salt and they are matched on the key alone and given our ``salt``; the caller
    verifies the signature over ``(salt, seq, value)`` again (``discovery.feed.verify_item``),
    which an item stored under another salt fails.  The authoritative item (libtorrent
    heard from every close node) ends the lookup; an authoritative answer with no
    signature means "nothing stored".
    """

    def __init__(self, public: bytes, salt: bytes) -> None:
        self.public = public
        self.salt = salt
        self.best: MutableItem | None = None
        self.done = False

    def feed(self, event: Event) -> None:
        if not isinstance(event, MutableItem) or event.public != self.public:
            return
        if event.authoritative and event.salt != self.salt:
            return
        found = event.signature.strip(b"\0") != b""
        if found and (self.best is None or event.seq > self.best.seq):
            self.best = MutableItem(self.public, self.salt, event.seq, event.value, event.signature,
                                    event.authoritative)
        elif found and self.best is not None and event.authoritative and event.seq == self.best.seq:
            self.best = MutableItem(self.public, self.salt, event.seq, self.best.value, self.best.signature, True)
        if event.authoritative:
            self.done = True


class ReachabilityState:
    """What the engine learned about reachability (``port_mapping``: UPnP + NAT-PMP asked)."""

    PROTOCOLS = ("upnp", "natpmp")

    def __init__(self, port_mapping: bool) -> None:
        self.external_ip: str | None = None
        self.mapping = "pending" if port_mapping else "off"
        self.mapped_port: int | None = None
        self._failed: set[str] = set()

    def feed(self, event: Event) -> None:
        if isinstance(event, ExternalAddress):
            self.external_ip = event.ip
        elif isinstance(event, PortMapped) and self.mapping != "off":
            self.mapping = "mapped"
            self.mapped_port = event.external_port
        elif isinstance(event, PortMapFailed) and self.mapping in ("pending", "failed"):
            self._failed.add(event.protocol)
            if self._failed >= set(self.PROTOCOLS):
                self.mapping = "failed"

    def snapshot(self, bittorrent_port: int, dht_nodes: int) -> Reachability:
        return Reachability(bittorrent_port, self.external_ip, self.mapping, self.mapped_port, dht_nodes)
