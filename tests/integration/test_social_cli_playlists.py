"""``osp playlist rename``/``delete`` and ``osp retract`` of a local playlist id: the record id
of the published version is shown in text output, a deleted playlist's published versions
are said to stay published (``--retract`` retracts the newest), and ``osp retract pl-…``
retracts the newest published version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osp.content.cid import CID, JSON
from tests.integration.nodes import osp

TRACKS = [f"osp:track:{CID.of(bytes([60 + i]), codec=JSON)}" for i in range(2)]


def published(data: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in osp(data, "playlist", "ls", "--published", "--json").stdout.splitlines()]


@pytest.mark.slow  # ~18 s: some ten CLI processes
def test_rename_show_and_retract_a_playlist(tmp_path: Path) -> None:
    osp(tmp_path, "id", "init")
    pid = json.loads(osp(tmp_path, "playlist", "new", "Road", *TRACKS, "--json").stdout)["id"]
    renamed = osp(tmp_path, "playlist", "rename", pid, "Long Road").stdout
    assert "Long Road" in renamed and "(2 tracks)" in renamed
    first = osp(tmp_path, "playlist", "publish", pid).stdout
    (record,) = published(tmp_path)
    assert record["title"] == "Long Road" and str(record["id"]) in first
    shown = osp(tmp_path, "playlist", "show", pid).stdout
    assert f"published version 1: {record['id']}" in shown, shown

    retracted = osp(tmp_path, "retract", pid, "--json")
    assert json.loads(retracted.stdout)["subject"] == record["id"] and published(tmp_path) == []
    again = osp(tmp_path, "retract", pid, check=False)
    assert again.returncode == 2 and "no published version" in again.stderr, again.stderr



@pytest.mark.slow  # ~25 s: some twelve CLI processes
def test_delete_leaves_the_published_versions_unless_retract(tmp_path: Path) -> None:
    osp(tmp_path, "id", "init")
    pid = json.loads(osp(tmp_path, "playlist", "new", "Road", *TRACKS, "--json").stdout)["id"]
    second = json.loads(osp(tmp_path, "playlist", "publish", pid, "--json").stdout)
    kept = osp(tmp_path, "playlist", "delete", pid)
    assert f"deleted {pid}" in kept.stdout
    assert f"stays published: `osp retract {pid}`" in kept.stderr and str(second["id"]) in kept.stderr
    assert osp(tmp_path, "playlist", "show", pid, check=False).returncode == 2
    assert [p["id"] for p in published(tmp_path)] == [second["id"]]  # delete alone retracts nothing
    assert json.loads(osp(tmp_path, "retract", pid, "--json").stdout)["subject"] == second["id"]

    other = json.loads(osp(tmp_path, "playlist", "new", "Short", TRACKS[0], "--json").stdout)["id"]
    made = json.loads(osp(tmp_path, "playlist", "publish", other, "--json").stdout)
    gone = json.loads(osp(tmp_path, "playlist", "delete", other, "--retract", "--json").stdout)
    assert gone["deleted"] is True and gone["retracted"]["subject"] == made["id"] and published(tmp_path) == []
    missing = osp(tmp_path, "playlist", "rename", "pl-AAAAAAAAAAAAAAAA", "x", check=False)
    assert missing.returncode == 2 and "no such playlist" in missing.stderr and "Traceback" not in missing.stderr
