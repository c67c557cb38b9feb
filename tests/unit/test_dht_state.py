"""The engine's sans-IO DHT request and reachability machines (distribution.dht), fed by hand."""

from __future__ import annotations

from osp.distribution.dht import MutableLookup, PeersLookup, ReachabilityState, bep44_signing_bytes
from osp.distribution.events import DhtLookups, DhtPeers, ExternalAddress, MutableItem, PortMapFailed, PortMapped
from osp.identity.keys import SigningKey

KEY = b"k" * 20
SIGNER = SigningKey.from_seed(b"\x07" * 32)
PK = SIGNER.public_key
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


def _signed(salt: bytes, seq: int, value: bytes) -> bytes:
    return SIGNER.sign(bep44_signing_bytes(salt, seq, value))


def test_mutable_lookup_keeps_highest_seq_until_authoritative() -> None:
    lookup = MutableLookup(PK, b"salt")
    lookup.feed(MutableItem(PK, b"", 2, b"two", _signed(b"salt", 2, b"two"), False))
    lookup.feed(MutableItem(PK, b"", 1, b"one", _signed(b"salt", 1, b"one"), False))  # a replay: older
    lookup.feed(MutableItem(b"q" * 32, b"", 9, b"other key", SIG, False))
    assert lookup.best is not None and (lookup.best.seq, lookup.best.value, lookup.best.salt) == (2, b"two", b"salt")
    lookup.feed(MutableItem(PK, b"other salt", 5, b"x", SIG, True))  # another salt's answer
    assert not lookup.done
    lookup.feed(MutableItem(PK, b"salt", 2, b"two", _signed(b"salt", 2, b"two"), True))
    assert lookup.done and lookup.best.authoritative


def test_mutable_lookup_ignores_items_that_do_not_verify_for_its_salt() -> None:
    """Another salt's item (or dangling alert bytes) with a higher seq never hides the real one."""
    lookup = MutableLookup(PK, b"salt")
    lookup.feed(MutableItem(PK, b"", 9, b"other", _signed(b"other salt", 9, b"other"), False))
    lookup.feed(MutableItem(PK, b"", 7, b"junk", b"\x01" * 64, False))
    assert lookup.best is None
    lookup.feed(MutableItem(PK, b"", 3, b"mine", _signed(b"salt", 3, b"mine"), False))
    assert lookup.best is not None and lookup.best.value == b"mine"


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


def test_reachability_tracks_the_http_mapping_apart() -> None:
    state = ReachabilityState(port_mapping=True)
    state.feed(PortMapped(8787, "upnp", "http"))  # not asked yet: ignored
    assert state.snapshot(6881, 0).http_mapping == "off"
    state.http_asked()
    state.feed(PortMapped(6881, "upnp"))  # the BitTorrent port's mapping
    snap = state.snapshot(6881, 0)
    assert (snap.port_mapping, snap.mapped_port, snap.http_mapping, snap.http_mapped_port) == (
        "mapped", 6881, "pending", None)
    state.feed(PortMapFailed("upnp", "conflict", "http"))
    assert state.snapshot(6881, 0).http_mapping == "pending"
    state.feed(PortMapFailed("natpmp", "no router", "http"))
    assert state.snapshot(6881, 0).http_mapping == "failed" and state.mapping == "mapped"
    state.feed(PortMapped(40001, "natpmp", "http"))
    snap = state.snapshot(6881, 0)
    assert (snap.http_mapping, snap.http_mapped_port) == ("mapped", 40001)
    state.http_asked()  # a new map_port: pending again
    assert state.snapshot(6881, 0).http_mapping == "pending"
    state.http_unmappable()
    assert state.snapshot(6881, 0).http_mapping == "failed"
