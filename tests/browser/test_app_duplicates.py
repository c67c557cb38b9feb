"""The web app says when audio is a re-upload (issue 10): the publish page warns after the
publish returns, the track page names the earlier track, search results carry the mark."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from osp.core.settings import Settings
from osp.identity import SigningKey
from osp.node import Node
from osp.node.publish import TrackMetadata, publish_file
from tests.browser.app_helpers import AppPage, open_app, served_with_browser
from tests.browser.chromium import CHROMIUM
from tests.conftest import need

IP = "127.0.0.162"
OTHER = SigningKey.from_seed(bytes(range(2, 34)))


@dataclass
class OneNode:
    control: str
    token: str


@pytest.fixture
def app(tmp_path: Path, music: list[Path]) -> Iterator[tuple[AppPage, Node]]:
    need(Path(CHROMIUM).exists(), "chromium")
    need(shutil.which("fpcalc") is not None, "fpcalc (libchromaprint-tools)")
    pytest.importorskip("playwright.sync_api")

    node = Node(Settings(data_dir=tmp_path / "n", listen=(IP, 0), http=(IP, 0), control=(IP, 0), share=(IP, 0),
                         dht=False, allow_private_peers=True))
    node.keystore.create()
    publish_file(music[0], TrackMetadata(title="Original Intro", artist_name="Frozen Team", released="2020-05-01"),
                 key=OTHER, library=node.library, media_dir=node.settings.media_dir)  # another artist's, held here
    with served_with_browser(node) as (srv, browser):
        page = open_app(browser, OneNode(srv.control_url, srv.token))  # type: ignore[arg-type]
        yield page, node
        page.context.close()


def test_a_reupload_is_flagged_in_the_app(app: tuple[AppPage, Node], tmp_path: Path, music: list[Path]) -> None:
    page, _node = app
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    copy = tmp_path / "copycat.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "20", "-i", str(music[0]), "-c:a", "libmp3lame", "-b:a", "64k",
                    str(copy)], check=True, timeout=120)
    page.go("publish", "[data-testid=dropzone]")
    page.page.set_input_files("[data-testid=file-input]", str(copy))
    page.page.fill("[data-testid=title]", "Copycat Song")
    page.page.click("[data-testid=publish]")
    page.page.wait_for_selector("[data-testid=publish-check] [data-testid=duplicate]", timeout=45_000)
    warning = " ".join((page.page.text_content("[data-testid=publish-check]") or "").split())
    assert warning.startswith("This audio matches “Original Intro” by Frozen Team, released 2020-05-01 (at +20."), warning

    page.page.click("[data-testid=published-link]")
    page.page.wait_for_selector("[data-testid=duplicates] [data-testid=duplicate-link]")
    assert page.page.text_content("[data-testid=duplicate-link]") == "“Original Intro”"

    page.go("search?q=copycat", "[data-testid=track-card]")
    page.wait_js("/near-duplicate/.test(document.querySelector('[data-testid=track-card]').textContent)")
    assert not [c for c in page.console if "pageerror" in c], page.console
