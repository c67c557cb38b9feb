"""The engine's DHT on a private DHT of 8 engines on loopback (127.0.0.180-187, design.md §5):
BEP 5 announce / get_peers, BEP 44 mutable put / get with seq increasing, DHT state across a
restart, message counters, and the listen-port fallback."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from osp.distribution.engine import Engine
from osp.distribution.events import EngineConfig

N = 8
SALT = b"osp/v0/feed"


def host(i: int) -> str:
    return f"127.0.0.{180 + i}"


def poll(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def dht() -> Iterator[list[Engine]]:
    engines: list[Engine] = []
    try:
        for i in range(N):
            engines.append(Engine(EngineConfig(listen=(host(i), 0), local_network=True)))
        for i, engine in enumerate(engines):
            for j in (1, 2, 3, 5):
                k = (i + j) % N
                engine.add_dht_node(host(k), engines[k].listen_port)
        poll(lambda: min(e.reachability().dht_nodes for e in engines) >= 3, 30, "routing tables")
        yield engines
    finally:
        for engine in engines:
            engine.close()


def keypair() -> tuple[bytes, bytes]:
    """(expanded 64-byte secret, 32-byte public key): libtorrent's Ed25519 key format."""
    seed = os.urandom(32)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return bytes(h), public


def test_announce_then_get_peers_from_another_node(dht: list[Engine]) -> None:
    key = hashlib.sha1(b"osp/v0/tag:ambient" + os.urandom(4)).digest()
    dht[0].dht_announce(key, 4321)
    dht[3].dht_announce(key, 4322)
    found: list[tuple[str, int]] = []

    def lookup() -> bool:
        found[:] = dht[6].dht_get_peers(key, timeout=5)
        return len(found) == 2

    poll(lookup, 30, "announced peers found")
    assert sorted(found) == [(host(0), 4321), (host(3), 4322)]


def test_concurrent_lookups_of_same_and_different_keys(dht: list[Engine]) -> None:
    keys = [hashlib.sha1(b"k%d" % i + os.urandom(4)).digest() for i in range(3)]
    for i, key in enumerate(keys):
        dht[i].dht_announce(key, 5000 + i)
    poll(lambda: bool(dht[7].dht_get_peers(keys[2], timeout=5)), 30, "last key announced")
    results: dict[int, list[tuple[str, int]]] = {}
    streamed: list[tuple[str, int]] = []

    def run(slot: int, key: bytes) -> None:
        results[slot] = dht[7].dht_get_peers(key, timeout=10, on_peers=streamed.extend if slot == 0 else None)

    threads = [threading.Thread(target=run, args=(slot, keys[slot % 3])) for slot in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for slot in range(6):
        i = slot % 3
        assert results[slot] == [(host(i), 5000 + i)], (slot, results)
    assert streamed == [(host(0), 5000)]


def test_get_peers_of_unknown_key_ends_before_timeout(dht: list[Engine]) -> None:
    start = time.monotonic()
    assert dht[2].dht_get_peers(os.urandom(20), timeout=20) == []
    assert time.monotonic() - start < 10  # ended with the lookup, not at the deadline


def test_mutable_item_round_trip_with_seq_increasing(dht: list[Engine]) -> None:
    secret, public = keypair()
    assert dht[4].dht_get_mutable(public, SALT, timeout=10) is None
    seqs = []
    for value in (b'{"seq":1}', b'{"seq":2}', b'{"seq":3}'):
        seqs.append(dht[1].dht_put_mutable(secret, public, SALT, value))
        item = dht[5].dht_get_mutable(public, SALT, timeout=10)
        assert item is not None
        assert (item.seq, item.value, item.salt, item.public) == (seqs[-1], value, SALT, public)
        assert item.authoritative and len(item.signature) == 64
    assert seqs == [1, 2, 3]
    # another node under the same key continues from the highest seq it finds
    assert dht[6].dht_put_mutable(secret, public, SALT, b"x") == 4
    # checked against libtorrent's item: the signature is BEP 44's over salt, seq and value
    item = dht[0].dht_get_mutable(public, SALT, timeout=10)
    assert item is not None and item.value == b"x"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    signed = b"4:salt%d:%s3:seqi%de1:v%d:%s" % (len(SALT), SALT, item.seq, len(item.value), item.value)
    Ed25519PublicKey.from_public_bytes(public).verify(item.signature, signed)  # raises if not


def test_put_rejects_bad_sizes(dht: list[Engine]) -> None:
    from osp.core.errors import CallerError
    secret, public = keypair()
    with pytest.raises(CallerError):
        dht[0].dht_put_mutable(secret[:32], public, SALT, b"v")
    with pytest.raises(CallerError):
        dht[0].dht_put_mutable(secret, public, SALT, b"v" * 997)


def test_counters_grow(dht: list[Engine]) -> None:
    before = dht[3].dht_counters()
    dht[3].dht_get_peers(os.urandom(20), timeout=5)
    after = dht[3].dht_counters()
    assert after[0] > before[0] and after[1] > before[1]


def test_state_survives_restart(dht: list[Engine]) -> None:
    engine = Engine(EngineConfig(listen=(host(9), 0), local_network=True))
    try:
        engine.add_dht_node(host(0), dht[0].listen_port)
        poll(lambda: engine.reachability().dht_nodes >= 3, 30, "new node joins")
        state = engine.dht_state()
    finally:
        engine.close()
    again = Engine(EngineConfig(listen=(host(9), 0), local_network=True, dht_state=state))
    try:  # no bootstrap, no add_dht_node: it rejoins through the saved nodes
        poll(lambda: again.reachability().dht_nodes >= 3, 5, "restarted node rejoins at once")
        key = os.urandom(20)
        dht[1].dht_announce(key, 6001)
        poll(lambda: again.dht_get_peers(key, timeout=5) == [(host(1), 6001)], 30, "lookup after restart")
    finally:
        again.close()
    junk = Engine(EngineConfig(listen=(host(9), 0), local_network=True, dht_state=b"junk"))
    junk.close()


def test_no_dht_returns_empty_at_once() -> None:
    engine = Engine(EngineConfig(listen=(host(10), 0), dht=False, local_network=True))
    try:
        start = time.monotonic()
        assert engine.dht_get_peers(os.urandom(20), timeout=10) == []
        assert engine.dht_get_mutable(os.urandom(32), SALT, timeout=2) is None
        assert time.monotonic() - start < 5
        assert engine.dht_counters() == (0, 0)
        reach = engine.reachability()
        assert (reach.port_mapping, reach.dht_nodes, reach.external_ip) == ("off", 0, None)
        assert reach.bittorrent_port == engine.listen_port
    finally:
        engine.close()


def test_taken_port_falls_back() -> None:
    with socket.socket() as taken:
        taken.bind((host(11), 0))
        taken.listen()
        port = taken.getsockname()[1]
        engine = Engine(EngineConfig(listen=(host(11), port), dht=False, local_network=True))
        try:
            assert engine.listen_fallback
            assert engine.listen_port not in (0, port)
        finally:
            engine.close()
