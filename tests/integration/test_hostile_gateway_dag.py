"""A hostile gateway (or a hostile artist's DAG) against ``GatewayClient.fetch_file`` and
the artwork fetch: every block is genuine (it matches its CID) but the DAG is built to
make the fetcher ask forever (a fan-out of empty nodes), or it answers one slow byte at a
time.  The fetch must end with a clear error, in bounded requests and bounded time.

Real HTTP servers on 127.0.0.N (port 0)."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from osp.content.cid import CID, DAG_PB, RAW
from osp.content.dagpb import PBLink, encode_node, encode_unixfs_file
from osp.core.errors import IntegrityError, PeerError
from osp.distribution.gateway_client import GatewayClient, block_budget


@contextmanager
def gateway(ip: str, blocks: dict[str, bytes], *, drip: float = 0.0) -> Iterator[tuple[str, Counter[str]]]:
    """A trustless gateway serving ``blocks`` (CID string → bytes) at ``/ipfs/{cid}?format=raw``;
    with ``drip`` it sends one byte every ``drip`` seconds."""
    hits: Counter[str] = Counter()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            hits["get"] += 1
            cid = self.path.split("/ipfs/", 1)[-1].split("?", 1)[0]
            body = blocks.get(cid)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.ipld.raw")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not drip:
                self.wfile.write(body)
                return
            for i in range(len(body)):
                if stop.wait(drip):
                    return
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((ip, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{ip}:{server.server_address[1]}", hits
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def dag_bomb(fanout: int, depth: int, claimed: int) -> tuple[CID, dict[str, bytes]]:
    """A genuine dag-pb DAG whose root claims ``claimed`` bytes while every node holds no
    data and links ``fanout`` times to the single node of the level below: ``fanout**depth``
    block requests for a naive depth-first walk, with no payload to count."""
    blocks: dict[str, bytes] = {}
    leaf = encode_node(encode_unixfs_file(b""))
    cid = CID.of(leaf, codec=DAG_PB)
    blocks[str(cid)] = leaf
    for level in range(depth):
        sizes = [0] * fanout if level < depth - 1 else [0] * (fanout - 1) + [claimed]
        node = encode_node(encode_unixfs_file(b"", sizes), [PBLink(cid, "", 1)] * fanout)
        cid = CID.of(node, codec=DAG_PB)
        blocks[str(cid)] = node
    return cid, blocks


def run_bounded(fn: object, within: float) -> BaseException | None:
    """Run ``fn()`` on a thread; the exception it raised, or fail if it is still running
    after ``within`` seconds (the attack worked)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            fn()  # type: ignore[operator]
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(within)
    assert outcome, f"the fetch was still running after {within} s"
    return outcome[0]


def test_a_dag_of_empty_nodes_fanning_out_ends_in_a_bounded_number_of_requests() -> None:
    root, blocks = dag_bomb(fanout=200, depth=3, claimed=100_000)  # 8 million requests unbounded
    with gateway("127.0.0.61", blocks) as (base, hits), GatewayClient(base, allow_private=True, deadline=5) as c:
        error = run_bounded(lambda: c.fetch_file(root, io.BytesIO(), 100_000), within=30)
    assert isinstance(error, IntegrityError), error
    assert "blocks" in error.message
    assert hits["get"] <= block_budget(100_000) + 1


def test_a_genuine_file_fits_its_block_budget() -> None:
    """The budget leaves an honest DAG alone: 40 raw leaves of 1 KiB under one root."""
    leaves = [bytes([i]) * 1024 for i in range(40)]
    cids = [CID.of(leaf, codec=RAW) for leaf in leaves]
    root_node = encode_node(encode_unixfs_file(b"", [1024] * 40), [PBLink(c, "", 1024) for c in cids])
    root = CID.of(root_node, codec=DAG_PB)
    blocks = {str(c): leaf for c, leaf in zip(cids, leaves, strict=True)} | {str(root): root_node}
    out = io.BytesIO()
    with gateway("127.0.0.62", blocks) as (base, _hits), GatewayClient(base, allow_private=True, deadline=5) as c:
        assert c.fetch_file(root, out, 40 * 1024, max_blocks=41) == 40 * 1024
        with pytest.raises(IntegrityError, match="blocks"):
            c.fetch_file(root, io.BytesIO(), 40 * 1024, max_blocks=40)
    assert out.getvalue() == b"".join(leaves)


