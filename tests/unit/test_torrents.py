"""Torrents we add and store are rebuilt from the verified info dictionary alone
(design.md §8 "Egress"): a peer's trackers, web seeds and DHT nodes never reach libtorrent."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from osp.distribution.engine import (
    Engine,
    make_hybrid_torrent,
    make_v1_torrent,
    parse_metainfo,
    rebuild_torrent,
)
from osp.distribution.events import EngineConfig, Event, ResumeDataSaved
from osp.distribution.pieces import piece_length_for
from tests.interop.fakes import with_outer_fields

EVIL = "http://127.0.0.1:9"  # the discard port: nothing answers there
HOSTILE = {
    "announce": f"{EVIL}/announce",
    "announce-list": [[f"{EVIL}/a/announce"], ["udp://127.0.0.1:9/announce"]],
    "url-list": [f"{EVIL}/seed.ogg"],
    "httpseeds": [f"{EVIL}/httpseed"],
    "nodes": [["127.0.0.1", 9]],
    "comment": "hi",
    "created by": "evil",
}


def hostile(metainfo: bytes) -> bytes:
    """``metainfo`` with every outbound field a peer could set (info dict verbatim)."""
    return with_outer_fields(metainfo, HOSTILE)


def v1_torrent(size: int = 700_000) -> bytes:
    data = os.urandom(size)
    piece = piece_length_for(size)
    hashes = [hashlib.sha1(data[i:i + piece]).digest() for i in range(0, size, piece)]
    return make_v1_torrent("x.ogg", size, hashes)


@pytest.mark.parametrize("kind", ["v1", "hybrid"])
def test_rebuild_keeps_the_infohash_and_only_our_urls(kind: str, tmp_path: Path) -> None:
    if kind == "v1":
        original = v1_torrent()
    else:
        path = tmp_path / "x.ogg"
        path.write_bytes(os.urandom(700_000))
        original = make_hybrid_torrent(path)
    evil = hostile(original)
    before = parse_metainfo(evil)
    assert before.web_seeds and EVIL.encode() in evil
    ours = ["http://127.0.0.9:8787/ipfs/bafy"]
    rebuilt = rebuild_torrent(evil, trackers=["ws://127.0.0.9:8000"], web_seeds=ours)
    after = parse_metainfo(rebuilt)
    assert (after.infohash, after.infohash_v2) == (before.infohash, before.infohash_v2)
    assert after.web_seeds == tuple(ours)
    assert b"127.0.0.1" not in rebuilt and b"httpseeds" not in rebuilt and b"nodes" not in rebuilt
    assert b"comment" not in rebuilt and b"created by" not in rebuilt
    assert b"announce" in rebuilt and b"ws://127.0.0.9:8000" in rebuilt
    assert (b"12:piece layers" in rebuilt) == (kind == "hybrid")  # BEP 52: kept for hybrid torrents
    assert rebuild_torrent(evil) == rebuild_torrent(rebuilt)  # deterministic; only the info dict counts
    assert b"url-list" not in rebuild_torrent(evil)


def test_resume_data_cannot_bring_back_a_peers_trackers(tmp_path: Path) -> None:
    """Resume data saved while a peer's torrent ran (older versions) carries its trackers
    and web seeds; adding it again with the rebuilt torrent uses only the rebuilt one's."""
    evil = hostile(v1_torrent())
    saved: list[bytes] = []
    got = threading.Event()

    def on(event: Event) -> None:
        if isinstance(event, ResumeDataSaved):
            saved.append(event.data)
            got.set()

    config = EngineConfig(listen=("127.0.0.1", 0), dht=False, local_network=True)
    first = Engine(config)
    try:
        first.subscribe(on)
        ih = first.add(evil, tmp_path)
        trackers, seeds = first.sources(ih)
        assert trackers and seeds  # what a peer's torrent used to do to us
        assert first.request_resume_data(ih) == [ih]
        assert got.wait(20), "no resume data within 20 s"
    finally:
        first.close()
    assert EVIL.encode() in saved[0]
    second = Engine(config)
    try:
        ih = second.add(rebuild_torrent(evil, web_seeds=["http://127.0.0.9/ipfs/x"]), tmp_path, resume=saved[0])
        assert second.sources(ih) == ([], ["http://127.0.0.9/ipfs/x"])
    finally:
        second.close()
