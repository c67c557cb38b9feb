"""Audio analysis on a real node: the background step over published tracks, failures
stored once, ``GET /api/tracks/{id}`` ``analysis``, "more like this", search by BPM and key
(API and CLI)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.library.analysis import Analyses
from osp.node.analysis import AnalysisStep
from osp.node.publish import TrackMetadata
from osp.provenance.analysis import ANALYSER_VERSION
from tests.audio_set import Piece
from tests.conftest import need
from tests.integration.nodes import jsonl, node_server, osp

PICKED = (0, 1, 2, 3, 4)  #: 80 C major, 100 A minor, 120 G major, 140 E minor, 90 F major


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, rendered_set: list[Piece]) -> Iterator[NodeServer]:
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    with node_server(tmp_path_factory.mktemp("analysis-api"), "127.0.0.43") as server:
        yield server


@pytest.fixture(scope="module")
def tracks(srv: NodeServer, rendered_set: list[Piece]) -> dict[str, Piece]:
    """The picked pieces published (tag ``rendered``) and analysed: track id → piece."""
    out = {}
    for i in PICKED:
        piece = rendered_set[i]
        assert piece.path is not None
        published = srv.node.publish(piece.path, TrackMetadata(title=f"Piece {piece.name}", tags=("rendered",)))
        out[published.track.id] = piece
    assert srv.node.jobs.run_pending(only=["analysis"]) == len(PICKED)
    assert srv.node.jobs.run_pending(only=["analysis"]) == 0  # nothing left: each track analysed once
    return out


def api(srv: NodeServer, path: str, **kw: Any) -> httpx.Response:
    return httpx.get(f"{srv.control_url}{path}", headers={"Authorization": f"Bearer {srv.token}"}, timeout=30, **kw)


def search(srv: NodeServer, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    resp = httpx.post(f"{srv.control_url}/api/search", json=body, headers={"Authorization": f"Bearer {srv.token}"},
                      timeout=60)
    assert resp.status_code == 200, resp.text
    lines = [json.loads(line) for line in resp.text.splitlines() if line.strip()]
    *results, done = lines
    return [r["result"] for r in results], done["done"]


def test_every_published_track_is_analysed(srv: NodeServer, tracks: dict[str, Piece]) -> None:
    for track_id, piece in tracks.items():
        got = api(srv, f"/api/tracks/{track_id}").json()["analysis"]
        assert got["error"] is None and got["version"] == ANALYSER_VERSION
        assert abs(got["bpm"] - piece.bpm) <= 0.02 * piece.bpm
        assert got["key"] == f"{piece.tonic} {piece.mode}"
        assert -40 < got["loudness"] < 0 and got["truePeak"] < 1 and got["duration"] > 20
        assert "vector" not in got
    listed = {t["id"]: t["analysis"] for t in api(srv, "/api/tracks").json()["tracks"]}  # what `osp ls --json` shows
    assert {tid: listed[tid]["key"] for tid in tracks} == {tid: f"{p.tonic} {p.mode}" for tid, p in tracks.items()}


def test_more_like_this(srv: NodeServer, tracks: dict[str, Piece]) -> None:
    first = next(iter(tracks))
    resp = api(srv, f"/api/tracks/{first}/similar", params={"limit": 3})
    assert resp.status_code == 200, resp.text
    similar = resp.json()["similar"]
    assert len(similar) == 3 and first not in {s["id"] for s in similar}
    scores = [s["similarity"] for s in similar]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    assert all(s["title"].startswith("Piece ") and s["analysis"]["bpm"] > 0 for s in similar)
    assert api(srv, f"/api/tracks/{first}/similar", params={"limit": 0}).status_code == 400
    assert api(srv, f"/api/tracks/{first}/similar", params={"limit": "x"}).status_code == 400
    missing = api(srv, "/api/tracks/osp:track:bagaaierafake/similar")
    assert missing.status_code == 404 and "not been analysed" in missing.json()["message"]
    # the CLI asks the running node
    proc = osp(srv.node.settings.data_dir, "similar", first, "--limit", "2", "--json")
    assert [s["id"] for s in json.loads(proc.stdout)["similar"]] == [s["id"] for s in similar[:2]]


def test_search_by_bpm_and_key(srv: NodeServer, tracks: dict[str, Piece]) -> None:
    by_bpm = {p.bpm: tid for tid, p in tracks.items()}
    results, done = search(srv, {"bpm": "118-122"})
    assert [r["id"] for r in results] == [by_bpm[120]] and done["results"] == 1
    assert results[0]["analysis"]["key"] == "G major" and results[0]["holders"] == ["local"]
    results, _ = search(srv, {"bpm": "100"})  # ±2 %
    assert [r["id"] for r in results] == [by_bpm[100]]
    results, _ = search(srv, {"key": "am"})
    assert [r["id"] for r in results] == [by_bpm[100]]
    results, _ = search(srv, {"bpm": "85-145", "key": "E minor"})
    assert [r["id"] for r in results] == [by_bpm[140]]
    results, done = search(srv, {"tags": ["rendered"], "bpm": "79-101"})  # with a query: the words' search, filtered
    assert sorted(r["id"] for r in results) == sorted([by_bpm[80], by_bpm[90], by_bpm[100]])
    assert done["notAnalysed"] == 0 and done["audioFilter"] == "79-101 BPM"
    results, _ = search(srv, {"bpm": "200-210"})
    assert results == []
    for bad in ({"bpm": "fast"}, {"key": "H minor"}, {"bpm": 120}, {"bpm": "130-120"}):
        resp = httpx.post(f"{srv.control_url}/api/search", json=bad, timeout=30,
                          headers={"Authorization": f"Bearer {srv.token}"})
        assert resp.status_code == 400 and resp.json()["error"] == "caller-error", bad
    proc = osp(srv.node.settings.data_dir, "search", "--bpm", "120", "--key", "G", "--json")
    lines = jsonl(proc)
    assert [line["id"] for line in lines if "id" in line] == [by_bpm[120]]
    bad = osp(srv.node.settings.data_dir, "search", "--key", "Q", check=False)
    assert bad.returncode == 2 and "key must be like" in bad.stderr


def test_tracks_not_analysed_are_left_out_and_counted(srv: NodeServer, tracks: dict[str, Piece],
                                                      music: list[Path]) -> None:
    published = srv.node.publish(music[0], TrackMetadata(title="Unanalysed Intro", tags=("rendered",)))
    try:
        results, done = search(srv, {"tags": ["rendered"], "key": "C major"})
        assert published.track.id not in {r["id"] for r in results}
        assert done["notAnalysed"] == 1
        proc = osp(srv.node.settings.data_dir, "search", "--tag", "rendered", "--key", "C")
        assert "1 network result not analysed here" in proc.stderr
    finally:
        srv.node.remove(published.track.id)


def test_a_failure_is_stored_once_and_rows_go_with_their_track(srv: NodeServer, tracks: dict[str, Piece],
                                                               tmp_path: Path, music: list[Path]) -> None:
    node = srv.node
    published = node.publish(music[1], TrackMetadata(title="Broken Later"))
    track = node.library.track(published.track.id)
    assert track is not None
    garbage = tmp_path / "garbage.ogg"
    garbage.write_bytes(b"OggS" + bytes(4096))
    AnalysisStep().run(node, track, garbage)  # as if the file had gone bad on disk
    row = Analyses(node.library).get(track.id)
    assert row is not None and row.error is not None and "cannot decode" in row.error and row.bpm is None
    assert node.jobs.run_pending(only=["analysis"]) == 0  # not retried
    got = api(srv, f"/api/tracks/{track.id}").json()["analysis"]
    assert got["error"] == row.error and got["bpm"] is None
    assert api(srv, f"/api/tracks/{track.id}/similar").status_code == 404
    node.remove(track.id)
    assert Analyses(node.library).get(track.id) is None


def test_a_running_node_analyses_in_the_background_after_publish_returns(tmp_path: Path,
                                                                         rendered_set: list[Piece]) -> None:
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    piece = rendered_set[2]  # 120 BPM, G major
    with node_server(tmp_path / "bg", "127.0.0.44", track_jobs=True) as bg:
        headers = {"Authorization": f"Bearer {bg.token}"}
        resp = httpx.post(f"{bg.control_url}/api/publish", json={"paths": [str(piece.path)], "title": "Background"},
                          headers=headers, timeout=60)
        assert resp.status_code == 200, resp.text
        track_id = resp.json()["tracks"][0]["id"]
        deadline = time.monotonic() + 45
        got = None
        while time.monotonic() < deadline:
            got = httpx.get(f"{bg.control_url}/api/tracks/{track_id}", headers=headers, timeout=30).json()["analysis"]
            if got is not None:
                break
            time.sleep(0.2)
        assert got is not None, "not analysed within 45 s"
        assert got["key"] == "G major" and abs(got["bpm"] - 120) < 2.4 and got["error"] is None
