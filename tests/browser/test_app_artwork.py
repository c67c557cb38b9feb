"""Cover art in the web app (issue 10): a folder imported with ``osp.node.bulk`` shows each
track's artwork in the library list (small), on the track page (large) and in the player bar,
loaded from the control origin under the app's CSP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from osp.core.settings import Settings
from osp.node import Node
from osp.node.bulk import import_paths
from osp.node.publish import TrackMetadata
from tests.browser.app_helpers import AppPage, open_app, served_with_browser
from tests.browser.chromium import CHROMIUM
from tests.conftest import need
from tests.import_folder import PUBLISHED, make_export_folder

IP = "127.0.0.162"
LOADED = "(sel) => [...document.querySelectorAll(sel)].filter((i) => i.complete && i.naturalWidth > 0).length"


@dataclass
class OneNode:
    control: str
    token: str


@pytest.fixture
def app(tmp_path: Path, music: list[Path]) -> Iterator[tuple[AppPage, Node]]:
    need(Path(CHROMIUM).exists(), "chromium")
    pytest.importorskip("playwright.sync_api")

    folder = make_export_folder(tmp_path / "Exports", music)
    node = Node(Settings(data_dir=tmp_path / "n", listen=(IP, 0), http=(IP, 0), control=(IP, 0), share=(IP, 0),
                         dht=False, allow_private_peers=True))
    node.keystore.create()
    summary = import_paths(node, [folder.root], TrackMetadata())
    assert summary.published == len(PUBLISHED)
    with served_with_browser(node) as (srv, browser):
        page = open_app(browser, OneNode(srv.control_url, srv.token))  # type: ignore[arg-type]
        yield page, node
        page.context.close()


def loaded(app: AppPage, selector: str) -> Any:
    return app.page.evaluate(LOADED, selector)


def test_artwork_in_the_list_the_track_page_and_the_player_bar(app: tuple[AppPage, Node]) -> None:
    page, node = app
    page.go("library", "[data-testid=library] tbody tr")
    page.page.wait_for_function(f"() => ({LOADED})('[data-testid=artwork-small]') === 4", timeout=15_000)
    neon = next(r for r in node.library.tracks() if r.title == "Neon Rain")
    page.go(f"track/{neon.id}", "[data-testid=provenance]")
    page.page.wait_for_function(f"() => ({LOADED})('[data-testid=artwork-large]') === 1", timeout=15_000)
    assert page.page.get_attribute("[data-testid=artwork-large]", "alt") == ""
    page.page.click("main [data-testid=play]")
    page.page.wait_for_function(f"() => ({LOADED})('#player [data-testid=artwork-medium]') === 1", timeout=15_000)
    assert not page.csp_violations() and not [c for c in page.console if "pageerror" in c], page.console
