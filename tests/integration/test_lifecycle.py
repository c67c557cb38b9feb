"""The transfer lifecycle and the library verbs on loopback, with real nodes:
resume after SIGKILL, Ctrl-C / --detach / cancel, ``osp transfers``, ``osp rm``, files
removed or changed by hand, and a second record for audio already held."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.content.dagpb import decode_node
from osp.content.unixfs import cid_of_file
from osp.core.settings import Settings
from osp.node import Node, TrackMetadata
from tests.integration.nodes import OSP, NodeProc, jsonl, node_server, osp, sigint_default, start_node

SLOW_UPLOAD = 150_000  # bytes/s per channel (BitTorrent and web seed): a 3 MB track takes ~10 s
CANCEL_UPLOAD = 40_000  # for the Ctrl-C test: ~40 s, so the download cannot end before the signal on busy cores


def until(what: str, probe: Callable[[], Any], timeout: float = 40) -> Any:
    """Poll ``probe`` until it returns something truthy (deadline ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def api(node: NodeProc) -> httpx.Client:
    return httpx.Client(base_url=node.control, headers={"Authorization": f"Bearer {node.token}"}, timeout=30)


def transfer_of(client: httpx.Client, track_id: str) -> dict[str, Any] | None:
    for t in client.get("/api/transfers").json()["transfers"]:
        if t["id"] == track_id:
            return t  # type: ignore[no-any-return]
    return None


@pytest.fixture
def slow_seeder(request: pytest.FixtureRequest, tmp_path: Path,
                music: list[Path]) -> Iterator[tuple[NodeServer, dict[str, Any]]]:
    """An in-process node on 127.0.0.51 seeding music[1] (3.1 MB) at ``SLOW_UPLOAD`` (or the
    rate given by indirect parametrization)."""
    rate = getattr(request, "param", SLOW_UPLOAD)
    with node_server(tmp_path / "seeder", "127.0.0.51", upload_rate_limit=rate) as srv:
        published = srv.node.publish(music[1], TrackMetadata(title="Main theme"))
        yield srv, published.track.record


def test_killed_fetch_resumes_from_its_verified_pieces(tmp_path: Path, slow_seeder: tuple[NodeServer, dict[str, Any]],
                                                        music: list[Path]) -> None:
    seeder, record = slow_seeder
    b_dir = tmp_path / "b"
    node_b = start_node(b_dir, 52)
    try:
        with api(node_b) as client:
            r = client.post("/api/fetch", json={"track": record["id"], "peer": seeder.peer_url})
            assert r.status_code == 200, r.text
            had = until("a third of the track verified", lambda: (t := transfer_of(client, record["id"]))
                        and t.get("verified", t["done"]) >= record["size"] // 3 and t.get("verified", t["done"]))
        assert had < record["size"], "the seeder is rate-limited: the download is still running"
        node_b.proc.send_signal(signal.SIGKILL)  # a crash: no resume data saved at exit
        node_b.proc.communicate(timeout=30)
        assert list((b_dir / "media" / "partial").iterdir()), "the partial file survives the crash"

        node_b = start_node(b_dir, 52)  # the restarted node re-adds the transfer on its own
        with api(node_b) as client:
            first = until("the resumed transfer", lambda: (t := transfer_of(client, record["id"]))
                          and t["state"] != "checking" and t)
            assert first["verified"] >= had, f"resumed from {first['verified']} verified bytes, had {had}"
            done = until("the download", lambda: (t := transfer_of(client, record["id"]))
                         and t["state"] in ("complete", "failed") and t, timeout=50)
            assert done["state"] == "complete", done
        ls = jsonl(osp(b_dir, "ls", "--json"))
        assert [t["id"] for t in ls] == [record["id"]]
        stored = next((b_dir / "media").glob("*.ogg"))
        assert str(cid_of_file(stored)) == record["cid"]
        assert stored.read_bytes() == music[1].read_bytes()
        assert not list((b_dir / "media" / "partial").iterdir())
    finally:
        node_b.stop()


def test_close_saves_resume_data_of_a_running_transfer(tmp_path: Path,
                                                        slow_seeder: tuple[NodeServer, dict[str, Any]]) -> None:
    seeder, record = slow_seeder
    settings = Settings(data_dir=tmp_path / "c", listen=("127.0.0.53", 0), dht=False, allow_private_peers=True)
    node = Node(settings)
    try:
        transfer = node.fetch(record["id"], seeder.peer_url)
        until("some pieces", lambda: transfer.state.done >= 512 * 1024)
    finally:
        node.close()  # Ctrl-C of a standalone `osp get` ends here
    assert transfer.state.state == "stopped"
    had = transfer.state.verified
    assert 0 < had < record["size"]
    node = Node(settings)
    try:
        (row,) = node.library.transfer_rows()
        assert row.track_id == record["id"] and row.resume, "resume data stored for the unfinished download"
        node.start_engine()  # re-adds the transfer from its resume data
        resumed = node.transfers[record["id"]]
        first = until("resumed", lambda: resumed.state.state != "checking" and resumed.state)
        assert first.verified >= had
        assert resumed.wait(60).state == "complete"
        assert node.library.transfer_rows() == []
    finally:
        node.close()


@pytest.mark.parametrize("slow_seeder", [CANCEL_UPLOAD], indirect=True)
def test_ctrl_c_of_get_cancels_detach_returns_and_cancel_cleans_up(
        tmp_path: Path, slow_seeder: tuple[NodeServer, dict[str, Any]]) -> None:
    seeder, record = slow_seeder
    b_dir = tmp_path / "b"
    node_b = start_node(b_dir, 54)
    partial = b_dir / "media" / "partial"
    try:
        get = subprocess.Popen([*OSP, "--data-dir", str(b_dir), "get", record["id"], "--peer", seeder.peer_url],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=sigint_default)  # Ctrl-C reaches it whatever we inherited
        try:
            with api(node_b) as client:
                until("bytes arriving", lambda: (t := transfer_of(client, record["id"])) and t["done"] > 0)
                get.send_signal(signal.SIGINT)
                _, err = get.communicate(timeout=30)
                assert get.returncode == 130, err
                state = client.get(f"/api/transfers/{record['id']}").json()
                assert state["state"] == "cancelled", state
                assert not list(partial.iterdir()), "the partial file is deleted"
        finally:
            if get.poll() is None:
                get.kill()
                get.communicate()

        started = time.monotonic()
        (detached,) = jsonl(osp(b_dir, "get", record["id"], "--peer", seeder.peer_url, "--detach", "--json"))
        assert time.monotonic() - started < 20 and detached["state"] in ("checking", "downloading")
        with api(node_b) as client:
            until("a source", lambda: (t := transfer_of(client, record["id"])) and t["done"] > 0)
        (listed,) = jsonl(osp(b_dir, "transfers", "--json"))
        assert listed["id"] == record["id"] and listed["state"] == "downloading"
        assert listed["sources"]["bittorrent"] + listed["sources"]["webSeeds"] >= 1
        assert {"done", "total", "rate", "peers"} <= set(listed)
        (cancelled,) = jsonl(osp(b_dir, "cancel", record["id"], "--json"))
        assert cancelled["state"] == "cancelled"
        assert not list(partial.iterdir())
        assert jsonl(osp(b_dir, "ls", "--json")) == []
        assert osp(b_dir, "cancel", record["id"], check=False).returncode == 2
    finally:
        node_b.stop()


def test_rm_stops_seeding_and_removes_everything(tmp_path: Path, music: list[Path]) -> None:
    with node_server(tmp_path / "a", "127.0.0.55") as srv:
        node = srv.node
        one = node.publish(music[0], TrackMetadata(title="Intro"))
        same_audio = node.publish(music[0], TrackMetadata(title="Intro (again)"))
        other = node.publish(music[2], TrackMetadata(title="Theme 2p"))
        assert one.infohash == same_audio.infohash
        cid, other_cid = one.track.record["cid"], other.track.record["cid"]
        assert httpx.get(f"{srv.peer_url}/ipfs/{other_cid}").status_code == 200

        (removed,) = jsonl(osp(node.settings.data_dir, "rm", other.track.id, "--json"))
        assert removed["fileDeleted"] and removed["published"]
        assert httpx.get(f"{srv.peer_url}/ipfs/{other_cid}").status_code == 404
        assert httpx.get(f"{srv.peer_url}/osp/v0/tracks/{other.track.id}").status_code == 404
        assert node.engine is not None and not node.engine.has_torrent(other.infohash)
        assert node.library.file(other_cid) is None and node.library.torrent(other.infohash) is None
        assert not list((node.settings.media_dir).glob(f"{other_cid}*"))

        shared = osp(node.settings.data_dir, "rm", one.track.id)
        assert "another track in the library uses the same audio" in shared.stdout
        assert "copies" in shared.stderr  # the artist is told copies elsewhere live on
        assert node.engine.has_torrent(one.infohash), "the other record of the same audio still seeds"
        assert httpx.get(f"{srv.peer_url}/ipfs/{cid}").status_code == 200
        (last,) = jsonl(osp(node.settings.data_dir, "rm", same_audio.track.id, "--keep-file", "--json"))
        assert last["keptAt"] and Path(last["keptAt"]).read_bytes() == music[0].read_bytes()
        assert not node.engine.has_torrent(one.infohash)
        assert httpx.get(f"{srv.peer_url}/ipfs/{cid}").status_code == 404
        assert node.library.track_count() == 0 and node.library.block(cid) is None
        assert osp(node.settings.data_dir, "rm", one.track.id, check=False).returncode == 2

    # standalone (no node running): the same verb on the library
    node = Node(Settings(data_dir=tmp_path / "d"))
    node.keystore.create()
    published = node.publish(music[0], TrackMetadata())
    node.close()
    (gone,) = jsonl(osp(tmp_path / "d", "rm", published.track.id, "--json"))
    assert gone["fileDeleted"] and not list((tmp_path / "d" / "media").glob("*.ogg"))


def test_a_media_file_removed_or_changed_by_hand(tmp_path: Path, music: list[Path]) -> None:
    a_dir = tmp_path / "a"
    osp(a_dir, "id", "init")
    tracks = jsonl(osp(a_dir, "publish", str(music[0]), str(music[2]), "--json"))
    gone, kept = tracks
    (a_dir / "media" / f"{gone['cid']}.ogg").unlink()
    assert "file missing" in osp(a_dir, "ls").stdout

    node = start_node(a_dir, 56, init=False)
    try:
        for method in ("GET", "HEAD"):
            r = httpx.request(method, f"{node.http}/ipfs/{gone['cid']}")
            assert r.status_code == 404, (method, r.status_code, r.headers)
        assert httpx.get(f"{node.http}/ipfs/{kept['cid']}").content == music[2].read_bytes()
        # every gateway form of a missing file is a 404 (a raw leaf and a CAR were 500s), and
        # peers are not offered a track this node cannot serve
        root = httpx.get(f"{node.http}/ipfs/{gone['cid']}?format=raw").content
        leaf = decode_node(root)[1][0].cid
        for url in (f"/ipfs/{leaf}?format=raw", f"/ipfs/{gone['cid']}?format=car", f"/osp/v0/tracks/{gone['id']}",
                    f"/osp/v0/tracks/{gone['id']}/torrent"):
            r = httpx.get(node.http + url)
            assert r.status_code == 404 and r.headers["content-security-policy"] == "sandbox", (url, r.status_code)
        listing = httpx.get(f"{node.http}/osp/v0/tracks").json()
        assert [t["id"] for t in listing["tracks"]] == [kept["id"]] and listing["total"] == 1
        assert httpx.get(f"{node.http}/osp/v0/node").json()["tracks"] == 1
        with api(node) as client:
            files = {t["id"]: t["file"] for t in client.get("/api/tracks").json()["tracks"]}
            assert client.get("/api/status").json()["missing"] == 1
        assert files == {gone["id"]: "missing", kept["id"]: "ok"}
        assert "file missing: not seeded" in osp(a_dir, "ls").stdout
        assert "1 missing: not seeded" in osp(a_dir, "status").stdout

        # changed while the node runs: caught on read, before any header
        changed = a_dir / "media" / f"{kept['cid']}.ogg"
        changed.write_bytes(changed.read_bytes()[:1000])
        r = httpx.get(f"{node.http}/ipfs/{kept['cid']}")
        assert r.status_code == 404, r.status_code
        with api(node) as client:
            files = {t["id"]: t["file"] for t in client.get("/api/tracks").json()["tracks"]}
        assert files[kept["id"]] == "changed"
    finally:
        err = node.stop()
    assert "1 track seeding, 1 missing" in err
    assert "Traceback" not in err

    # Publishing the original again repairs both tracks (it said "already published" and
    # left them missing); `rm` of a track whose file is gone does not claim it deleted one.
    for track, original in ((gone, music[0]), (kept, music[2])):
        osp(a_dir, "publish", str(original))
        assert (a_dir / "media" / f"{track['cid']}.ogg").read_bytes() == original.read_bytes()
    assert "not seeded" not in osp(a_dir, "ls").stdout
    (a_dir / "media" / f"{gone['cid']}.ogg").unlink()
    removed = jsonl(osp(a_dir, "rm", gone["id"], "--json"))[0]
    assert removed["fileDeleted"] is False, removed


def test_second_record_for_audio_already_held_reuses_the_file(tmp_path: Path, music: list[Path]) -> None:
    with node_server(tmp_path / "a", "127.0.0.57") as a, node_server(tmp_path / "b", "127.0.0.58") as b:
        first = a.node.publish(music[0], TrackMetadata(title="Intro"))
        got = b.node.fetch(first.track.id, a.peer_url).wait(60)
        assert got.state == "complete", got
        second = a.node.publish(music[0], TrackMetadata(title="Intro, another record"))
        assert second.track.record["cid"] == first.track.record["cid"]
        transfer = b.node.fetch(second.track.id, a.peer_url)
        state = transfer.wait(30)
        assert state.state == "complete", state
        assert str(tmp_path) not in json.dumps(state.to_json())
        assert {t.id for t in b.node.tracks()} == {first.track.id, second.track.id}
        assert len(b.node.library.files()) == 1
        assert httpx.get(f"{b.peer_url}/osp/v0/tracks/{second.track.id}").status_code == 200


def test_a_read_that_comes_up_short_aborts_the_response(tmp_path: Path, music: list[Path]) -> None:
    with node_server(tmp_path / "a", "127.0.0.59", upload_rate_limit=100_000) as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        cid = published.track.record["cid"]
        path = srv.node.settings.media_dir / f"{cid}.ogg"
        received = 0
        with httpx.stream("GET", f"{srv.peer_url}/ipfs/{cid}", timeout=30) as r:
            assert r.status_code == 200 and int(r.headers["content-length"]) == music[0].stat().st_size
            path.write_bytes(b"")  # the file shrinks after the headers went out
            with pytest.raises(httpx.HTTPError):
                for chunk in r.iter_bytes():
                    received += len(chunk)
        assert received < music[0].stat().st_size
        assert srv.node.library.file(cid).state == "changed"  # type: ignore[union-attr]
        assert srv.node.engine is not None and not srv.node.engine.has_torrent(published.infohash)


def test_get_again_repairs_a_fetched_track_whose_file_went_missing(tmp_path: Path, music: list[Path]) -> None:
    """`osp get` of a track whose file was removed by hand said "complete" and fetched
    nothing (new-user tryout): it now downloads the file again and the track is whole."""
    with node_server(tmp_path / "a", "127.0.0.57") as srv:
        track = srv.node.publish(music[1], TrackMetadata(title="Theme"))
        b_dir = tmp_path / "b"
        get = ("get", track.track.id, "--peer", srv.peer_url, "--listen", "127.0.0.58:0", "--no-dht")
        osp(b_dir, *get, timeout=120)
        stored = b_dir / "media" / f"{track.track.record['cid']}.ogg"
        stored.unlink()
        assert "file missing" in osp(b_dir, "ls").stdout
        osp(b_dir, *get, timeout=120)
        assert stored.read_bytes() == music[1].read_bytes()
        assert "not seeded" not in osp(b_dir, "ls").stdout
