"""The two-node scenario on loopback with real music, real processes, real libtorrent.

Node A publishes; node B resolves by id through A, streams and downloads; bytes, CID and
signature are verified.  A tampered record, a corrupt seeder and a peer serving bytes
other than the record's CID are each rejected with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from osp.content.unixfs import cid_of_file
from osp.records import verify_track
from tests.integration.nodes import NodeProc, jsonl, osp, start_node


@pytest.fixture
def node_a(tmp_path: Path, music: list[Path]) -> Iterator[NodeProc]:
    node = start_node(tmp_path / "a", 2)
    yield node
    node.stop()


def publish(node: NodeProc, *files: Path, **flags: str) -> list[dict]:  # type: ignore[type-arg]
    args = [a for k, v in flags.items() for a in (f"--{k.replace('_', '-')}", v) if a != ""]
    return jsonl(osp(node.data_dir, "publish", *map(str, files), *args, "--json"))


def test_publish_resolve_stream_and_get(tmp_path: Path, node_a: NodeProc, music: list[Path]) -> None:
    tracks = publish(node_a, *music, tag="game-music", license="GPL-2.0-only", ai_generator="none")
    assert len(tracks) == 3 and all({"id", "cid", "torrent", "title"} <= set(t) for t in tracks)
    track = next(t for t in tracks if t["title"] == "introzik")

    # B resolves through A: the record is fetched and verified
    b_dir = tmp_path / "b"
    resolved = jsonl(osp(b_dir, "resolve", track["id"], "--peer", node_a.http, "--json"))[0]
    assert resolved["id"] == track["id"] and resolved["record"]["proof"]["cryptosuite"] == "eddsa-jcs-2022"

    # B runs a node; play streams through B's control API while B downloads from A
    node_b = start_node(b_dir, 3)
    try:
        stream = subprocess.run([sys.executable, "-m", "osp", "--data-dir", str(b_dir), "play", track["id"],
                                 "--peer", node_a.http, "-o", "-"], capture_output=True, timeout=60)
        assert stream.returncode == 0, stream.stderr
        assert hashlib.sha256(stream.stdout).digest() == hashlib.sha256(music[0].read_bytes()).digest()

        got = jsonl(osp(b_dir, "get", track["id"], "--peer", node_a.http, "-o", str(tmp_path / "out.ogg"), "--json"))[0]
        assert (tmp_path / "out.ogg").read_bytes() == music[0].read_bytes()
        assert str(cid_of_file(tmp_path / "out.ogg")) == track["cid"] == got["cid"]
        # B now serves the verified record and seeds the file itself
        record = httpx.get(f"{node_b.http}/osp/v0/tracks/{track['id']}").content
        assert verify_track(record).id == track["id"]
        ls = jsonl(osp(b_dir, "ls", "--json"))
        assert [t["id"] for t in ls] == [track["id"]]
    finally:
        err = node_b.stop()
    assert "resume data saved" in err


def test_get_without_a_running_node_and_range_reads(tmp_path: Path, node_a: NodeProc, music: list[Path]) -> None:
    (track,) = publish(node_a, music[2], title="Main theme 2p")
    out = tmp_path / "copy.ogg"
    osp(tmp_path / "c", "get", track["id"], "--peer", node_a.http, "--listen", "127.0.0.4:0", "--no-dht",
        "--allow-private-peers", "-o", str(out))
    assert out.read_bytes() == music[2].read_bytes()
    # the web seed endpoint answers ranges with CORS for browsers
    r = httpx.get(f"{node_a.http}/ipfs/{track['cid']}", headers={"Range": "bytes=100-199", "Origin": "http://x"})
    assert r.status_code == 206 and r.content == music[2].read_bytes()[100:200]
    assert r.headers["access-control-allow-origin"] == "*"


class _Evil(BaseHTTPRequestHandler):
    routes: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802
        body = self.routes.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def evil_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    routes: dict[str, bytes] = {}
    handler = type("Evil", (_Evil,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.5", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.5:{server.server_address[1]}", routes
    server.shutdown()


def test_tampered_record_is_rejected(tmp_path: Path, node_a: NodeProc, music: list[Path], evil_server) -> None:  # type: ignore[no-untyped-def]
    (track,) = publish(node_a, music[0])
    url, routes = evil_server
    record = json.loads(httpx.get(f"{node_a.http}/osp/v0/tracks/{track['id']}").content)
    record["title"] = "Someone else's hit"
    routes[f"/osp/v0/tracks/{track['id']}"] = json.dumps(record).encode()
    proc = osp(tmp_path / "b", "resolve", track["id"], "--peer", url, check=False)
    assert proc.returncode == 5 and "does not match its content" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupt_seeder_is_rejected(tmp_path: Path, node_a: NodeProc, music: list[Path]) -> None:
    """C holds A's torrent and resume data but flipped bytes: every piece fails its hash."""
    (track,) = publish(node_a, music[0])
    node_a.stop()
    c_dir = tmp_path / "c"
    shutil.copytree(node_a.data_dir, c_dir, ignore=shutil.ignore_patterns("node.json"))
    media = next((c_dir / "media").glob("*.ogg"))
    data = bytearray(media.read_bytes())
    for i in range(0, len(data), 4096):
        data[i] ^= 0xFF
    media.write_bytes(bytes(data))
    node_c = start_node(c_dir, 6)
    try:
        proc = osp(tmp_path / "b", "get", track["id"], "--peer", node_c.http, "--listen", "127.0.0.3:0", "--no-dht",
                   "--allow-private-peers", "--stall-timeout", "6", check=False, timeout=60)
    finally:
        node_c.stop()
    assert proc.returncode == 5 and "peers sent corrupt data" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "b" / "media").glob("*.ogg"))


