"""Audio analysis in the web app, on one node: a track page shows its tempo, key, loudness
and true peak and a "More like this" list; the search page filters by BPM and key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from osp.core.settings import Settings
from osp.node import Node
from osp.node.publish import TrackMetadata
from tests.audio_set import Piece
from tests.browser.app_helpers import AppPage, open_app, served_with_browser
from tests.browser.chromium import CHROMIUM
from tests.conftest import need

IP = "127.0.0.162"


@dataclass
class OneNode:
    """What ``open_app`` needs of a node."""

    control: str
    token: str


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, rendered_set: list[Piece]) -> Iterator[tuple[AppPage, dict[int, str]]]:
    """The app on a node holding three analysed pieces (80, 100 and 120 BPM): (page, bpm → id)."""
    need(Path(CHROMIUM).exists(), "chromium")
    pytest.importorskip("playwright.sync_api")

    node = Node(Settings(data_dir=tmp_path_factory.mktemp("analysis-app"), listen=(IP, 0), http=(IP, 0), control=(IP, 0), share=(IP, 0),
                         dht=False, allow_private_peers=True))
    node.keystore.create()
    ids = {}
    for piece in rendered_set[:3]:
        assert piece.path is not None
        ids[piece.bpm] = node.publish(piece.path, TrackMetadata(title=f"Sound {piece.name}")).track.id
    node.jobs.run_pending(only=["analysis"])
    with served_with_browser(node) as (srv, browser):
        page = open_app(browser, OneNode(srv.control_url, srv.token))  # type: ignore[arg-type]
        yield page, ids
        page.context.close()


def test_track_page_shows_the_sound_and_more_like_this(app: tuple[AppPage, dict[int, str]]) -> None:
    page, ids = app
    page.go(f"track/{ids[100]}", "[data-testid=analysis]")
    facts = page.page.text_content("[data-testid=analysis]") or ""
    assert re.search(r"Tempo\s*100\.\d BPM", facts) and "A minor" in facts, facts
    assert re.search(r"Loudness\s*-\d+\.\d LUFS", facts) and "dBTP" in facts, facts
    page.page.wait_for_selector("[data-testid=similar] li")
    links = page.page.eval_on_selector_all("[data-testid=similar] li a", "els => els.map(e => e.getAttribute('href'))")
    assert sorted(unquote(link) for link in links) == sorted(f"#/track/{ids[b]}" for b in (80, 120)), links
    assert not page.csp_violations() and not [c for c in page.console if "pageerror" in c], page.console


def test_search_by_bpm_and_key(app: tuple[AppPage, dict[int, str]]) -> None:
    page, ids = app
    page.go("search", "[data-testid=search-bpm]")
    page.page.fill("[data-testid=search-bpm]", "115-125")
    page.page.press("[data-testid=search-bpm]", "Enter")
    page.wait_js("/^1 result$/.test(document.querySelector('[data-testid=search-status]').textContent)", 20)
    cards: Any = page.page.eval_on_selector_all("[data-testid=track-card]", "els => els.map(e => e.dataset.id)")
    assert cards == [ids[120]]
    assert "120 BPM · G major" in (page.page.text_content("[data-testid=track-card]") or "")
    assert page.page.url.endswith("#/search?bpm=115-125")
    page.page.fill("[data-testid=search-bpm]", "")
    page.page.fill("[data-testid=search-key]", "Am")
    page.page.press("[data-testid=search-key]", "Enter")
    page.wait_js("/^1 result$/.test(document.querySelector('[data-testid=search-status]').textContent)", 20)
    assert page.page.eval_on_selector_all("[data-testid=track-card]", "els => els.map(e => e.dataset.id)") == [ids[100]]
