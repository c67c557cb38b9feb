"""The engine's sans-IO DHT request and reachability machines (distribution.dht), fed by hand."""

from __future__ import annotations

from osp.distribution.dht import MutableLookup, PeersLookup, ReachabilityState
from osp.distribution.events import DhtLookups, DhtPeers, ExternalAddress, MutableItem, PortMapFailed, PortMapped

KEY = b"k" * 20
PK = b"p" * 32
SIG = b"s" * 64


def test_peers_lookup_dedups_and_ends_on_a_later_idle_snapshot() -> None:
    lookup = PeersLookup(KEY, stats_index=3)
    assert lookup.feed(DhtPeers(KEY, (("1.2.3.4", 1), ("1.2.3.4", 1), ("5.6.7.8", 0)))) == [("1.2.3.4", 1)]
    assert lookup.feed(DhtPeers(b"x" * 20, (("9.9.9.9", 9),))) == []
    assert lookup.feed(DhtPeers(KEY, (("1.2.3.4", 1), ("::1", 2)))) == [("::1", 2)]
    lookup.feed(DhtLookups(2, ()))  # asked before the lookup started: says nothing
    assert not lookup.done
    lookup.feed(DhtLookups(3, ("get_peers", "put_data")))
    assert not lookup.done
    lookup.feed(DhtLookups(4, ("get",)))
    assert lookup.done and lookup.peers == [("1.2.3.4", 1), ("::1", 2)]


def test_mutable_lookup_keeps_highest_seq_until_authoritative() -> None:
    lookup = MutableLookup(PK, b"salt")
    lookup.feed(MutableItem(PK, b"", 2, b"two", SIG, False))
    lookup.feed(MutableItem(PK, b"", 1, b"one", SIG, False))  # a replay: older
    lookup.feed(MutableItem(b"q" * 32, b"", 9, b"other key", SIG, False))
    assert lookup.best is not None and (lookup.best.seq, lookup.best.value, lookup.best.salt) == (2, b"two", b"salt")
    lookup.feed(MutableItem(PK, b"other salt", 5, b"x", SIG, True))  # another salt's answer
    assert not lookup.done
    lookup.feed(MutableItem(PK, b"salt", 2, b"two", SIG, True))
    assert lookup.done and lookup.best.authoritative


def test_mutable_lookup_not_found() -> None:
    lookup = MutableLookup(PK, b"salt")
    lookup.feed(MutableItem(PK, b"salt", 0, b"", b"\0" * 64, True))
    assert lookup.done and lookup.best is None


def test_reachability() -> None:
    off = ReachabilityState(port_mapping=False)
    off.feed(PortMapped(6881, "upnp"))
    assert off.snapshot(6881, 3).port_mapping == "off"
    on = ReachabilityState(port_mapping=True)
    assert on.snapshot(1, 0).port_mapping == "pending"
    on.feed(PortMapFailed("upnp", "no router"))
    assert on.snapshot(1, 0).port_mapping == "pending"
    on.feed(ExternalAddress("203.0.113.7"))
    on.feed(PortMapFailed("natpmp", "no router"))
    snap = on.snapshot(6881, 12)
    assert (snap.port_mapping, snap.external_ip, snap.dht_nodes, snap.bittorrent_port) == ("failed", "203.0.113.7", 12, 6881)
    on.feed(PortMapped(40000, "natpmp"))
    assert (on.snapshot(1, 0).port_mapping, on.snapshot(1, 0).mapped_port) == ("mapped", 40000)
