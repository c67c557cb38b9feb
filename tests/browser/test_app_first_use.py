"""A new user's first minutes with the web app, on one node: a dropped file that is not
audio is refused with its name said once, and the header's track count follows a publish
at once ("1 track", not "0 tracks" until the next poll)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from osp.core.settings import Settings
from osp.node import Node
from tests.browser.app_helpers import AppPage, drop_file, open_app, served_with_browser
from tests.browser.chromium import CHROMIUM
from tests.conftest import need

IP = "127.0.0.161"


@dataclass
class OneNode:
    """What ``open_app`` needs of a node."""

    control: str
    token: str


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AppPage]:
    need(Path(CHROMIUM).exists(), "chromium")
    pytest.importorskip("playwright.sync_api")

    node = Node(Settings(data_dir=tmp_path / "n", listen=(IP, 0), http=(IP, 0), control=(IP, 0), share=(IP, 0),
                         dht=False, allow_private_peers=True))
    node.keystore.create()
    with served_with_browser(node) as (srv, browser):
        page = open_app(browser, OneNode(srv.control_url, srv.token))  # type: ignore[arg-type]
        yield page
        page.context.close()


def test_a_refused_file_is_named_once_and_the_track_count_follows_a_publish(app: AppPage, tmp_path: Path,
                                                                             music: list[Path]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio\n")
    app.go("publish", "[data-testid=dropzone]")
    app.wait_js("/· 0 tracks/.test(document.getElementById('node-status').textContent)")
    drop_file(app, "[data-testid=dropzone]", notes, mime="text/plain")
    app.page.wait_for_selector("[data-testid=chosen-files] li")
    app.page.click("[data-testid=publish]")
    app.page.wait_for_selector("[data-testid=refused]", timeout=45_000)
    refused = app.page.text_content("[data-testid=refused]") or ""
    assert refused.startswith("notes.txt: is not an audio file"), refused
    assert refused.count("notes.txt") == 1, refused
    app.page.set_input_files("[data-testid=file-input]", str(music[0]))
    app.page.click("[data-testid=publish]")
    app.page.wait_for_selector("[data-testid=published-id]", timeout=45_000)
    app.wait_js("/· 1 track ·/.test(document.getElementById('node-status').textContent)", timeout=5)
    assert not [c for c in app.console if "pageerror" in c], app.console


def test_an_unknown_track_in_the_url_is_said_in_the_apps_words(app: AppPage) -> None:
    app.go("track/osp:track:bagaaieradfgixa4afxf5ch5dh4u5itoluyk7ctazj5q3qnzd76ktjxsfiydb", "[role=alert]")
    text = app.page.text_content("main [role=alert]") or ""
    assert "No track osp:track:bagaaieradfgixa4afxf5ch5dh4u5itoluyk7ctazj5q3qnzd76ktjxsfiydb in your library" in text, text
    assert "--peer" not in text and "not on the DHT" in text, text


def test_an_empty_file_dropped_is_said_to_be_left_out(app: AppPage, tmp_path: Path) -> None:
    empty = tmp_path / "empty.ogg"
    empty.write_bytes(b"")
    app.go("publish", "[data-testid=dropzone]")
    drop_file(app, "[data-testid=dropzone]", empty)
    app.wait_js("/Left out \\(empty\\): empty\\.ogg/.test(document.querySelector('[data-testid=publish-status]').textContent)", timeout=5)
