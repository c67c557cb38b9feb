"""``osp analyse``, ``osp similar``, ``osp search --bpm/--key`` and ``osp ls --json`` with
no node running (the library opened in the command's own process)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.audio_set import Piece
from tests.conftest import need
from tests.integration.nodes import jsonl, osp


@pytest.mark.slow  # ~35 s: a dozen osp processes, two analyses
def test_analyse_then_similar_and_search_without_a_node(tmp_path: Path, rendered_set: list[Piece]) -> None:
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    data = tmp_path / "d"
    osp(data, "id", "init")
    pieces = [p for p in rendered_set if p.bpm in (100, 140)]  # A minor, E minor
    published = jsonl(osp(data, "publish", "--json", *(str(p.path) for p in pieces), timeout=120))
    ids = {p.bpm: t["id"] for p, t in zip(pieces, published, strict=True)}
    assert all(t["analysis"] is None for t in jsonl(osp(data, "ls", "--json")))
    not_yet = osp(data, "similar", ids[100], check=False)
    assert not_yet.returncode == 2 and "has not been analysed here (not yet)" in not_yet.stderr

    done = jsonl(osp(data, "analyse", "--json", timeout=120))
    assert sorted(d["id"] for d in done) == sorted(ids.values())
    assert {d["id"]: d["analysis"]["key"] for d in done} == {ids[100]: "A minor", ids[140]: "E minor"}
    again = osp(data, "analyse")
    assert again.stdout == "" and "0 tracks analysed" in again.stderr  # each track once

    listed = {t["id"]: t["analysis"] for t in jsonl(osp(data, "ls", "--json"))}
    assert round(listed[ids[140]]["bpm"]) == 140 and listed[ids[140]]["truePeak"] < 1
    similar = json.loads(osp(data, "similar", ids[100], "--json").stdout)
    assert [s["id"] for s in similar["similar"]] == [ids[140]]
    text = osp(data, "similar", ids[100]).stdout
    assert re.search(r"140\.\d BPM · E minor · -\d+\.\d LUFS", text), text

    found = jsonl(osp(data, "search", "--key", "e min", "--json"))
    assert [r["id"] for r in found if "id" in r] == [ids[140]] and found[-1]["done"]["results"] == 1
    none = osp(data, "search", "--bpm", "60-70", check=False)
    assert none.returncode == 2 and "no track matched" in none.stderr
