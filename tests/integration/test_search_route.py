"""``GET /osp/v0/search`` and ``POST /api/search`` on a library-only node (no engine, no
DHT): local results, the answer's shape and cap, and 400s for bad parameters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from osp.apps.http.control import control_app
from osp.apps.http.peer import peer_app
from osp.core.settings import Settings
from osp.node import Node, TrackMetadata
from osp.records.track import verify_track

TOKEN = "t" * 32


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path_factory.mktemp("search"), dht=False, cid_profile="kubo-cidv1-256k-174"))
    n.keystore.create()
    n.publish(music[0], TrackMetadata(title="Glacier Drift", tags=("ambient", "Field Recording")))
    n.publish(music[1], TrackMetadata(title="Harbour Lights", tags=("techno",)))
    yield n
    n.close()


@pytest.fixture(scope="module")
def peer(node: Node) -> TestClient:
    return TestClient(peer_app(node))


def ids(answer: dict) -> list[str]:  # type: ignore[type-arg]
    return [verify_track(r).record["title"] for r in answer["results"]]


def test_search_by_word_tag_and_artist(node: Node, peer: TestClient) -> None:
    by_word = peer.get("/osp/v0/search", params={"q": "glacier"})
    assert by_word.status_code == 200 and by_word.headers["access-control-allow-origin"] == "*"
    assert ids(by_word.json()) == ["Glacier Drift"] and by_word.json()["truncated"] is False
    assert ids(peer.get("/osp/v0/search?tag=FIELD%20recording&tag=ambient").json()) == ["Glacier Drift"]
    assert ids(peer.get("/osp/v0/search", params={"tag": "techno"}).json()) == ["Harbour Lights"]
    did = node.signing_key().did
    both = peer.get("/osp/v0/search", params={"artist": did}).json()
    assert sorted(ids(both)) == ["Glacier Drift", "Harbour Lights"]
    capped = peer.get("/osp/v0/search", params={"artist": did, "limit": "1"}).json()
    assert len(capped["results"]) == 1 and capped["truncated"] is True
    assert peer.get("/osp/v0/search", params={"q": "nothing here"}).json() == {"results": [], "truncated": False}


@pytest.mark.parametrize("query", [
    "", "q=the", "limit=5", "q=a&limit=0", "q=drift&limit=51", "q=drift&limit=x", "artist=did:key:nope",
    "q=drift&q=again", "tag=" + "x" * 300, "&".join(f"tag=t{i}" for i in range(40)), "q=" + "w" * 300,
])
def test_bad_parameters_are_400(peer: TestClient, query: str) -> None:
    resp = peer.get("/osp/v0/search?" + query)
    assert resp.status_code == 400, (query, resp.text)
    assert resp.json()["error"] == "caller-error"


def test_control_search_streams_ndjson(node: Node) -> None:
    client = TestClient(control_app(node, TOKEN, lambda: 8788), base_url="http://127.0.0.1:8788")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = client.post("/api/search", json={"q": "harbour", "timeout": 2}, headers=auth)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in resp.text.splitlines() if line.strip()]
    assert lines[0]["result"]["title"] == "Harbour Lights" and lines[0]["result"]["holders"] == ["local"]
    done = lines[-1]["done"]
    assert done["results"] == 1 and done["asked"] == 0 and done["firstResultAt"] is not None
    for bad in ({"q": ""}, {"q": "x", "timeout": 0}, {"q": "x", "limit": "3"}, {"q": "x", "extra": 1},
                {"tags": "ambient"}):
        refused = client.post("/api/search", json=bad, headers=auth)
        assert refused.status_code == 400, (bad, refused.text)
    assert client.post("/api/search", json={"q": "harbour"}).status_code == 401
