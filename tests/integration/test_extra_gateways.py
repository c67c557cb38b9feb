"""Extra IPFS gateways (``--gateway``, ``Settings.gateways``; issue 7 "More fallbacks").

The fetching node B asks a peer API that serves the signed record and torrent but whose
BitTorrent port is closed and whose own web seed answers 404: no BitTorrent source is
reachable except through the configured gateways.  The gateways are small loopback HTTP
servers over the publisher's verified file and blocks: an honest one (Range 206 and raw
blocks), a liar (206 with wrong bytes, wrong blocks: the hostile peer) and one without
Range support (200 to every Range request, honest blocks).  Every byte is checked by
piece hash (libtorrent) and CID (the node).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from osp.content.cid import CID
from osp.core.errors import IntegrityError
from osp.core.settings import Settings
from osp.distribution.engine import parse_metainfo
from osp.distribution.gateway import Gateway
from osp.node import Node, TrackMetadata, Transfer
from tests.integration.nodes import jsonl, osp, start_node
from tests.interop.fakes import free_port, osp_peer

PEER_IP, HONEST_IP, LIAR_IP, NORANGE_IP = "127.0.0.61", "127.0.0.62", "127.0.0.63", "127.0.0.64"


@dataclass
class Published:
    record: dict  # type: ignore[type-arg]
    metainfo: bytes
    data: bytes
    blocks: dict[str, bytes]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[Published]:
    """The track as a publisher holds it: record, torrent, file bytes and every block."""
    root = tmp_path_factory.mktemp("publisher")
    node = Node(Settings(data_dir=root, dht=False, control=("127.0.0.1", 0)))
    try:
        node.keystore.create()
        pub = node.publish(music[0], TrackMetadata(title="Intro"))
        gw = Gateway(node.library, root)
        blocks = {str(cid): data for cid, data in gw.walk(CID.decode(pub.track.record["cid"]))}
        yield Published(pub.track.record, pub.metainfo, music[0].read_bytes(), blocks)
    finally:
        node.close()


@dataclass
class FakeGateway:
    url: str
    hits: Counter[str]  #: "probe", "range" (a 206 past the probe), "full" (a 200 to a Range), "block"
    served: threading.Event  #: set once a non-probe range was answered


@contextmanager
def gateway(ip: str, pub: Published, mode: str, wait_for: threading.Event | None = None) -> Iterator[FakeGateway]:
    """``mode``: ``honest``, ``liar`` or ``norange``.  An honest gateway given ``wait_for``
    holds its file ranges until that event is set (at most 20 s), so the liar is heard first."""
    hits: Counter[str] = Counter()
    served = threading.Event()
    cid, size = pub.record["cid"], len(pub.data)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            path, _, query = self.path.partition("?")
            name = path.removeprefix("/ipfs/")
            if query == "format=raw":
                hits["block"] += 1
                block = pub.blocks.get(name)
                if block is None:
                    return self._send(404, b"")
                return self._send(200, b"\0" * len(block) if mode == "liar" else block,
                                  {"Content-Type": "application/vnd.ipld.raw"})
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if name != cid or not m:
                return self._send(404, b"")
            start, end = int(m[1]), min(int(m[2] or size - 1), size - 1)
            probe = (start, end) == (0, 0)
            hits["probe" if probe else ("full" if mode == "norange" else "range")] += 1
            if mode == "norange":
                return self._send(200, pub.data)
            if not probe and wait_for is not None:
                wait_for.wait(20)
            body = pub.data[start:end + 1]
            if mode == "liar" and not probe:
                body = bytes(b ^ 0x5A for b in body)
            self._send(206, body, {"Content-Range": f"bytes {start}-{end}/{size}"})
            if not probe:
                served.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((ip, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeGateway(f"http://{ip}:{server.server_address[1]}", hits, served)
    finally:
        served.set()
        server.shutdown()
        server.server_close()


@contextmanager
def dead_end_peer(pub: Published) -> Iterator[str]:
    """A peer API with the record and torrent, a closed BitTorrent port and no /ipfs/."""
    with osp_peer(PEER_IP, pub.record, pub.metainfo, free_port(PEER_IP)) as url:
        yield url


@contextmanager
def fetcher(tmp_path: Path, *gateways: str) -> Iterator[Node]:
    node = Node(Settings(data_dir=tmp_path / "b", listen=("127.0.0.65", 0), http=("127.0.0.65", 0),
                         control=("127.0.0.1", 0), dht=False, allow_private_peers=True, gateways=gateways,
                         request_deadline=10.0))
    try:
        node.start_engine()
        yield node
    finally:
        node.close()


def stored_bytes(node: Node, transfer: Transfer) -> bytes:
    row = node.library.track(transfer.track.id)
    assert row is not None
    file = node.library.file(row.cid)
    assert file is not None
    return (node.settings.data_dir / file.path).read_bytes()


def assert_no_gateway_stored_or_served(node: Node, transfer: Transfer, *gateways: FakeGateway) -> None:
    """What B stores and would hand to peers on ``/torrent`` names no gateway (issue 6's
    egress rules: only our own web seed is served)."""
    stored = node.library.torrent(transfer.info.infohash)
    assert stored is not None
    for metainfo in (stored.metainfo, node.metainfo_for(transfer.track.id)):
        assert not any(u.startswith(g.url) for u in parse_metainfo(metainfo).web_seeds for g in gateways)


def test_an_honest_gateway_alone_delivers_as_a_web_seed(tmp_path: Path, published: Published) -> None:
    with gateway(HONEST_IP, published, "honest") as honest, dead_end_peer(published) as peer, \
            fetcher(tmp_path, honest.url) as node:
        transfer = node.fetch(published.record["id"], peer, stall_timeout=30)
        state = transfer.wait(45)
        assert state.state == "complete", state
        assert stored_bytes(node, transfer) == published.data
        assert honest.hits["probe"] == 1 and honest.hits["range"] >= 1  # a web seed, not the block fallback
        assert honest.hits["block"] == 0
        assert_no_gateway_stored_or_served(node, transfer, honest)


def test_a_lying_gateway_is_banned_and_an_honest_one_delivers(tmp_path: Path, published: Published) -> None:
    liar_heard = threading.Event()
    with gateway(LIAR_IP, published, "liar") as liar, \
            gateway(HONEST_IP, published, "honest", wait_for=liar_heard) as honest, \
            dead_end_peer(published) as peer, fetcher(tmp_path, liar.url, honest.url) as node:
        threading.Thread(target=lambda: liar_heard.set() if liar.served.wait(20) else None, daemon=True).start()
        transfer = node.fetch(published.record["id"], peer, stall_timeout=30)
        state = transfer.wait(45)
        assert state.state == "complete", state
        assert liar.hits["range"] >= 1 and state.hash_failures >= 1  # the liar's pieces failed, visibly
        assert liar.hits["range"] <= 2  # libtorrent bans it at its first corrupt piece
        _, seeds = node.engine.sources(transfer.info.infohash)  # type: ignore[union-attr]
        assert not any(s.startswith(liar.url) for s in seeds)
        data = stored_bytes(node, transfer)
        assert hashlib.sha256(data).digest() == hashlib.sha256(published.data).digest()
        assert honest.hits["block"] == liar.hits["block"] == 0
        assert_no_gateway_stored_or_served(node, transfer, liar, honest)


def test_a_stall_falls_back_to_blocks_past_a_liar_to_a_gateway_without_range(tmp_path: Path,
                                                                             published: Published) -> None:
    """The liar passes the probe (it is banned as a web seed), the Range-less gateway fails it;
    BitTorrent stalls, the gateways are tried in order block by block: the liar's first
    block is rejected, the Range-less gateway delivers."""
    with gateway(LIAR_IP, published, "liar") as liar, gateway(NORANGE_IP, published, "norange") as norange, \
            dead_end_peer(published) as peer, fetcher(tmp_path, liar.url, norange.url) as node:
        transfer = node.fetch(published.record["id"], peer, stall_timeout=3)
        state = transfer.wait(45)
        assert state.state == "complete", state
        assert stored_bytes(node, transfer) == published.data
        assert norange.hits["probe"] == 1 and norange.hits["range"] == 0  # never a web seed
        assert norange.hits["block"] == len(published.blocks)
        assert liar.hits["block"] == 1  # its first block failed its CID: the next gateway
        assert state.hash_failures >= 1


def test_no_reachable_peer_uses_the_gateways_and_names_each_failure(tmp_path: Path, published: Published) -> None:
    record_file = tmp_path / "track.json"
    record_file.write_text(json.dumps(published.record))
    down = f"http://{PEER_IP}:{free_port(PEER_IP)}"  # nothing listens there
    with gateway(LIAR_IP, published, "liar") as liar, gateway(NORANGE_IP, published, "norange") as norange:
        with fetcher(tmp_path / "1", liar.url) as node:
            started = time.monotonic()
            with pytest.raises(IntegrityError) as info:
                node.fetch(str(record_file), down)
            message = str(info.value)
            assert liar.url in message and "do not match block" in message and down in message, message
            assert time.monotonic() - started < 30
        with fetcher(tmp_path / "2", liar.url, norange.url) as node:
            transfer = node.fetch(str(record_file), down)
            assert transfer.state.state == "complete"
            assert stored_bytes(node, transfer) == published.data


def test_osp_node_gateway_flag_reaches_the_running_node(tmp_path: Path, published: Published) -> None:
    """``osp node --gateway URL`` (the CLI path): ``osp get`` through it is served by the gateway."""
    with gateway(HONEST_IP, published, "honest") as honest, dead_end_peer(published) as peer:
        node = start_node(tmp_path / "b", 66, "--gateway", honest.url)
        try:
            got = jsonl(osp(node.data_dir, "get", published.record["id"], "--peer", peer, "--stall-timeout", "30",
                            "--json"))[0]
            assert Path(got["path"]).read_bytes() == published.data
            assert honest.hits["range"] >= 1
        finally:
            err = node.stop()
        assert f"extra gateway       {honest.url}" in err
