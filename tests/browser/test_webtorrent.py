"""WebTorrent in headless Chromium downloads a track from our node.

The page lives on another origin than the node; WebTorrent 2.8.5 (npm, browser build)
fetches the track's torrent from the node's peer API and the bytes from the torrent's
web seed, the node's trustless-gateway file URL (BEP 19 with CORS and Range); or, with a
torrent without web seed, over WebRTC from the node's libtorrent, the two meeting at the
node's own WebTorrent tracker (the share listener's ``/announce``), which libtorrent
joined by itself (``Settings.webtorrent``).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.apps.http import NodeServer
from osp.distribution.engine import with_web_seeds
from osp.node import TrackMetadata
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import need
from tests.integration.nodes import node_server
from tests.interop.fakes import serve

HERE = Path(__file__).resolve().parent
JS = HERE.parent / "js" / "node_modules"

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, dict]]:  # type: ignore[type-arg]
    with node_server(tmp_path_factory.mktemp("wt"), "127.0.0.41") as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        yield srv, published.track.record


@contextlib.contextmanager
def page_server(host: str, extra: dict[str, tuple[bytes, str]] | None = None) -> Iterator[str]:
    files = {f"/{name}": ((HERE / name).read_bytes(), "text/html") for name in ("webtorrent.html", "webtorrent-rtc.html")}
    files["/webtorrent.min.js"] = ((JS / "webtorrent" / "dist" / "webtorrent.min.js").read_bytes(), "text/javascript")
    files.update(extra or {})

    def routes(path: str) -> tuple[int, str, bytes]:
        entry = files.get(path.split("?")[0])
        return (200, entry[1], entry[0]) if entry else (404, "text/plain", b"")

    with serve(host, routes) as url:
        yield url


def test_webtorrent_in_chromium_downloads_through_the_web_seed(node, music: list[Path]) -> None:  # type: ignore[no-untyped-def]
    need(Path(CHROMIUM).exists(), "chromium")
    need((JS / "webtorrent" / "dist" / "webtorrent.min.js").exists(), "tests/js node_modules (npm ci)")
    sync_api = pytest.importorskip("playwright.sync_api")
    srv, record = node
    torrent_url = f"{srv.peer_url}/osp/v0/tracks/{record['id']}/torrent"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            with page_server("127.0.0.40") as base:
                page.goto(f"{base}/webtorrent.html?torrent={torrent_url}")
                page.wait_for_function("window.result !== undefined", timeout=45_000)
                result = page.evaluate("window.result")
        finally:
            browser.close()
    data = music[0].read_bytes()
    assert result.get("error") is None, result
    assert result["size"] == len(data) and result["sha256"] == hashlib.sha256(data).hexdigest()
    assert result["infoHash"] == record["torrent"][20:60]
    assert result["webSeeds"] == [f"{srv.peer_url}/ipfs/{record['cid']}"]


def test_webtorrent_in_chromium_downloads_from_libtorrent_over_webrtc(node, music: list[Path]) -> None:  # type: ignore[no-untyped-def]
    need(Path(CHROMIUM).exists(), "chromium")
    need((JS / "webtorrent" / "dist" / "webtorrent.min.js").exists(), "tests/js node_modules (npm ci)")
    sync_api = pytest.importorskip("playwright.sync_api")
    srv, record = node
    infohash = bytes.fromhex(record["torrent"][20:60])
    announce = "ws" + srv.share_url.removeprefix("http") + "/announce"
    deadline = time.monotonic() + 20
    while srv.tracker.tracker.swarm(infohash) != (1, 0):  # libtorrent announced by itself, as a seeder
        assert time.monotonic() < deadline, "libtorrent did not join the node's WebTorrent tracker"
        time.sleep(0.05)
    bare_torrent = with_web_seeds(srv.node.metainfo_for(record["id"]), [])
    extra = {"/bare.torrent": (bare_torrent, "application/x-bittorrent")}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=[*CHROMIUM_ARGS, "--allow-loopback-in-peer-connection"])
        try:
            with page_server("127.0.0.40", extra) as base:
                context = browser.new_context()
                context.grant_permissions(["microphone"], origin=base)  # exposes host candidates to WebRTC
                page = context.new_page()
                page.goto(f"{base}/webtorrent-rtc.html?torrent={base}/bare.torrent&tracker={announce}")
                page.wait_for_function("window.result !== undefined", timeout=50_000)
                result = page.evaluate("window.result")
        finally:
            browser.close()
    data = music[0].read_bytes()
    assert result.get("error") is None, result
    assert result["webSeeds"] == [] and "webrtc" in result["wires"], result
    assert result["size"] == len(data) and result["sha256"] == hashlib.sha256(data).hexdigest()
    stats = srv.tracker.stats()
    assert stats.offers_relayed >= 1 and stats.answers_relayed >= 1, stats  # the WebRTC signalling went through us