def test_bytes_other_than_the_record_cid_are_rejected(tmp_path: Path, music: list[Path]) -> None:
    """A validly signed record whose torrent carries other bytes: the CID check refuses them."""
    from osp.identity import Keystore
    from osp.library import Library
    from osp.records import build_track, sign_track

    e_dir = tmp_path / "e"
    osp(e_dir, "id", "init")
    (honest,) = jsonl(osp(e_dir, "publish", str(music[1]), "--json"))
    key = Keystore(e_dir / "identity").load()
    fields = {k: v for k, v in honest["record"].items() if k not in ("@context", "type", "version", "id", "proof")}
    fields["cid"] = str(cid_of_file(music[0]))  # claims other audio than the torrent holds
    liar = sign_track(build_track(fields), key, "2026-11-21T00:00:00Z")
    lib = Library(e_dir / "library.sqlite3")
    with lib.transaction() as db:
        db.execute("UPDATE tracks SET id=?, record=? WHERE id=?",
                   (liar["id"], json.dumps(liar).encode(), honest["id"]))
    lib.close()
    node_e = start_node(e_dir, 7)
    try:
        proc = osp(tmp_path / "b", "get", liar["id"], "--peer", node_e.http, "--listen", "127.0.0.3:0", "--no-dht",
                   "--allow-private-peers", check=False, timeout=60)
    finally:
        node_e.stop()
    assert proc.returncode == 5 and "CID" in proc.stderr, proc.stderr
    assert not list((tmp_path / "b" / "media").rglob("*.ogg"))


def test_hybrid_torrent_moves_between_nodes(tmp_path: Path, node_a: NodeProc, music: list[Path]) -> None:
    (track,) = publish(node_a, music[1], title="Hybrid", hybrid="")  # flag without value
    assert "urn:btmh:1220" in track["torrent"]
    out = tmp_path / "hybrid.ogg"
    osp(tmp_path / "d", "get", track["id"], "--peer", node_a.http, "--listen", "127.0.0.4:0", "--no-dht",
        "--allow-private-peers", "-o", str(out))
    assert out.read_bytes() == music[1].read_bytes()
