"""The track page's "Content credentials" section (issue 10, views/credentials.js) in
Debian's Chromium: the levels of "verified AI-generated" for a trusted signed track, and an
invalid credential shown loudly (an alert), under the app's CSP and without console errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.core.settings import Settings
from osp.node import Node
from osp.node.credentials import c2pa_store
from osp.provenance.c2pa import sign_file
from tests.browser.app_helpers import AppPage, open_app, served_with_browser
from tests.browser.chromium import CHROMIUM
from tests.c2pa_ca import make_ca
from tests.conftest import need

IP = "127.0.0.162"
#: whether any text node of the page's main element reads "null" (a null spread into the DOM)
NULL_TEXT = """() => {
  const walk = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) if (n.textContent.trim() === 'null') return true;
  return false;
}"""


@dataclass
class OneNode:
    """What ``open_app`` needs of a node."""

    control: str
    token: str


@pytest.fixture
def node_app(tmp_path: Path) -> Iterator[tuple[AppPage, NodeServer]]:
    need(Path(CHROMIUM).exists(), "chromium")
    pytest.importorskip("playwright.sync_api")

    ca = make_ca(tmp_path, "Good")
    data = tmp_path / "n"
    store = c2pa_store(data)
    store.set_signer(ca.chain, ca.key)
    store.trust_add(ca.root)
    node = Node(Settings(data_dir=data, listen=(IP, 0), http=(IP, 0), control=(IP, 0), share=(IP, 0),
                         dht=False, allow_private_peers=True))
    node.keystore.create()
    with served_with_browser(node) as (srv, browser):
        page = open_app(browser, OneNode(srv.control_url, srv.token))  # type: ignore[arg-type]
        yield page, srv
        page.context.close()


def _publish(srv: NodeServer, body: dict[str, Any]) -> str:
    r = httpx.post(f"{srv.control_url}/api/publish", json=body, timeout=60,
                   headers={"Authorization": f"Bearer {srv.token}"})
    assert r.status_code == 200, r.text
    return str(r.json()["tracks"][0]["id"])


def test_track_page_shows_levels_and_an_invalid_credential_loudly(node_app: tuple[AppPage, NodeServer],
                                                                  tmp_path: Path, audio_files: dict[str, Path]) -> None:
    app, srv = node_app
    good = _publish(srv, {"paths": [str(audio_files["wav"])], "c2paSign": True, "title": "Signed Tide",
                          "provenance": {"aiGenerated": True, "generator": "Suno"}})
    app.go(f"track/{good}", "[data-testid=credentials]")
    levels = app.page.locator("[data-testid=credential-levels] li")
    assert levels.count() == 4
    assert [levels.nth(i).get_attribute("data-met") for i in range(3)] == ["yes", "yes", "yes"]
    # level 4, the web of trust: our own track ("you"), or "unknown" before trust is computed
    assert re.search(r"web of trust: (you|unknown)", levels.nth(3).text_content() or ""), levels.nth(3).text_content()
    assert "signed by Good Signer" in (app.page.text_content("[data-testid=credentials-summary]") or "")
    assert "trainedAlgorithmicMedia" in (app.page.text_content("[data-testid=c2pa]") or "")
    assert app.page.locator("[data-testid=c2pa-invalid]").count() == 0
    # a track without artwork: no image, and no stray "null" text where it would be
    assert app.page.locator("[data-testid=artwork-large]").count() == 0
    assert not app.page.evaluate(NULL_TEXT), "a literal null is shown on the track page"

    # signed, then changed: published only because the artist said so, and shown as such
    signed = tmp_path / "s.mp3"
    ca = make_ca(tmp_path, "Other")
    sign_file(audio_files["mp3"], signed, "audio/mpeg", chain_pem=ca.chain.read_bytes(), key_pem=ca.key.read_bytes(),
              title="t", provenance={"aiGenerated": True})
    data = bytearray(signed.read_bytes())
    data[len(data) // 2] ^= 0x20
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(bytes(data))
    broken = _publish(srv, {"paths": [str(bad)], "allowInvalidC2pa": True, "title": "Broken Tide"})
    app.go(f"track/{broken}", "[data-testid=c2pa-invalid]")
    alert = app.page.locator("[data-testid=c2pa-invalid]")
    assert alert.get_attribute("role") == "alert"
    assert "INVALID" in (alert.text_content() or "") and "published it anyway" in (alert.text_content() or "")
    assert "dataHash.mismatch" in (app.page.text_content("[data-testid=c2pa]") or "")
    # the Library list marks it in text too (not by colour only); the valid one is not marked
    app.go("library", "[data-testid=list-c2pa-invalid]")
    marked = app.page.locator("[data-testid=library] tbody tr", has=app.page.locator("[data-testid=list-c2pa-invalid]"))
    assert marked.count() == 1 and "Broken Tide" in (marked.text_content() or "")
    assert "C2PA INVALID" in (marked.text_content() or "")
    assert app.csp_violations() == []
    assert [m for m in app.console if m.startswith(("error", "pageerror"))] == []
