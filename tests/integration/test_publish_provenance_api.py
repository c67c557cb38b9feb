"""``POST /api/publish`` with the structured provenance (spec §5.1) on a real node: a bad
provenance is refused once, with the member and the reason, before any file is hashed,
and loses nothing (the upload stays for the retry); a good one is signed into the record
and shown by ``GET /api/tracks/{id}``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.apps.http import NodeServer
from tests.integration.nodes import node_server
from tests.integration.test_web_api import upload, uploads_dir
from tests.integration.test_web_login import cookie, log_in

PARENT = "osp:track:bagaaieraxj3qg7qo6epjkdfttmhk6i2cedwzi6aq6disilcbuhilliagufwa"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeServer]:
    with node_server(tmp_path_factory.mktemp("prov-api"), "127.0.0.142") as server:
        yield server


@pytest.fixture(scope="module")
def browser(srv: NodeServer) -> dict[str, str]:
    return {**cookie(log_in(srv)), "Origin": srv.control_url}


@pytest.mark.parametrize("provenance,message", [
    ({"humanContribution": ["vibes"]}, "provenance/humanContribution: 'vibes' is not one of composition, lyrics"),
    ({"parents": [{"id": PARENT, "relation": "inspired-by"}]}, "relation 'inspired-by' is not one of remix, extends"),
    ({"seed": -1}, "provenance/seed: an integer from 0 to"),
    ({"digitalSourceType": "ai"}, "'ai' is not an IPTC digital source type"),
    ({"generator": {"name": "g", "url": "javascript:alert(1)"}}, "provenance/generator/url"),
    ({"colour": "blue"}, "provenance/colour: unknown member"),
    (["not", "an", "object"], "provenance: an object"),
])
def test_bad_provenance_is_refused_once_and_loses_nothing(srv: NodeServer, browser: dict[str, str], music: list[Path],
                                                          provenance: Any, message: str) -> None:
    up = upload(srv, browser, "song.ogg", music[1].read_bytes()).json()
    resp = httpx.post(f"{srv.control_url}/api/publish", json={"uploads": [up["upload"]], "provenance": provenance},
                      headers=browser, timeout=60)
    assert resp.status_code == 400 and resp.json()["error"] == "caller-error"
    assert message in resp.json()["message"] and "Traceback" not in resp.text
    assert (uploads_dir(srv) / up["upload"] / "song.ogg").exists()  # kept: the user can fix the form and retry
    good = {"aiGenerated": True, "digitalSourceType": "trainedAlgorithmicMedia", "generator": {"name": "g"}}
    resp = httpx.post(f"{srv.control_url}/api/publish", json={"uploads": [up["upload"]], "provenance": good},
                      headers=browser, timeout=60)
    assert resp.status_code == 200, resp.text
    (track,) = resp.json()["tracks"]
    view = httpx.get(f"{srv.control_url}/api/tracks/{track['id']}", headers=browser).json()
    assert view["record"]["provenance"] == good and view["verification"]["signature"] == "valid"


def test_structured_provenance_round_trips_through_the_api(srv: NodeServer, music: list[Path]) -> None:
    provenance = {
        "aiGenerated": True, "digitalSourceType": "compositeWithTrainedAlgorithmicMedia",
        "generator": {"name": "Udio", "version": "1.5", "url": "https://www.udio.com/"}, "model": "u1",
        "prompt": "glacier", "negativePrompt": "vocals", "seed": 2**53 - 1, "parameters": {"steps": 50},
        "humanContribution": ["arrangement", "mixing"], "parents": [{"id": PARENT, "relation": "extends"}],
        "stems": [{"cid": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "role": "bass"}],
    }
    headers = {"Authorization": f"Bearer {srv.token}"}
    resp = httpx.post(f"{srv.control_url}/api/publish", json={"paths": [str(music[2])], "provenance": provenance},
                      headers=headers, timeout=60)
    assert resp.status_code == 200, resp.text
    (track,) = resp.json()["tracks"]
    view = httpx.get(f"{srv.control_url}/api/tracks/{track['id']}", headers=headers).json()
    assert view["record"]["provenance"] == provenance
    assert json.loads(json.dumps(view["record"]))["provenance"]["seed"] == 9007199254740991
