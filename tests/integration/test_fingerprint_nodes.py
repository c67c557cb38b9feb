"""Re-upload detection between real nodes: a second artist publishes a re-encode of a track
fetched from the first and is warned; ``osp ls``/``show``/``match`` say so; the peer route
``GET /osp/v0/match`` answers another node's query and refuses hostile input (spec §9.7)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from osp.provenance import fingerprint as fp
from tests.conftest import need
from tests.integration.nodes import jsonl, osp, start_node


@pytest.fixture(scope="module")
def reupload(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Path:
    """An Opus 32k re-encode of the first track with its first 20 s cut off."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    need(shutil.which("fpcalc") is not None, "fpcalc (libchromaprint-tools)")
    out = tmp_path_factory.mktemp("reupload") / "new.opus"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "20", "-i", str(music[0]), "-c:a", "libopus", "-b:a", "32k",
                    str(out)], check=True, timeout=120)
    return out


def test_a_reupload_is_flagged_and_peers_can_ask(tmp_path: Path, music: list[Path], reupload: Path) -> None:
    a = start_node(tmp_path / "a", 201)
    b = start_node(tmp_path / "b", 202)
    try:
        original = jsonl(osp(a.data_dir, "publish", str(music[0]), "--title", "Original Intro", "--artist-name",
                             "Frozen Team", "--released", "2020-05-01", "--json", timeout=120))[0]
        assert original["duplicates"] == []  # checked at publish: nothing earlier
        osp(b.data_dir, "get", original["id"], "--peer", a.http, "--allow-private-peers", timeout=120)

        proc = osp(b.data_dir, "publish", str(reupload), "--title", "My New Song", timeout=120)
        warned = re.search(r'My New Song: warning: this audio matches "Original Intro" by Frozen Team, released '
                           r"2020-05-01 \(at \+(\d+\.\d) s\)", " ".join(proc.stderr.split()))
        assert warned and abs(float(warned.group(1)) - 20.0) < 0.5, proc.stderr
        again = jsonl(osp(b.data_dir, "publish", str(reupload), "--title", "My New Song", "--json", timeout=120))[0]
        assert not again["created"] and [d["id"] for d in again["duplicates"]] == [original["id"]]
        d = again["duplicates"][0]
        assert abs(d["offset"] - 20.0) < 0.5 and d["overlap"] > 150 and not d["own"]

        listed = {t["id"]: t for t in jsonl(osp(b.data_dir, "ls", "--json"))}
        assert listed[again["id"]]["duplicateOf"] == original["id"] and listed[original["id"]]["duplicateOf"] is None
        assert "DUPLICATE" in osp(b.data_dir, "ls").stdout
        shown = osp(b.data_dir, "show", again["id"]).stdout
        assert 'matches "Original Intro" by Frozen Team' in " ".join(shown.split())

        # does any node know this audio?  B's library, then A over the peer route
        got = jsonl(osp(b.data_dir, "match", str(reupload), "--peer", a.http, "--allow-private-peers", "--json"))
        done = got.pop()["done"]
        assert done == {"matches": len(got), "asked": 1, "failed": 0}
        by_peer = {(m["peer"], m["id"]) for m in got}
        assert by_peer == {("local", original["id"]), ("local", again["id"]), (a.http, original["id"])}
        theirs = next(m for m in got if m["peer"] == a.http)
        assert abs(theirs["offset"] - 20.0) < 0.5 and theirs["record"]["title"] == "Original Intro"
        unrelated = osp(a.data_dir, "match", str(music[1]), check=False)
        assert unrelated.returncode == 2 and "no known track matches" in unrelated.stderr
    finally:
        a.stop()
        b.stop()


def test_the_match_route_refuses_hostile_input(tmp_path: Path, music: list[Path]) -> None:
    need(shutil.which("fpcalc") is not None, "fpcalc (libchromaprint-tools)")
    a = start_node(tmp_path / "a", 203)
    try:
        osp(a.data_dir, "publish", str(music[1]), timeout=120)
        values = fp.compute(music[1]).values
        good = fp.encode_param(values[300:300 + 900])
        with httpx.Client(base_url=a.http, timeout=30) as client:
            ok = client.get("/osp/v0/match", params={"fp": good})
            assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "*"
            [m] = ok.json()["matches"]
            assert abs(m["offset"] - 300 * fp.ITEM_SECONDS) < 0.3 and m["score"] > 0.9 and m["record"]["proof"]
            short = client.get("/osp/v0/match", params={"fp": fp.encode_param(values[300:300 + 40])})
            assert short.json() == {"matches": []}  # 5 s: under MIN_OVERLAP, never a match
            hostile = {
                "too many values": {"fp": fp.encode_param(values[:971])},
                "garbage base64": {"fp": "!!not*base64!!"},
                "not whole values": {"fp": "AAAAAAA"},
                "empty": {"fp": ""},
                "no fp": {"q": "x"},
                "extra parameter": [("fp", good), ("limit", "1000")],
                "fp twice": [("fp", good), ("fp", good)],
            }
            for what, params in hostile.items():
                r = client.get("/osp/v0/match", params=params)
                assert r.status_code == 400 and r.json()["error"] == "caller-error", (what, r.status_code, r.text)
            huge = client.get("/osp/v0/match?fp=" + "A" * 12_000)  # 9,000 values: the length is refused first
            assert huge.status_code == 400 and "longer than 970 values" in huge.json()["message"]
            assert client.get("/osp/v0/node").status_code == 200  # still serving
    finally:
        a.stop()


def test_offline_publish_notes_the_artists_own_earlier_upload(tmp_path: Path, music: list[Path],
                                                              reupload: Path) -> None:
    data = tmp_path / "n"
    osp(data, "id", "init")
    first = jsonl(osp(data, "publish", str(music[0]), "--title", "Intro", "--json", timeout=120))[0]
    proc = osp(data, "publish", str(reupload), "--title", "Intro (radio edit)", timeout=120)
    assert f'Intro (radio edit): note: you published this audio before as "Intro" ({first["id"]}, at +20.' \
        in " ".join(proc.stderr.split()), proc.stderr
    assert "warning" not in proc.stderr and "Traceback" not in proc.stderr
    listed = jsonl(osp(data, "ls", "--json"))
    assert [t["duplicateOf"] for t in listed] == [None, None]  # your own audio is never flagged
