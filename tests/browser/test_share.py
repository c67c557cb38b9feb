"""The share page (``/t/{id}``) plays a track in headless Chromium over WebTorrent.

A real node (engine + the three listeners, ``node_server``) publishes a real music file;
its share listener serves the page (its own origin, strict CSP) and the WebTorrent tracker
its libtorrent announces to; the page plays with WebTorrent 2.8.5 (vendored) through its
service worker.  Each test reads ``window.ospShare`` (sources by kind, CID check, timings) and the page's own text.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osp.apps.http import NodeServer
from osp.content.unixfs import cid_of_bytes
from osp.node import TrackMetadata
from tests.browser.chromium import CHROMIUM, RTC_ARGS
from tests.conftest import need
from tests.integration.nodes import node_server

HERE = Path(__file__).resolve().parent
JS = HERE.parent / "js" / "node_modules"
SHARE = HERE.parent.parent / "src" / "osp" / "apps" / "web" / "static" / "share"
ARGS = [*RTC_ARGS, "--autoplay-policy=no-user-gesture-required"]
pytestmark = pytest.mark.interop


def share_base(srv: NodeServer) -> str:
    """Base URL of the node's share listener (on the same host as its peer listener: the
    page finds the peer listener at ``location.hostname:peerPort``)."""
    assert srv.share_url.split("//")[1].rsplit(":", 1)[0] == srv.peer_url.split("//")[1].rsplit(":", 1)[0]
    return srv.share_url


PROVENANCE = {"aiGenerated": True, "digitalSourceType": "compositeWithTrainedAlgorithmicMedia",
              "generator": {"name": "Gen", "version": "2"}, "model": "m1", "humanContribution": ["lyrics", "mixing"],
              "parents": [{"id": "osp:track:bagaaieraxj3qg7qo6epjkdfttmhk6i2cedwzi6aq6disilcbuhilliagufwa",
                           "relation": "remix"}]}


def need_browser() -> Any:
    need(Path(CHROMIUM).exists(), "chromium")
    return pytest.importorskip("playwright.sync_api")


@contextlib.contextmanager
def publishing_node(tmp: Path, ip: str, music: Path, *, webtorrent: bool = True) -> Iterator[tuple[NodeServer, dict[str, Any]]]:
    """A node on ``ip`` holding ``music`` as "Intro"; ``webtorrent=False``: its libtorrent
    stays out of the WebTorrent swarm (``osp node --no-webtorrent``)."""
    with node_server(tmp, ip, webtorrent=webtorrent) as srv:
        published = srv.node.publish(music, TrackMetadata(title="Intro", provenance=PROVENANCE))
        yield srv, published.track.record


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, dict[str, Any]]]:
    with publishing_node(tmp_path_factory.mktemp("share"), "127.0.0.51", music[0]) as found:
        yield found


def launch(pw: Any) -> Any:
    return pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


def open_share(browser: Any, base: str, track_id: str, query: str = "", *, rtc: bool = True,
               routes: dict[str, Any] | None = None, **context_options: Any) -> Any:
    """A new context's page on the share page of ``track_id``; console errors collect in
    ``page.share_errors``; ``routes``: URL -> Playwright route handler."""
    context = browser.new_context(**context_options)
    if rtc:
        context.grant_permissions(["microphone"], origin=base)  # host candidates for WebRTC on loopback
    for url, handler in (routes or {}).items():
        context.route(url, handler)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/t/{track_id}{query}")
    page.share_errors = errors
    return page


def share_state(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("() => ({...window.ospShare, audio: undefined, currentTime: window.ospShare.audio.currentTime})")
    return state


def wait_checked(page: Any, timeout_ms: int = 45_000) -> dict[str, Any]:
    """Wait for the CID check's verdict (or an error); return ``window.ospShare``."""
    page.wait_for_function("() => window.ospShare && (window.ospShare.error || !['pending', 'checking']"
                           ".includes(window.ospShare.check.status))", timeout=timeout_ms)
    state = share_state(page)
    assert state["error"] is None, (state, page.share_errors)
    assert not [e for e in page.share_errors if "Content Security Policy" in e]
    return state


def wait_audio(page: Any, seconds: float = 0.2) -> None:
    page.wait_for_function(f"() => window.ospShare.firstAudioAt !== null && window.ospShare.audio.currentTime > {seconds}",
                           timeout=20_000)


