"""Our trustless gateway against an independent IPFS client, and our verifying client
against a lying gateway.

Peer: ``@helia/verified-fetch`` with Helia's trustless-gateway block broker (npm; Node 20
needs the ``Promise.withResolvers`` polyfill and undici 7.30.2, see tests/js).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.content.cid import CID
from osp.core.errors import IntegrityError
from osp.distribution.gateway_client import GatewayClient
from osp.node import TrackMetadata
from tests.conftest import need
from tests.integration.nodes import node_server, osp

JS = Path(__file__).resolve().parents[1] / "js"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, dict]]:  # type: ignore[type-arg]
    with node_server(tmp_path_factory.mktemp("gw"), "127.0.0.13", cid_profile="kubo-cidv1-256k-174") as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        yield srv, published.track.record


def test_verified_fetch_reads_a_track_from_our_gateway(gateway, music: list[Path]) -> None:  # type: ignore[no-untyped-def]
    need(shutil.which("node") is not None, "node")
    need((JS / "node_modules" / "@helia" / "verified-fetch").exists(), "tests/js node_modules (npm ci)")
    srv, record = gateway
    proc = subprocess.run(["node", str(JS / "verified_fetch.mjs"), srv.peer_url, record["cid"], "40000"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    data = music[0].read_bytes()
    assert result == {"status": 200, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


class LyingGateway(BaseHTTPRequestHandler):
    """Proxies a real gateway but flips one byte of every leaf block it serves."""

    upstream = ""

    def do_GET(self) -> None:  # noqa: N802
        resp = httpx.get(self.upstream + self.path, headers={"Accept": self.headers.get("Accept", "*/*")})
        body = resp.content
        if CID.decode(self.path.split("/")[2].split("?")[0]).codec == 0x55 and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        self.send_response(resp.status_code)
        self.send_header("Content-Type", resp.headers.get("content-type", "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def liar(gateway) -> Iterator[str]:  # type: ignore[no-untyped-def]
    srv, _ = gateway
    handler = type("Liar", (LyingGateway,), {"upstream": srv.peer_url})
    server = ThreadingHTTPServer(("127.0.0.14", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.14:{server.server_address[1]}"
    server.shutdown()


def test_our_client_verifies_every_block(gateway, music: list[Path]) -> None:  # type: ignore[no-untyped-def]
    srv, record = gateway
    out = io.BytesIO()
    with GatewayClient(srv.peer_url, allow_private=True) as client:  # loopback: the guard is on by default
        client.fetch_file(CID.decode(record["cid"]), out, record["size"])
    assert out.getvalue() == music[0].read_bytes()


def test_a_gateway_serving_a_wrong_block_is_rejected(gateway, liar: str) -> None:  # type: ignore[no-untyped-def]
    _, record = gateway
    with GatewayClient(liar, allow_private=True) as client, pytest.raises(IntegrityError) as exc:
        client.fetch_file(CID.decode(record["cid"]), io.BytesIO(), record["size"])
    assert exc.value.check == "block" and "do not match" in exc.value.message


def test_osp_get_from_a_gateway(gateway, liar: str, tmp_path: Path, music: list[Path]) -> None:  # type: ignore[no-untyped-def]
    srv, record = gateway
    bad = osp(tmp_path / "x", "get", record["id"], "--peer", srv.peer_url, "--gateway", liar, check=False)
    assert bad.returncode == 5 and "do not match block" in bad.stderr
    assert not list((tmp_path / "x" / "media").rglob("*.ogg"))
    out = tmp_path / "fetched.ogg"
    osp(tmp_path / "x", "get", record["id"], "--peer", srv.peer_url, "--gateway", srv.peer_url, "-o", str(out))
    assert out.read_bytes() == music[0].read_bytes()
