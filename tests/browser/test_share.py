"""The share page (``/t/{id}``) plays a track in headless Chromium over WebTorrent.

A real node (engine + listeners, ``node_server``) publishes a real music file; the page
is served at its own origin with the share listener's headers (strict CSP) and plays
with WebTorrent 2.8.5 (vendored) through its service worker.  Each test reads
``window.ospShare`` (sources by kind, CID check, timings) and the page's own text.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from osp.apps.http import NodeServer
from osp.node import TrackMetadata
from tests.browser.chromium import CHROMIUM, RTC_ARGS
from tests.conftest import need
from tests.integration.nodes import node_server

HERE = Path(__file__).resolve().parent
JS = HERE.parent / "js" / "node_modules"
SHARE = HERE.parent.parent / "src" / "osp" / "apps" / "web" / "static" / "share"
ARGS = [*RTC_ARGS, "--autoplay-policy=no-user-gesture-required"]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss: http: https:; "
       "media-src 'self' blob:; img-src 'self' data: blob:; worker-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}

pytestmark = pytest.mark.interop


@contextlib.contextmanager
def fake_share_listener(host: str, config: dict[str, Any]) -> Iterator[str]:
    """The share listener's routes and headers over ``static/share`` (until the node's own
    listener is used): ``/t/*``, ``/share/*``, ``/sw.min.js``, ``/config.json``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            file: Path | None = None
            body, ctype = b"", "text/plain"
            if path.startswith("/t/"):
                file = SHARE / "share.html"
            elif path == "/sw.min.js":
                file = SHARE / "vendor" / "sw.min.js"
            elif path.startswith("/share/") and ".." not in path:
                file = SHARE / path.removeprefix("/share/")
            elif path == "/config.json":
                body, ctype = json.dumps(config).encode(), "application/json"
            if file is not None and file.is_file():
                body, ctype = file.read_bytes(), TYPES.get(file.suffix, "application/octet-stream")
            self.send_response(200 if body else 404)
            for name, value in (("Content-Type", ctype), ("Content-Length", str(len(body))),
                                ("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                                ("Referrer-Policy", "no-referrer")):
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def share_site(srv: NodeServer) -> Iterator[str]:
    """Base URL of the node's share listener, or a stand-in serving the same files."""
    real = getattr(srv, "share_url", None)
    if real:
        yield real
        return
    peer_port = int(srv.peer_url.rsplit(":", 1)[1])
    with fake_share_listener(srv.peer_url.split("//")[1].rsplit(":", 1)[0], {"peer": None, "peerPort": peer_port}) as url:
        yield url


def need_browser() -> Any:
    need(Path(CHROMIUM).exists(), "chromium")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, dict[str, Any]]]:
    with node_server(tmp_path_factory.mktemp("share"), "127.0.0.51") as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        yield srv, published.track.record


def open_share(browser: Any, base: str, track_id: str, query: str = "") -> Any:
    context = browser.new_context()
    context.grant_permissions(["microphone"], origin=base)  # host candidates for WebRTC on loopback
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/t/{track_id}{query}")
    page.share_errors = errors
    return page


def wait_done(page: Any, timeout_ms: int = 45_000) -> dict[str, Any]:
    page.wait_for_function("() => window.ospShare && (window.ospShare.error || (window.ospShare.check.status !== 'pending'"
                           " && window.ospShare.check.status !== 'checking'))", timeout=timeout_ms)
    state: dict[str, Any] = page.evaluate("() => ({...window.ospShare, audio: undefined, currentTime: window.ospShare.audio.currentTime})")
    assert state["error"] is None, (state, page.share_errors)
    return state


def test_the_share_page_plays_from_the_web_seed_and_checks_the_cid(node: tuple[NodeServer, dict[str, Any]]) -> None:
    sync_api = need_browser()
    srv, record = node
    with share_site(srv) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = open_share(browser, base, record["id"])
            state = wait_done(page)
            page.wait_for_function("() => window.ospShare.firstAudioAt !== null && window.ospShare.audio.currentTime > 0.2",
                                   timeout=20_000)
            shown = {k: page.text_content(f"#{k}") for k in ("title", "license", "check", "src-webseed")}
        finally:
            browser.close()
    assert state["streaming"] == "service-worker"
    assert state["check"]["status"] == "match" and state["check"]["computed"] == record["cid"]
    assert state["sources"]["webSeed"] > 0, state
    assert shown["title"] == "Intro" and shown["license"] == record["license"]
    assert shown["check"] == f"CID verified: the bytes match {record['cid']}"
