"""The control API's social routes and the ``osp`` social verbs on a real node (spec §10):
records made through the API are signed by the node's key and served on the peer route;
bad input is a clear 400; the CLI works through the running node and offline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.content.cid import CID, JSON
from osp.identity.keys import SigningKey
from osp.records.social import verify_social
from tests.integration.nodes import node_server, osp, start_node

TRACK = f"osp:track:{CID.of(b'social api track', codec=JSON)}"
OTHER = [f"osp:track:{CID.of(bytes([40 + i]), codec=JSON)}" for i in range(3)]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeServer]:
    with node_server(tmp_path_factory.mktemp("social-api"), "127.0.0.43") as server:
        yield server


def api(srv: NodeServer, method: str, path: str, body: object = None) -> httpx.Response:
    return httpx.request(method, srv.control_url + path, json=body, timeout=30,
                         headers={"Authorization": f"Bearer {srv.token}"})


def test_records_made_through_the_api_are_signed_stored_and_served(srv: NodeServer) -> None:
    did = srv.node.signing_key().did
    made = api(srv, "POST", "/api/social", {"kind": "comment", "subject": TRACK, "text": "nice hook", "at": 12.5})
    assert made.status_code == 200, made.text
    comment = made.json()
    assert verify_social(comment["record"]).author == did and comment["id"].startswith("osp:comment:")
    assert api(srv, "POST", "/api/social", {"kind": "like", "subject": TRACK}).status_code == 200
    flag = api(srv, "POST", "/api/social", {"kind": "flag", "subject": TRACK, "reason": "not-ai", "text": "synth"})
    assert flag.status_code == 200, flag.text

    srv.node.trust.refresh()  # what the trust worker does: the comment's author (the listener) is then scored
    view = api(srv, "GET", f"/api/tracks/{TRACK}/social").json()
    assert view["likes"] == 1 and view["liked"] is True and view["hidden"] == 0
    (entry,) = view["comments"]
    assert entry == {"id": comment["id"], "kind": "comment", "author": did, "created": comment["record"]["created"],
                     "text": "nice hook", "at": 12.5, "trust": 1.0, "hidden": None}
    assert [f["reason"] for f in view["flags"]] == ["not-ai"]

    served = httpx.get(f"{srv.node.http_url}/osp/v0/tracks/{TRACK}/social", timeout=10)
    assert served.status_code == 200 and served.headers["access-control-allow-origin"] == "*"
    records = served.json()["records"]
    assert {r["type"] for r in records} == {"osp:Comment", "osp:Like", "osp:Flag"}
    assert all(verify_social(r).author == did for r in records)

    gone = api(srv, "POST", "/api/social", {"kind": "tombstone", "subject": comment["id"]})
    assert gone.status_code == 200, gone.text
    assert api(srv, "GET", f"/api/tracks/{TRACK}/social").json()["comments"] == []
    served = httpx.get(f"{srv.node.http_url}/osp/v0/tracks/{TRACK}/social", timeout=10).json()["records"]
    assert gone.json()["id"] in {r["id"] for r in served} and comment["id"] not in {r["id"] for r in served}


@pytest.mark.parametrize("body", [
    {"subject": TRACK},  # no kind
    {"kind": "poke", "subject": TRACK},
    {"kind": "comment", "subject": TRACK, "text": ""},
    {"kind": "comment", "subject": TRACK, "text": "x" * 2001},
    {"kind": "like", "subject": "osp:track:nope"},
    {"kind": "flag", "subject": TRACK, "reason": "ugly"},
    {"kind": "comment", "subject": TRACK, "text": "hi", "author": "did:key:z6Mkfake"},
    {"kind": "tombstone", "subject": "osp:comment:bagaaieranothere"},
])
def test_bad_records_are_a_clear_400(srv: NodeServer, body: dict[str, object]) -> None:
    answer = api(srv, "POST", "/api/social", body)
    assert answer.status_code in (400, 404), answer.text
    assert answer.json()["message"] and "Traceback" not in answer.text


def test_bad_lookup_and_track_ids_are_refused(srv: NodeServer) -> None:
    assert api(srv, "GET", "/api/tracks/nope/social").status_code == 400
    assert api(srv, "GET", f"/api/tracks/{TRACK}/social?lookup=0").status_code == 400
    assert api(srv, "GET", f"/api/tracks/{TRACK}/social?lookup=abc").status_code == 400
    assert api(srv, "GET", f"/api/tracks/{TRACK}/social?lookup=1").status_code == 200  # no DHT: nothing to ask
    assert httpx.get(f"{srv.control_url}/api/tracks/{TRACK}/social", timeout=10).status_code == 401


def test_a_local_playlist_is_published_as_versions(srv: NodeServer) -> None:
    local = api(srv, "POST", "/api/playlists", {"name": "Morning", "tracks": [OTHER[0], OTHER[1]]}).json()
    first = api(srv, "POST", f"/api/playlists/{local['id']}/publish", {})
    assert first.status_code == 200, first.text
    assert first.json()["seq"] == 1 and first.json()["playlist"] == local["id"] and first.json()["title"] == "Morning"
    api(srv, "POST", f"/api/playlists/{local['id']}", {"tracks": [OTHER[2]]})
    second = api(srv, "POST", f"/api/playlists/{local['id']}/publish", {}).json()
    assert second["seq"] == 2 and second["tracks"] == [OTHER[2]]
    listed = api(srv, "GET", "/api/published-playlists").json()["playlists"]
    assert [p["id"] for p in listed if p["playlist"] == local["id"]] == [second["id"]]
    did = srv.node.signing_key().did
    assert len(api(srv, "GET", f"/api/published-playlists?author={did}").json()["playlists"]) >= 1
    assert api(srv, "GET", "/api/published-playlists?author=nobody").status_code == 400
    assert api(srv, "POST", "/api/playlists/pl-AAAAAAAAAAAAAAAA/publish", {}).status_code == 404
    big = api(srv, "POST", "/api/playlists", {"name": "Big", "tracks": [OTHER[0]] * 501}).json()
    refused = api(srv, "POST", f"/api/playlists/{big['id']}/publish", {})
    assert refused.status_code == 400 and "500" in refused.json()["message"]


@pytest.mark.slow  # ~25 s: some fifteen CLI processes
def test_the_cli_works_offline(tmp_path: Path) -> None:
    data = tmp_path / "cli"
    osp(data, "id", "init")
    made = json.loads(osp(data, "playlist", "new", "Road", OTHER[0], OTHER[1], "--json").stdout)
    pid = made["id"]
    osp(data, "playlist", "add", pid, OTHER[2])
    osp(data, "playlist", "mv", pid, "3", "1")
    shown = json.loads(osp(data, "playlist", "show", pid, "--json").stdout)
    assert shown["tracks"] == [OTHER[2], OTHER[0], OTHER[1]]
    osp(data, "playlist", "rm", pid, "2")
    published = json.loads(osp(data, "playlist", "publish", pid, "--json").stdout)
    assert published["tracks"] == [OTHER[2], OTHER[1]] and published["seq"] == 1
    liked = json.loads(osp(data, "like", TRACK, "--json").stdout)
    assert verify_social(liked).kind == "like"
    comment = json.loads(osp(data, "comment", TRACK, "intro", "--at", "3", "--json").stdout)
    view = json.loads(osp(data, "comments", TRACK, "--json").stdout)
    assert view["likes"] == 1 and [c["id"] for c in view["comments"]] == [comment["id"]]
    text = osp(data, "comments", TRACK).stdout
    assert "[0:03]" in text and "intro" in text
    osp(data, "retract", comment["id"])
    assert json.loads(osp(data, "comments", TRACK, "--json").stdout)["comments"] == []
    bad = osp(data, "flag", TRACK, "--reason", "ugly", check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    bad = osp(data, "comment", TRACK, "", check=False)
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr
    other = SigningKey.generate().did
    endorsed = json.loads(osp(data, "endorse", other, "--text", "great curator", "--json").stdout)
    assert endorsed["subject"] == other and endorsed["author"] == liked["author"]


@pytest.mark.slow  # ~20 s: a node process and some CLI processes
def test_the_cli_works_through_a_running_node(tmp_path: Path) -> None:
    data = tmp_path / "cli"
    node = start_node(data, 44)  # `osp id init` first
    try:
        pid = json.loads(osp(data, "playlist", "new", "Road", OTHER[0], "--json").stdout)["id"]
        published = json.loads(osp(data, "playlist", "publish", pid, "--json").stdout)
        flagged = json.loads(osp(data, "flag", TRACK, "--reason", "spam", "--json").stdout)
        assert verify_social(flagged).kind == "flag"
        looked = osp(data, "comments", TRACK, "--json", "--lookup", "1")
        assert "only what this node holds is shown" in looked.stderr, looked.stderr  # nobody asked: said so
        view = json.loads(looked.stdout)
        assert view["lookup"] == {"dht": "off", "asked": 0, "answered": 0}
        assert view["likes"] == 0 and [f["id"] for f in view["flags"]] == [flagged["id"]]
        listed = [json.loads(line) for line in osp(data, "playlist", "ls", "--published", "--json").stdout.splitlines()]
        assert [p["id"] for p in listed] == [published["id"]]
        again = json.loads(osp(data, "playlist", "publish", pid, "--json").stdout)
        assert again["seq"] == 2
        assert f"published version 2: {again['id']}" in osp(data, "playlist", "show", pid).stdout
        renamed = osp(data, "playlist", "rename", pid, "Long Road").stdout
        assert "Long Road" in renamed
        gone = json.loads(osp(data, "playlist", "delete", pid, "--retract", "--json").stdout)
        assert gone["retracted"]["subject"] == again["id"]
        assert osp(data, "playlist", "ls", "--published", "--json").stdout == ""
    finally:
        node.stop()