def test_a_slow_gateway_cannot_hold_a_fetch_past_its_overall_deadline() -> None:
    """Each block arrives just inside the per-request deadline; ``until`` ends the whole
    file, not only one block."""
    leaves = [bytes([i]) * 8 for i in range(20)]
    cids = [CID.of(leaf, codec=RAW) for leaf in leaves]
    root_node = encode_node(encode_unixfs_file(b"", [8] * 20), [PBLink(c, "", 8) for c in cids])
    root = CID.of(root_node, codec=DAG_PB)
    blocks = {str(c): leaf for c, leaf in zip(cids, leaves, strict=True)} | {str(root): root_node}
    with gateway("127.0.0.63", blocks, drip=0.1) as (base, _hits), \
            GatewayClient(base, allow_private=True, deadline=5) as c:
        started = time.monotonic()
        error = run_bounded(lambda: c.fetch_file(root, io.BytesIO(), 160, until=time.monotonic() + 2), within=20)
        elapsed = time.monotonic() - started
    assert isinstance(error, PeerError), error
    assert elapsed < 4, elapsed  # 20 leaves × 0.8 s would be 16 s


# --- the artwork fetch (osp.node.artwork.ensure_artwork) ------------------------------------


def png(width: int, height: int) -> bytes:
    """A real, tiny PNG (one grey row repeated)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = (b"\x00" + b"\x80" * width) * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def art_node(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A library-level node that believes a record names every artwork CID asked for, with
    a 2 s request deadline and private peers allowed (127.0.0.N)."""
    from pathlib import Path

    from osp.core.settings import Settings
    from osp.node import artwork
    from osp.node.core import Node

    node = Node(Settings(data_dir=Path(str(tmp_path)) / "n", dht=False, allow_private_peers=True,
                         request_deadline=2.0))
    monkeypatch.setattr(artwork, "artwork_named_by", lambda library, cid: ["osp:track:b" + "a" * 58])
    yield node
    node.close()


def serve_image(data: bytes) -> tuple[str, dict[str, bytes]]:
    from osp.node.artwork import import_image

    cid, blocks = import_image(data, "unixfs-v1-2025")
    return cid, {str(b.cid): (b.data if b.data is not None else data[b.offset:b.offset + b.length]) for b in blocks}


def test_a_dripping_artwork_source_is_given_up_within_one_deadline_for_all_sources(
        art_node: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from osp.core.errors import NotFoundError
    from osp.node import artwork

    cid, blocks = serve_image(png(16, 16))
    with gateway("127.0.0.65", blocks, drip=0.05) as (a, _), gateway("127.0.0.66", blocks, drip=0.05) as (b, _), \
            gateway("127.0.0.67", blocks, drip=0.05) as (c, _), gateway("127.0.0.68", blocks, drip=0.05) as (d, _):
        monkeypatch.setattr(artwork, "artwork_sources", lambda node, ids: [a, b, c, d])
        started = time.monotonic()
        error = run_bounded(lambda: artwork.ensure_artwork(art_node, cid), within=30)  # type: ignore[arg-type]
        elapsed = time.monotonic() - started
    assert isinstance(error, NotFoundError), error
    assert elapsed < 3.5, f"{elapsed:.1f} s: each source got its own deadline"  # 4 sources × 2 s before


def test_artwork_fetches_at_once_are_capped_and_an_honest_one_still_arrives(
        art_node: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from osp.node import artwork

    image = png(8, 8)
    cid, blocks = serve_image(image)
    stalled = [serve_image(png(9 + i, 9)) for i in range(artwork.MAX_FETCHES)]
    slow_blocks = {k: v for _cid, bl in stalled for k, v in bl.items()}
    with gateway("127.0.0.69", slow_blocks, drip=0.2) as (slow, hits), gateway("127.0.0.70", blocks) as (honest, _):
        monkeypatch.setattr(artwork, "artwork_sources",
                            lambda node, ids: [honest] if ids == ["honest"] else [slow])
        threads = [threading.Thread(target=lambda c=c: run_bounded(
            lambda: artwork.ensure_artwork(art_node, c), within=20), daemon=True)  # type: ignore[arg-type]
            for c, _bl in stalled]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while hits["get"] < artwork.MAX_FETCHES and time.monotonic() < deadline:  # both fetches are being served
            time.sleep(0.01)
        with pytest.raises(artwork.ArtworkBusy):
            artwork.ensure_artwork(art_node, cid)  # type: ignore[arg-type]
        for t in threads:
            t.join(20)
        monkeypatch.setattr(artwork, "artwork_named_by", lambda library, c: ["honest"])
        row = artwork.ensure_artwork(art_node, cid)  # type: ignore[arg-type]
    assert row.mime == "image/png"
    assert (art_node.settings.data_dir / row.path).read_bytes() == image  # type: ignore[attr-defined]
