"""The track page draws the remix family tree (views/lineage.js): one node, no DHT, an
original and a remix of it in the library; the remix's page lists the original under
"Derived from" and the original's page the remix under "Derived works", as links a
keyboard reaches, with no CSP violation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from osp.core.settings import Settings
from osp.node import Node
from osp.node.publish import TrackMetadata
from tests.browser.app_helpers import AppPage, open_app, served_with_browser
from tests.browser.chromium import CHROMIUM
from tests.conftest import need

IP = "127.0.0.162"


@dataclass
class OneNode:
    """What ``open_app`` needs of a node."""

    control: str
    token: str


@pytest.fixture
def family(tmp_path: Path, audio_files: dict[str, Path]) -> Iterator[tuple[AppPage, dict[str, str]]]:
    need(Path(CHROMIUM).exists(), "chromium")
    pytest.importorskip("playwright.sync_api")

    node = Node(Settings(data_dir=tmp_path / "n", listen=(IP, 0), http=(IP, 0), control=(IP, 0), share=(IP, 0),
                         dht=False, allow_private_peers=True))
    node.keystore.create()
    original = node.publish(audio_files["ogg"], TrackMetadata(title="Tidal <b>Lines</b>", artist_name="Ada")).track.id
    remix = node.publish(audio_files["mp3"], TrackMetadata(title="Tidal Lines (Rework)", artist_name="Bo",
                                                          provenance={"parents": [original]})).track.id
    with served_with_browser(node) as (srv, browser):
        page = open_app(browser, OneNode(srv.control_url, srv.token))  # type: ignore[arg-type]
        yield page, {"original": original, "remix": remix}
        page.context.close()


def test_the_track_page_draws_the_family_tree(family: tuple[AppPage, dict[str, str]]) -> None:
    app, ids = family
    app.go(f"track/{ids['remix']}", "[data-testid=lineage-parents] a")
    item: Any = app.page.locator("[data-testid=lineage-parents] > li").first
    text = item.text_content() or ""
    assert text.startswith("parent: Tidal <b>Lines</b> — Ada"), text  # record text as text, never markup
    link = item.locator("a").first
    assert link.get_attribute("href") == f"#/track/{ids['original'].replace(':', '%3A')}"
    link.focus()
    assert app.page.evaluate("document.activeElement.textContent") == "Tidal <b>Lines</b>"
    app.page.keyboard.press("Enter")  # keyboard: to the original's page, which lists the remix
    app.page.wait_for_selector("[data-testid=lineage-children] a")
    child = app.page.text_content("[data-testid=lineage-children] > li") or ""
    assert child.startswith("child: Tidal Lines (Rework) — Bo"), child
    assert "Only this node was searched" in (app.page.text_content("[data-testid=lineage]") or "")
    assert not app.csp_violations(), app.csp_violations()
    assert not [m for m in app.console if m.startswith(("error", "pageerror"))], app.console
