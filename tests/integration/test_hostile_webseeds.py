"""Hostile web seeds against the node's own web-seed client (``distribution.webseed``).

A real libtorrent engine holds a torrent with no BitTorrent peer; ``WebSeeds`` fetches its
pieces from small loopback HTTP servers: an honest one, and a hostile one that drips bytes,
never answers, answers outside the protocol (wrong ``Content-Range``, too many or too few
bytes, 200 to a Range, a redirect, huge headers) or sends wrong data.  Whatever the hostile
seed does, every piece arrives from the honest one well within the request deadline, the
hostile seed is asked a bounded number of times, and the lanes end when stopped.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from osp.distribution.engine import Engine, make_v1_torrent
from osp.distribution.events import EngineConfig
from osp.distribution.pieces import piece_length_for
from osp.distribution.webseed import MAX_ERRORS, WebSeeds

HONEST_IP, HOSTILE_IP = "127.0.0.81", "127.0.0.82"
DATA = hashlib.shake_256(b"osp hostile web seed").digest(200 * 1024 + 123)  # 13 pieces of 16 KiB
PIECE = piece_length_for(len(DATA))
PIECES = -(-len(DATA) // PIECE)
HASHES = [hashlib.sha1(DATA[i * PIECE:(i + 1) * PIECE]).digest() for i in range(PIECES)]


@contextmanager
def seed(ip: str, mode: str) -> Iterator[tuple[str, Counter[str], threading.Event]]:
    """A web seed serving ``DATA`` at ``/ipfs/x``; yields ``(url, hits, asked)`` where
    ``asked`` is set at its first request.  Modes: ``honest``, ``drip`` (right headers, one
    byte every 0.2 s), ``silent`` (reads the request, never answers), ``range`` (a wrong
    Content-Range), ``long``/``short`` (one byte more/less than asked, then closes),
    ``full`` (200 with the whole file), ``redirect`` (302 to the honest seed), ``headers``
    (200 KB of headers: past httpcore's 100 KB cap), ``same`` (piece 0's bytes for every range)."""
    hits: Counter[str] = Counter()
    asked, stop = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            hits["get"] += 1
            asked.set()
            m = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
            assert m is not None
            first, last = int(m[1]), int(m[2])
            body = DATA[first:last + 1]
            if mode == "silent":
                stop.wait(60)
                return
            if mode == "full":
                return self._send(200, DATA, {})
            if mode == "redirect":
                return self._send(302, b"", {"Location": f"http://{HONEST_IP}/ipfs/x"})
            headers = {"Content-Range": f"bytes {first}-{last}/{len(DATA)}"}
            if mode == "range":
                headers["Content-Range"] = f"bytes {first + 1}-{last + 1}/{len(DATA)}"
            elif mode == "headers":
                headers.update({f"X-Pad-{i}": "a" * 1000 for i in range(200)})
            elif mode == "same":
                body = (DATA[:PIECE] * (len(body) // PIECE + 1))[:len(body)]
            if mode in ("long", "short"):
                self.close_connection = True
                body = DATA[first:last + 2] if mode == "long" else body[:-1]
            if mode == "drip":
                self.send_response(206)
                for k, v in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(k, v)
                self.end_headers()
                for i in range(len(body)):
                    if stop.wait(0.2):
                        return
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                return
            self._send(206, body, headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((ip, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{ip}:{server.server_address[1]}/ipfs/x", hits, asked
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def engine_and_torrent(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    engine = Engine(EngineConfig(listen=("127.0.0.80", 0), dht=False, local_network=True))
    try:
        ih = engine.add(make_v1_torrent("x.bin", len(DATA), HASHES), tmp_path, sequential=True)
        yield engine, ih
    finally:
        engine.close()


def wait_all_pieces(engine: Engine, ih: str, within: float) -> float:
    """Seconds until every piece is verified; fails past ``within`` seconds."""
    start = time.monotonic()
    while not all(engine.have_piece(ih, p) for p in range(PIECES)):
        assert time.monotonic() - start < within, (
            f"pieces missing after {within} s: {[p for p in range(PIECES) if not engine.have_piece(ih, p)]}")
        time.sleep(0.05)  # polling a condition with a deadline
    return time.monotonic() - start


@pytest.mark.parametrize("mode", ["drip", "silent"])
def test_a_stalling_web_seed_holds_no_piece_until_its_deadline(engine_and_torrent: tuple[Engine, str],
                                                                mode: str) -> None:
    """The hostile seed takes the read's first piece before the honest one joins; the honest
    seed asks it again after ``STEAL_AFTER`` s instead of waiting for the 30 s deadline."""
    engine, ih = engine_and_torrent
    with seed(HOSTILE_IP, mode) as (bad_url, _bad_hits, bad_asked), seed(HONEST_IP, "honest") as (url, hits, _):
        seeds = WebSeeds(engine, ih, [bad_url], HASHES, len(DATA), PIECE, allow_private=True, deadline=30.0)
        try:
            seeds.want(list(range(PIECES)))
            seeds.bulk = True
            seeds.start()
            assert bad_asked.wait(10)  # the hostile seed holds piece 0 (and more)
            seeds.add(url)
            took = wait_all_pieces(engine, ih, within=12.0)
            assert took < 12.0 and hits["get"] >= 1
        finally:
            started = time.monotonic()
            seeds.stop()
            assert time.monotonic() - started < 6.0  # a request in flight is cut, the lanes end


@pytest.mark.parametrize("mode", ["range", "long", "short", "full", "redirect", "headers", "same"])
def test_a_web_seed_answering_outside_the_protocol_is_dropped(engine_and_torrent: tuple[Engine, str],
                                                              mode: str) -> None:
    engine, ih = engine_and_torrent
    with seed(HOSTILE_IP, mode) as (bad_url, bad_hits, bad_asked), seed(HONEST_IP, "honest") as (url, _, _):
        seeds = WebSeeds(engine, ih, [bad_url], HASHES, len(DATA), PIECE, allow_private=True, deadline=30.0)
        try:
            seeds.want(list(range(PIECES)))
            seeds.bulk = True
            seeds.start()
            assert bad_asked.wait(10)
            seeds.add(url)
            wait_all_pieces(engine, ih, within=15.0)
            assert bad_hits["get"] <= 2 * MAX_ERRORS, bad_hits  # both lanes, then dropped: no endless retry
        finally:
            seeds.stop()


def test_no_hostile_pieces_reach_the_file(engine_and_torrent: tuple[Engine, str], tmp_path: Path) -> None:
    """After a ``same``-bytes seed and an honest one, the file holds exactly ``DATA``."""
    engine, ih = engine_and_torrent
    with seed(HOSTILE_IP, "same") as (bad_url, _, _), seed(HONEST_IP, "honest") as (url, _, _):
        seeds = WebSeeds(engine, ih, [bad_url, url], HASHES, len(DATA), PIECE, allow_private=True, deadline=30.0)
        try:
            seeds.want(list(range(PIECES)))
            seeds.bulk = True
            seeds.start()
            wait_all_pieces(engine, ih, within=15.0)
        finally:
            seeds.stop()
    got = b"".join(engine.read_piece(ih, p, 10) for p in range(PIECES))
    assert got == DATA and os.path.exists(tmp_path)