def test_the_share_page_plays_from_the_nodes_libtorrent_over_webrtc(node: tuple[NodeServer, dict[str, Any]]) -> None:
    sync_api = need_browser()
    srv, record = node
    base = share_base(srv)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = open_share(browser, base, record["id"], "?webseed=0")
            state = wait_checked(page)
            wait_audio(page)
            shown = {k: page.text_content(f"#{k}") for k in ("title", "license", "check", "src-node", "src-webseed",
                                                             "provenance")}
            assert not page.is_checked("#use-webseed")
        finally:
            browser.close()
    assert state["streaming"] == "service-worker"
    assert state["check"] == {"status": "match", "computed": record["cid"], "reason": None}
    assert state["sources"]["node"] >= record["size"] and state["sources"]["webSeed"] == 0, state
    assert {"type": "webrtc", "kind": "node"} in state["wires"]
    assert shown["title"] == "Intro" and shown["license"] == record["license"]
    assert shown["check"] == f"CID verified: the bytes match {record['cid']}"
    assert shown["src-webseed"] == "0 B" and shown["src-node"] != "0 B"
    assert shown["provenance"] == (
        "AI-generated (as stated by the artist); source: human material combined with AI model output "
        "(IPTC compositeWithTrainedAlgorithmicMedia); with Gen 2, model m1; human contribution: lyrics, mixing; "
        "remix of osp:track:bagaaieraxj3qg7qo6epjkdfttmhk6i2cedwzi6aq6disilcbuhilliagufwa")


@pytest.fixture(scope="module")
def node_off(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, dict[str, Any]]]:
    """A node whose libtorrent stays out of the WebTorrent swarm: browsers reach it only
    through its web seed."""
    with publishing_node(tmp_path_factory.mktemp("share-off"), "127.0.0.52", music[0], webtorrent=False) as found:
        yield found


def test_the_share_page_plays_from_the_web_seed_alone(node_off: tuple[NodeServer, dict[str, Any]]) -> None:
    sync_api = need_browser()
    srv, record = node_off
    base = share_base(srv)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = open_share(browser, base, record["id"])
            state = wait_checked(page)
            wait_audio(page)
        finally:
            browser.close()
    assert state["check"]["status"] == "match" and state["check"]["computed"] == record["cid"]
    assert state["sources"]["webSeed"] >= record["size"] and state["sources"]["node"] == 0, state
    assert state["torrentReadyAt"] is not None and state["firstAudioAt"] > state["torrentReadyAt"]


def test_a_second_browser_gets_the_track_from_the_first(node_off: tuple[NodeServer, dict[str, Any]]) -> None:
    # The node is in no WebRTC swarm (a paused libtorrent 2.1.1 torrent still answers
    # relayed WebRTC offers and uploads): the first browser fetches from the web seed,
    # the second has no web seed, so every byte it gets comes from the first.
    sync_api = need_browser()
    srv, record = node_off
    base = share_base(srv)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            first = open_share(browser, base, record["id"])
            assert wait_checked(first)["check"]["status"] == "match"
            second = open_share(browser, base, record["id"], "?webseed=0")
            state = wait_checked(second)
            shown = second.text_content("#src-browsers")
        finally:
            browser.close()
    assert state["check"]["status"] == "match"
    assert state["sources"]["browsers"] >= record["size"] and state["sources"]["node"] == 0, (state["sources"], state["wires"])
    assert state["sources"]["webSeed"] == 0 and {"type": "webrtc", "kind": "browsers"} in state["wires"]
    assert shown != "0 B"


def test_a_record_whose_cid_is_not_the_contents_stops_playback(node: tuple[NodeServer, dict[str, Any]]) -> None:
    sync_api = need_browser()
    srv, record = node
    forged = {**record, "cid": str(cid_of_bytes(b"not the track"))}
    base = share_base(srv)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            # no service worker (so Playwright sees every request): the page plays from memory
            record_url = f"{srv.peer_url}/osp/v0/tracks/{record['id']}"
            page = open_share(browser, base, record["id"], service_workers="block", routes={record_url: lambda route: route.fulfill(
                status=200, content_type="application/ld+json", body=json.dumps(forged))})
            state = wait_checked(page)
            check = page.text_content("#check")
            status = page.text_content("#status")
            src = page.get_attribute("#audio", "src")
        finally:
            browser.close()
    assert state["streaming"] == "blob"
    assert state["check"]["status"] == "mismatch" and state["check"]["computed"] == record["cid"]
    assert check is not None and "DOES NOT MATCH" in check and record["cid"] in check
    assert src is None and status is not None and status.startswith("Playback stopped")


