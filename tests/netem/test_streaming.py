"""Streaming over emulated home links (issue 7), with real nodes and a real decoder.

Each node runs in its own network namespace behind a ``home`` link (20 Mbit/s down,
2 Mbit/s up, ``tc tbf``): a 3 MB track takes ~12 s to cross the seeder's uplink, so
"quickly" is checked by *how much* had arrived when a read was answered, never by a
wall-clock threshold: a tail read or a seek that waited for the sequential download
would be answered only after most of the file was in.
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.netem.harness import Network, wait_for
from tests.netem.nodes import NetNode, decode_until_audio, stream_url

KiB = 1024


def transfer(node: NetNode, track_id: str) -> dict[str, Any]:
    state: dict[str, Any] = node.api("GET", f"/api/transfers/{track_id}")
    return state


def fetch(node: NetNode, track_id: str, peers: str | list[str]) -> None:
    node.api("POST", "/api/fetch", {"track": track_id, "peer": peers})


def get_range(node: NetNode, track_id: str, first: int, last: int | None = None) -> bytes:
    """Bytes of the listener's ``/stream/`` (inside its namespace)."""
    def call() -> bytes:
        rng = f"bytes={first}-{'' if last is None else last}"
        r = httpx.get(f"{node.control}/stream/{track_id}", headers={"Authorization": f"Bearer {node.token}",
                                                                    "Range": rng}, timeout=60)
        assert r.status_code == 206, r.status_code
        return r.content

    return node.host.run(call, within=90)


def test_a_tail_read_and_a_seek_land_long_before_the_download_ends(net: Network, mp3: Path, tmp_path: Path) -> None:
    seeder = NetNode.start(net.add("home"), tmp_path / "seeder")
    listener = NetNode.start(net.add("home"), tmp_path / "listener")
    try:
        line = seeder.publish(mp3, "Home link")
        tid, size, duration = line["id"], line["record"]["size"], float(line["record"]["duration"])
        fetch(listener, tid, seeder.peer)
        tail = get_range(listener, tid, size - 64 * KiB)  # what a demuxer probes first
        got = transfer(listener, tid)["verified"]
        assert tail == mp3.read_bytes()[-64 * KiB:]
        assert got < size // 3, f"the tail came after {got} of {size} bytes: it waited for the read-ahead"

        # a player seeking to 80 % while the rest downloads: decoded audio from there
        listener.host.run(decode_until_audio, stream_url(listener, tid), seek=0.8 * duration, timeout=60,
                          fast_seek=True)  # by byte estimate, as browsers seek an MP3
        state = transfer(listener, tid)
        assert state["state"] == "downloading" and state["verified"] < size * 0.8, state
    finally:
        seeder.stop()
        listener.stop()


def test_a_track_plays_from_a_home_seeder_with_a_seekable_decoder(net: Network, music: list[Path],
                                                                 tmp_path: Path) -> None:
    seeder = NetNode.start(net.add("home"), tmp_path / "seeder")
    listener = NetNode.start(net.add("home"), tmp_path / "listener")
    try:
        line = seeder.publish(music[1], "Ogg over a home link")  # Ogg: ffmpeg reads its last 64 KiB first
        tid, size = line["id"], line["record"]["size"]
        fetch(listener, tid, seeder.peer)
        listener.host.run(decode_until_audio, stream_url(listener, tid), timeout=60)
        assert transfer(listener, tid)["verified"] < size // 3  # played while most of it was still on the way
        wait_for(lambda: transfer(listener, tid)["state"] == "complete", 60, "the download")
        assert hashlib.sha256(get_range(listener, tid, 0)).digest() == hashlib.sha256(music[1].read_bytes()).digest()
    finally:
        seeder.stop()
        listener.stop()


def test_a_stalled_peer_is_replaced_without_the_stream_stopping(net: Network, mp3: Path, tmp_path: Path) -> None:
    """Two seeders named at once; one freezes (SIGSTOP: its connections stay open and go
    silent, the worst kind of peer) right after playback starts; the whole stream still
    arrives, from the other one, verified."""
    a = NetNode.start(net.add("home"), tmp_path / "a")
    b = NetNode.start(net.add("home"), tmp_path / "b")
    listener = NetNode.start(net.add("home"), tmp_path / "listener")
    frozen = False
    try:
        line = a.publish(mp3, "Two seeders")
        b.publish(mp3, "Two seeders")  # the same audio: the same CID and torrent
        tid = line["id"]
        fetch(listener, tid, [a.peer, b.peer])
        listener.host.run(decode_until_audio, stream_url(listener, tid), timeout=60)
        os.kill(a.proc.pid, signal.SIGSTOP)
        frozen = True
        body = get_range(listener, tid, 0)  # a player reading on to the end (no gap of 60 s: httpx's read timeout)
        assert hashlib.sha256(body).digest() == hashlib.sha256(mp3.read_bytes()).digest()
        assert transfer(listener, tid)["hashFailures"] == 0
    finally:
        if frozen:
            os.kill(a.proc.pid, signal.SIGCONT)
        for node in (a, b, listener):
            node.stop()
