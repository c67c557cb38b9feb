"""The control API routes the web app uses (issue 9), on a real node: uploads and publishing
them, one track, one artist, local playlists."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.content.cid import CID, JSON
from osp.identity.keys import SigningKey
from tests.integration.nodes import node_server
from tests.integration.test_web_login import cookie, log_in


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeServer]:
    with node_server(tmp_path_factory.mktemp("web-api"), "127.0.0.42") as server:
        yield server


@pytest.fixture(scope="module")
def browser(srv: NodeServer) -> dict[str, str]:
    """What the web app's requests carry: the session cookie and, for writes, its Origin."""
    return {**cookie(log_in(srv)), "Origin": srv.control_url}


def bearer(srv: NodeServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {srv.token}"}


def uploads_dir(srv: NodeServer) -> Path:
    return srv.node.settings.data_dir / "uploads"


def upload(srv: NodeServer, headers: dict[str, str], name: str, content: Any, **kw: Any) -> httpx.Response:
    return httpx.post(f"{srv.control_url}/api/upload", params={"name": name}, content=content,
                      headers={**headers, "Content-Type": "application/octet-stream"}, timeout=60, **kw)


def wait_until_empty(folder: Path, deadline_s: float = 10) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if not folder.exists() or not any(folder.iterdir()):
            return
        time.sleep(0.05)
    raise AssertionError(f"{folder} still holds {[p.name for p in folder.iterdir()]}")


def test_upload_then_publish_it_with_ndjson_progress(srv: NodeServer, browser: dict[str, str],
                                                     music: list[Path]) -> None:
    data = music[0].read_bytes()
    resp = upload(srv, browser, "../../My Song\x07.ogg", data)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["name"] == "My Song_.ogg" and answer["size"] == len(data) and len(answer["upload"]) == 16
    stored = uploads_dir(srv) / answer["upload"] / "My Song_.ogg"
    assert stored.read_bytes() == data and not (stored.parent / ".partial").exists()
    body = {"uploads": [answer["upload"]], "title": "Uploaded Intro", "tags": ["chiptune"],
            "provenance": {"generator": "none"}}
    with httpx.stream("POST", f"{srv.control_url}/api/publish", json=body, timeout=60,
                      headers={**browser, "Accept": "application/x-ndjson"}) as stream:
        assert stream.status_code == 200
        lines = [json.loads(line) for line in stream.iter_lines() if line.strip()]
    *progress, final = lines
    assert progress and all(p["upload"] == answer["upload"] and p["file"] == "My Song_.ogg" for p in progress)
    assert progress[-1]["total"] == len(data) and progress[-1]["done"] <= len(data)
    assert final["status"] == 200 and final["refused"] == []
    (track,) = final["tracks"]
    assert track["title"] == "Uploaded Intro" and track["file"] == "My Song_.ogg" and track["upload"] == answer["upload"]
    share = srv.node.share_url
    assert track["share"] == (f"{share}/t/{track['id']}" if share else None)
    assert not stored.parent.exists()  # published: the upload is gone
    view = httpx.get(f"{srv.control_url}/api/tracks/{track['id']}", headers=browser).json()
    did = srv.node.library.meta("did")
    assert view["id"] == track["id"] and view["origin"] == "published" and view["file"] == "ok"
    assert view["verification"] == {"signature": "valid", "method": f"{did}#{did.split(':')[-1]}",
                                    "content": "verified"}
    assert view["transfer"] is None and view["share"] == track["share"] and view["record"]["tags"] == ["chiptune"]
    # the same id again: it was used up
    again = httpx.post(f"{srv.control_url}/api/publish", json=body, headers=browser)
    assert again.status_code == 404 and again.json()["error"] == "not-found"


def test_a_refused_upload_is_deleted_too(srv: NodeServer, browser: dict[str, str]) -> None:
    up = upload(srv, browser, "notes.txt", b"not audio at all").json()
    resp = httpx.post(f"{srv.control_url}/api/publish", json={"uploads": [up["upload"]]}, headers=browser, timeout=60)
    assert resp.status_code == 415 and resp.json()["refused"][0]["file"] == "notes.txt"
    assert not (uploads_dir(srv) / up["upload"]).exists()


def test_upload_needs_origin_octet_stream_and_a_name(srv: NodeServer, browser: dict[str, str]) -> None:
    session = {"Cookie": browser["Cookie"]}
    assert upload(srv, session, "a.ogg", b"x").status_code == 403  # cookie without Origin (CSRF)
    assert upload(srv, bearer(srv), "", b"x").status_code == 400
    json_type = httpx.post(f"{srv.control_url}/api/upload?name=a.ogg", json={}, headers=browser)
    assert json_type.status_code == 415
    ok = upload(srv, bearer(srv), "a.ogg", b"x")  # the bearer token needs no Origin
    assert ok.status_code == 200 and ok.json()["size"] == 1
    httpx.post(f"{srv.control_url}/api/publish", json={"uploads": [ok.json()["upload"]]}, headers=bearer(srv))
    wait_until_empty(uploads_dir(srv))


def test_uploads_past_the_cap_are_refused_and_leave_nothing(srv: NodeServer, browser: dict[str, str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = srv.control_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:  # announced: refused before a byte
        sock.sendall((f"POST /api/upload?name=big.ogg HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {browser['Cookie']}\r\n"
                      f"Origin: {browser['Origin']}\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Length: {(1 << 30) + 1}\r\n\r\n").encode())
        head = sock.recv(4096).decode()
        assert head.startswith("HTTP/1.1 413") and "connection: close" in head.lower()
    import osp.apps.web.uploads as uploads_module

    monkeypatch.setattr(uploads_module, "MAX_UPLOAD", 1 << 20)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(4):
            yield b"\0" * (1 << 19)

    resp = upload(srv, browser, "big.ogg", chunks())
    assert resp.status_code == 413 and resp.json()["error"] == "too-large"
    wait_until_empty(uploads_dir(srv))


def test_an_upload_cut_short_leaves_nothing(srv: NodeServer, browser: dict[str, str]) -> None:
    host, port = srv.control_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall((f"POST /api/upload?name=cut.ogg HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {browser['Cookie']}\r\n"
                      f"Origin: {browser['Origin']}\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Length: {10 << 20}\r\n\r\n").encode())
        sock.sendall(b"\1" * (3 << 20))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any((uploads_dir(srv)).glob("*/.partial")):
            time.sleep(0.02)
        assert any(uploads_dir(srv).glob("*/.partial")), "the upload never started"
    wait_until_empty(uploads_dir(srv))


def test_day_old_uploads_are_swept_at_the_next_upload(srv: NodeServer, browser: dict[str, str]) -> None:
    old = uploads_dir(srv) / "AAAAAAAAAAAAAAAA"
    old.mkdir(parents=True)
    (old / "old.ogg").write_bytes(b"old")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    fresh = upload(srv, browser, "fresh.ogg", b"fresh").json()
    assert not old.exists() and (uploads_dir(srv) / fresh["upload"] / "fresh.ogg").exists()
    httpx.post(f"{srv.control_url}/api/publish", json={"uploads": [fresh["upload"]]}, headers=browser)
    wait_until_empty(uploads_dir(srv))


def test_playlists_crud_and_caps(srv: NodeServer, browser: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    api = f"{srv.control_url}/api/playlists"
    ids = [f"osp:track:{CID.of(b'a', codec=JSON)}", f"osp:track:{CID.of(b'b', codec=JSON)}"]
    made = httpx.post(api, json={"name": "  Night drive ", "tracks": ids}, headers=browser).json()
    assert made["name"] == "Night drive" and made["tracks"] == ids and made["id"].startswith("pl-")
    assert made["created"] == made["updated"] > 0
    assert httpx.get(f"{api}/{made['id']}", headers=browser).json() == made
    assert made in httpx.get(api, headers=browser).json()["playlists"]
    renamed = httpx.post(f"{api}/{made['id']}", json={"name": "Night"}, headers=browser).json()
    assert renamed["name"] == "Night" and renamed["tracks"] == ids
    reordered = httpx.post(f"{api}/{made['id']}", json={"tracks": ids[::-1] + ids[:1]}, headers=browser).json()
    assert reordered["tracks"] == [ids[1], ids[0], ids[0]] and reordered["name"] == "Night"
    for bad in ({"name": ""}, {"name": "x" * 201}, {"name": 3}, {"name": "a", "tracks": ["not a track"]},
                {"name": "a", "tracks": [ids[0]] * 5001}, {"name": "a", "tracks": "osp:track:x"},
                {"name": "a", "tracks": ["osp:track:nope"]}, {"name": "a", "tracks": [f"osp:track:{CID.of(b'a')}"]},
                {"name": "a", "extra": 1}):
        resp = httpx.post(api, json=bad, headers=browser)
        assert resp.status_code == 400 and resp.json()["error"] == "caller-error", bad
    assert httpx.post(api, json={"name": "x" * 200, "tracks": [ids[0]] * 5000}, headers=browser).status_code == 200
    deleted = httpx.delete(f"{api}/{made['id']}", headers=browser)
    assert deleted.json() == {"id": made["id"], "deleted": True}
    for method in ("GET", "DELETE"):
        gone = httpx.request(method, f"{api}/{made['id']}", headers=browser)
        assert gone.status_code == 404, method
    assert httpx.get(f"{api}/pl-nonsense", headers=browser).status_code == 404
    assert httpx.delete(f"{api}/{made['id']}", headers={"Cookie": browser["Cookie"]}).status_code == 403  # Origin
    import osp.library.playlists as playlists_module

    count = len(httpx.get(api, headers=browser).json()["playlists"])
    monkeypatch.setattr(playlists_module, "MAX_PLAYLISTS", count + 1)
    assert httpx.post(api, json={"name": "last"}, headers=browser).status_code == 200
    full = httpx.post(api, json={"name": "one too many"}, headers=browser)
    assert full.status_code == 409 and "delete one first" in full.json()["message"]


def test_artist_and_track_pages(srv: NodeServer, browser: dict[str, str], audio_files: dict[str, Path]) -> None:
    published = httpx.post(f"{srv.control_url}/api/publish", json={"paths": [str(audio_files["mp3"])],
                           "artistName": "The Publisher"}, headers=bearer(srv), timeout=60).json()["tracks"][0]
    did = published["artist"]
    me = httpx.get(f"{srv.control_url}/api/artists/{did}", headers=browser).json()
    assert me["did"] == did and me["name"] == "The Publisher" and me["following"] is False
    assert published["id"] in [t["id"] for t in me["tracks"]]
    assert all(t["origin"] == "published" and t["file"] == "ok" for t in me["tracks"])
    other = SigningKey.generate().did
    stranger = httpx.get(f"{srv.control_url}/api/artists/{other}", headers=browser).json()
    assert stranger | {"trust": None} == {"did": other, "name": None, "tracks": [], "following": False,
                                          "trust": None, "hidden": None}  # no gate set: nothing hidden
    assert httpx.post(f"{srv.control_url}/api/follow", json={"did": other}, headers=browser).status_code == 200
    try:
        assert httpx.get(f"{srv.control_url}/api/artists/{other}", headers=browser).json()["following"] is True
    finally:
        httpx.delete(f"{srv.control_url}/api/follow/{other}", headers=browser)
    for bad in ("did:key:nonsense", f"{did}%23{did[8:]}", "osp"):
        resp = httpx.get(f"{srv.control_url}/api/artists/{bad}", headers=browser)
        assert resp.status_code == 400, bad
    missing = httpx.get(f"{srv.control_url}/api/tracks/osp:track:bafkreinothere", headers=browser)
    assert missing.status_code == 404 and missing.json()["error"] == "not-found"
    # a file deleted by hand: the record stays, its content is reported missing
    row = srv.node.library.track(published["id"])
    assert row is not None
    stored = srv.node.library.file(row.cid)
    assert stored is not None
    path = srv.node.settings.data_dir / stored.path
    saved = path.read_bytes()
    try:
        path.unlink()
        srv.node.check_files()
        view = httpx.get(f"{srv.control_url}/api/tracks/{published['id']}", headers=browser).json()
        assert view["file"] == "missing" and view["verification"]["content"] == "missing"
    finally:
        path.write_bytes(saved)
        srv.node.check_files()


def _paced_upload(url: str, token: str, size: int, pieces: int, gap: float) -> int | None:
    """Send ``size`` bytes in ``pieces`` with ``gap`` s between them; the status, or ``None`` if cut off."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall((f"POST /api/upload?name=slow.ogg HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Length: {size}\r\n\r\n").encode())
        try:
            for _ in range(pieces):
                sock.sendall(b"\2" * (size // pieces))
                time.sleep(gap)  # pacing the sender, not waiting for a condition
            head = sock.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return None
    return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else None


def test_the_body_deadline_grows_with_the_announced_size(tmp_path: Path) -> None:
    """1 s for any body, plus 1 s per MiB announced: a 3 MiB upload taking 2 s gets through;
    without the allowance the same upload is cut off at 1 s."""
    from osp.apps.http.listener import Limits
    from tests.integration.test_listeners import serving

    base = Limits(body_timeout=1.0, write_idle_timeout=None, max_per_address=None, max_per_network=None)
    for min_rate, expected in ((float(1 << 20), 200), (None, None)):
        control = Limits(**{**base.__dict__, "body_min_rate": min_rate})
        with serving(tmp_path / str(min_rate), (base, control)) as server:
            assert _paced_upload(server.control_url, server.token, 3 << 20, 6, 0.35) == expected, min_rate


def test_a_track_being_fetched_shows_as_downloading_then_verified(tmp_path: Path, browser: dict[str, str],
                                                                   srv: NodeServer, music: list[Path]) -> None:
    """On the node that fetches it, a track is ``downloading`` (with its transfer) before it
    is in the library, then ``fetched`` and ``verified``."""
    from osp.node import TrackMetadata
    from tests.integration.test_lifecycle import until

    with node_server(tmp_path / "seeder", "127.0.0.43", upload_rate_limit=300_000) as seeder:
        record = seeder.node.publish(music[1], TrackMetadata(title="Main theme")).track.record
        fetch = httpx.post(f"{srv.control_url}/api/fetch", json={"track": record["id"], "peer": seeder.peer_url},
                           headers=browser, timeout=30)
        assert fetch.status_code == 200, fetch.text
        url = f"{srv.control_url}/api/tracks/{record['id']}"
        view = httpx.get(url, headers=browser).json()
        assert view["origin"] is None, f"a 3 MB track at 300 kB/s is still downloading: {view['transfer']}"
        assert view["verification"]["content"] == "downloading" and view["file"] is None
        assert view["transfer"]["id"] == record["id"] and view["title"] == "Main theme"
        # the library row is written just before the transfer turns ``complete``: wait for both
        done = until("the fetched track in the library", lambda: (v := httpx.get(url, headers=browser).json())
                     and v["origin"] == "fetched" and v["transfer"]["state"] == "complete" and v, timeout=45)
        assert done["verification"]["content"] == "verified" and done["file"] == "ok"