def test_where_the_page_is_not_a_secure_context_it_plays_from_memory(node: tuple[NodeServer, dict[str, Any]]) -> None:
    sync_api = need_browser()
    srv, record = node
    base = share_base(srv)
    with sync_api.sync_playwright() as pw:
        host = base.split("//")[1].rsplit(":", 1)[0]
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=[*ARGS, f"--host-resolver-rules=MAP share.test {host}"])
        try:
            page = open_share(browser, base.replace(host, "share.test"), record["id"], rtc=False)
            state = wait_checked(page)
            wait_audio(page)
            secure = page.evaluate("() => window.isSecureContext")
            check = page.text_content("#check")
        finally:
            browser.close()
    assert secure is False and state["streaming"] == "blob"  # no service worker there
    assert state["check"]["status"] == "match"  # with digest.js's SHA-256: no Web Crypto there
    assert check is not None and "own JavaScript" in check


def test_the_vendored_webtorrent_is_npms() -> None:
    need((JS / "webtorrent" / "dist" / "webtorrent.min.js").exists(), "tests/js node_modules (npm ci)")
    for name in ("webtorrent.min.js", "sw.min.js"):
        assert (SHARE / "vendor" / name).read_bytes() == (JS / "webtorrent" / "dist" / name).read_bytes()
    assert '"version": "2.8.5"' in (JS / "webtorrent" / "package.json").read_text()


AXE = JS / "axe-core" / "axe.min.js"


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 360, "height": 740}], ids=["desktop", "phone"])
def test_the_share_page_has_no_serious_accessibility_violation(node: tuple[NodeServer, dict[str, Any]],
                                                                viewport: dict[str, int]) -> None:
    sync_api = need_browser()
    need(AXE.exists(), "axe-core in tests/js node_modules")
    srv, record = node
    base = share_base(srv)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            # bypass_csp: only so the test can inject axe; the page itself runs under its CSP in the other tests
            page = open_share(browser, base, record["id"], viewport=viewport, bypass_csp=True)
            wait_checked(page)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => (await axe.run(document)).violations.map(v => ({id: v.id, impact: v.impact, "
                                   "nodes: v.nodes.map(n => n.target.join(' '))}))")
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        finally:
            browser.close()
    assert [v for v in result if v["impact"] in ("serious", "critical")] == []
    assert overflow <= 0  # nothing wider than the screen


def test_the_web_seed_switch_works_from_the_keyboard_with_visible_focus(node: tuple[NodeServer, dict[str, Any]]) -> None:
    sync_api = need_browser()
    srv, record = node
    base = share_base(srv)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = open_share(browser, base, record["id"])
            wait_checked(page)
            for _ in range(10):  # the audio controls come first
                page.keyboard.press("Tab")
                if page.evaluate("() => document.activeElement.id") == "use-webseed":
                    break
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            label = page.evaluate("() => document.activeElement.labels[0].textContent")
            with page.expect_navigation():
                page.keyboard.press("Space")
            state = wait_checked(page)
            checked = page.is_checked("#use-webseed")
        finally:
            browser.close()
    assert outline != "none" and "web seed" in label
    assert page.url.endswith("?webseed=0") and not checked
    assert state["sources"]["webSeed"] == 0 and state["check"]["status"] == "match"


def test_the_share_link_of_a_track_the_node_lacks_says_so(node: tuple[NodeServer, dict[str, Any]]) -> None:
    sync_api = need_browser()
    srv, record = node
    other = record["id"][:-1] + ("a" if record["id"][-1] != "a" else "b")  # a well-formed id of no track here
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = open_share(browser, share_base(srv), other, service_workers="block")
            page.wait_for_function("() => /Cannot play/.test(document.getElementById('status').textContent)", timeout=20_000)
            status = page.text_content("#status") or ""
        finally:
            browser.close()
    assert "this node does not have this track" in status and "HTTP" not in status, status
