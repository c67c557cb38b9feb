"""``osp publish`` with several files (issue 6 item 7), its progress through a node and its
argument errors (item 10)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.integration.nodes import jsonl, node_server, osp


@pytest.fixture
def four_files(tmp_path: Path, audio_files: dict[str, Path]) -> list[Path]:
    """a.opus b.wav noise.mp3 c.m4a: the third is not audio."""
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(b"<html>not audio</html>" * 200)
    return [audio_files["opus"], audio_files["wav"], noise, audio_files["m4a"]]


def _check_partial(proc_json: list[dict[str, object]], files: list[Path]) -> None:
    assert [r["file"] for r in proc_json] == [str(f.resolve()) for f in files] or \
        [r["file"] for r in proc_json] == [str(f) for f in files]
    refused = [r for r in proc_json if "error" in r]
    assert len(refused) == 1 and str(refused[0]["file"]).endswith("noise.mp3")
    assert refused[0]["error"] == "unsupported-media" and refused[0]["message"]
    assert all(str(r["id"]).startswith("osp:track:") for r in proc_json if "error" not in r)


def test_publish_tries_every_file_and_reports_each_refusal(tmp_path: Path, four_files: list[Path]) -> None:
    data = tmp_path / "data"
    osp(data, "id", "init")
    proc = osp(data, "publish", *map(str, four_files), check=False)
    assert proc.returncode == 2, proc.stderr
    assert "noise.mp3" in proc.stderr and "3 published, 1 refused" in proc.stderr
    assert proc.stdout.count("published: ") == 3
    assert len(jsonl(osp(data, "ls", "--json"))) == 3  # c.m4a was tried after the refusal
    again = osp(data, "publish", "--json", *map(str, four_files), check=False)
    assert again.returncode == 2
    results = jsonl(again)
    assert len(results) == 4
    _check_partial(results, four_files)
    assert [r.get("created") for r in results if "error" not in r] == [False, False, False]


def test_publish_through_a_node_tries_every_file(tmp_path: Path, four_files: list[Path]) -> None:
    data = tmp_path / "data"
    with node_server(data, "127.0.0.1") as srv:
        proc = osp(data, "publish", "--json", *map(str, four_files), check=False)
        assert proc.returncode == 2 and "3 published, 1 refused" in proc.stderr, proc.stderr
        results = jsonl(proc)
        assert len(results) == 4
        _check_partial(results, four_files)
        # the control API itself, several paths in one request
        auth = {"Authorization": f"Bearer {srv.token}"}
        r = httpx.post(f"{srv.control_url}/api/publish", json={"paths": [str(f) for f in four_files]},
                       headers=auth, timeout=60)
        assert r.status_code == 200
        body = r.json()
        assert len(body["tracks"]) == 3 and [x["file"] for x in body["refused"]] == [str(four_files[2])]
        # every path refused: the first refusal's status
        r = httpx.post(f"{srv.control_url}/api/publish", json={"paths": [str(four_files[2]), str(tmp_path / "nope.ogg")]},
                       headers=auth, timeout=60)
        assert r.status_code == 415 and len(r.json()["refused"]) == 2
        assert r.json()["refused"][1]["error"] == "not-found"
        assert len(httpx.get(f"{srv.control_url}/api/tracks", headers=auth).json()["tracks"]) == 3


def test_publish_through_a_node_streams_progress(tmp_path: Path, music: list[Path]) -> None:
    data = tmp_path / "data"
    with node_server(data, "127.0.0.1") as srv:
        headers = {"Authorization": f"Bearer {srv.token}", "Accept": "application/x-ndjson"}
        with httpx.stream("POST", f"{srv.control_url}/api/publish", json={"paths": [str(music[1])]},
                          headers=headers, timeout=60) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
            lines = [json.loads(x) for x in r.iter_lines() if x.strip()]
    size = music[1].stat().st_size
    progress, answer = lines[:-1], lines[-1]
    assert progress and all(p["total"] == size for p in progress)
    assert 0 < progress[0]["done"] < size  # before the file is done, not only at the end
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    assert answer["status"] == 200 and len(answer["tracks"]) == 1 and answer["refused"] == []


def test_non_utf8_lyrics_file_is_a_caller_error(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    data = tmp_path / "data"
    osp(data, "id", "init")
    lyrics = tmp_path / "lyrics.txt"
    lyrics.write_bytes("caf\u00e9 au lait\n".encode("latin-1"))
    proc = osp(data, "publish", str(audio_files["ogg"]), "--lyrics-file", str(lyrics), check=False)
    assert proc.returncode == 2
    assert "not UTF-8" in proc.stderr and "Traceback" not in proc.stderr
