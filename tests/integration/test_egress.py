"""A hostile peer's torrent cannot steer our engine (design.md §4 "Outbound requests",
§8 "Egress"; issue 6 item 1).

The peer serves a valid signed record and a torrent with the right info dict, but with
``announce``, ``announce-list`` (HTTP and UDP), ``url-list``, ``httpseeds`` and ``nodes``
pointing at a canary on 127.0.0.42 that counts every request.  After ``osp get`` and
after a restart of the fetching node (whose library is also made to hold the hostile
torrent, as older versions stored it), the canary saw nothing, and the fetching node's
own ``/torrent`` names only its own web seed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from osp.distribution.engine import parse_metainfo
from osp.library import Library
from osp.node import TrackMetadata
from tests.integration.nodes import jsonl, node_server, osp, start_node
from tests.interop.fakes import osp_peer, with_outer_fields

CANARY_IP = "127.0.0.42"


class Canary:
    """HTTP and UDP listeners on one loopback address counting every request by field."""

    def __init__(self) -> None:
        hits: Counter[str] = Counter()
        self.hits = hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits[self.path.split("/")[1]] += 1
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer((CANARY_IP, 0), Handler)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((CANARY_IP, 0))
        self.udp.settimeout(0.1)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self.http.serve_forever, daemon=True),
                         threading.Thread(target=self._udp_loop, daemon=True)]
        for t in self._threads:
            t.start()

    def _udp_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.udp.recvfrom(2048)
            except OSError:
                continue
            self.hits["udp-tracker"] += 1

    def fields(self) -> dict[str, object]:
        base = f"http://{CANARY_IP}:{self.http.server_address[1]}"
        udp = f"udp://{CANARY_IP}:{self.udp.getsockname()[1]}/announce"
        return {
            "announce": f"{base}/announce/announce",
            "announce-list": [[f"{base}/announce-list/announce"], [udp]],
            "url-list": [f"{base}/url-list/track.ogg"],
            "httpseeds": [f"{base}/httpseeds/seed"],
            "nodes": [[CANARY_IP, self.udp.getsockname()[1]]],
        }

    def quiet_for(self, seconds: float) -> Counter[str]:
        """Watch for ``seconds`` (returning early at the first hit); the hits seen."""
        deadline = time.monotonic() + seconds
        while not self.hits and time.monotonic() < deadline:
            self._stop.wait(0.05)
        return Counter(self.hits)

    def close(self) -> None:
        self._stop.set()
        self.http.shutdown()
        self.http.server_close()
        for t in self._threads:
            t.join(5)
        self.udp.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    c = Canary()
    try:
        yield c
    finally:
        c.close()


def test_a_peers_torrent_urls_are_never_contacted_kept_or_served(tmp_path: Path, music: list[Path],
                                                                  canary: Canary) -> None:
    with node_server(tmp_path / "a", "127.0.0.41") as seeder:
        published = seeder.node.publish(music[0], TrackMetadata(title="Intro"))
        record, track_id = published.track.record, published.track.id
        evil = with_outer_fields(published.metainfo, canary.fields())
        assert parse_metainfo(evil).infohash == published.infohash
        assert seeder.node.engine is not None
        # the hostile peer API shares the seeder's address, so its BitTorrent port is the seeder's
        with osp_peer("127.0.0.41", record, evil, seeder.node.engine.listen_port) as peer:
            b_dir = tmp_path / "b"
            got = jsonl(osp(b_dir, "get", track_id, "--peer", peer, "--listen", "127.0.0.43:0", "--no-dht",
                            "-o", str(tmp_path / "out.ogg"), "--json", timeout=60))[0]
        assert got["id"] == track_id and (tmp_path / "out.ogg").read_bytes() == music[0].read_bytes()
        assert canary.quiet_for(2.0) == Counter()
        with Library(b_dir / "library.sqlite3") as lib:
            stored = lib.torrent(published.infohash)
            assert stored is not None and CANARY_IP.encode() not in stored.metainfo
            assert stored.resume is None or CANARY_IP.encode() not in stored.resume
            # an older version stored the peer's torrent as received: start-up must rebuild it
            lib.replace_metainfo(published.infohash, evil)
            lib.set_meta("stored-torrents", "as received")  # no "rebuilt" mark: a library of that version

        node_b = start_node(b_dir, 43, init=False)
        try:
            torrent = httpx.get(f"{node_b.http}/osp/v0/tracks/{track_id}/torrent", timeout=10).content
            assert CANARY_IP.encode() not in torrent
            assert parse_metainfo(torrent).web_seeds == (f"{node_b.http}/ipfs/{record['cid']}",)
            assert canary.quiet_for(2.0) == Counter()
        finally:
            node_b.stop()
        with Library(b_dir / "library.sqlite3") as lib:
            stored = lib.torrent(published.infohash)
            assert stored is not None and CANARY_IP.encode() not in stored.metainfo
    assert canary.hits == Counter()
