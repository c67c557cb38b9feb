"""Remix lineage on one node without the network: the library's own tracks (published
with ``provenance.parents``), the search index's parent keys (migration 9 re-indexes old
rows), ``osp lineage`` offline (a note, exit 2 for a track found nowhere) and the control
API's ``GET /api/tracks/{id}/lineage``."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.core.settings import Settings
from osp.discovery.keys import rendezvous_key
from osp.library.migrations import MIGRATIONS
from osp.node import Node
from osp.node.lineage import lineage
from osp.node.publish import TrackMetadata
from osp.provenance.lineage import walk
from tests.integration.nodes import node_server, osp
from tests.unit.provenance.test_lineage import tid

LOST = tid("a track nobody holds")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path]) -> Iterator[dict[str, Any]]:
    """A data directory whose library holds an original, a remix of it, a cover of the remix
    that also samples a track nobody holds."""
    data = tmp_path_factory.mktemp("lineage-local")
    node = Node(Settings(data_dir=data, dht=False))
    node.keystore.create()
    try:
        def publish(fmt: str, title: str, parents: list[Any] | None = None) -> str:
            prov = {"parents": parents} if parents else {}
            meta = TrackMetadata(title=title, artist_name="Local Artist", released="2026-11-01", provenance=prov)
            return node.publish(audio_files[fmt], meta).track.id

        ids = {"original": publish("ogg", "Glass River")}
        ids["remix"] = publish("mp3", "Glass River (Dub)", [ids["original"]])
        ids["cover"] = publish("flac", "Glass River Cover", [ids["remix"], LOST])
        yield {"data": data, "ids": ids}
    finally:
        node.close()


def test_the_library_alone_gives_the_whole_family(library: dict[str, Any]) -> None:
    ids = library["ids"]
    node = Node(Settings(data_dir=library["data"], dht=False))
    try:
        down = lineage(node, ids["original"], timeout=10)
        assert down["status"] == "known" and down["network"] is False and down["partial"] is False
        assert [c["id"] for c in down["children"]] == [ids["remix"]]
        assert [c["id"] for c in down["children"][0]["children"]] == [ids["cover"]]
        up = lineage(node, ids["cover"], timeout=10)
        assert [(p["id"], p["status"]) for p in up["parents"]] == [(ids["remix"], "known"), (LOST, "unknown")]
        assert [p["id"] for p in up["parents"][0]["parents"]] == [ids["original"]]
        assert up["nodes"] == len(walk(up)) == 4
        shallow = lineage(node, ids["original"], depth=1, timeout=10)
        assert shallow["children"][0]["more"] is True and shallow["children"][0]["children"] == []
    finally:
        node.close()


def test_an_index_from_before_parent_keys_is_rebuilt(library: dict[str, Any], tmp_path: Path) -> None:
    ids = library["ids"]
    copy = tmp_path / "old"
    copy.mkdir()
    src = sqlite3.connect(library["data"] / "library.sqlite3")
    dst = sqlite3.connect(copy / "library.sqlite3")
    src.backup(dst)
    src.close()
    parent_key = rendezvous_key("parent", ids["original"]).hex
    dst.execute("DELETE FROM search_keys WHERE key=?", (parent_key,))  # as migration 5's indexer left it
    # back to just before the parent-key migration: later migrations' tables are dropped, to be made again
    version = next(i for i, m in enumerate(MIGRATIONS) if "DELETE FROM search_keys" in m)
    for later in MIGRATIONS[version:]:
        for table in re.findall(r"CREATE TABLE (\w+)", later):
            dst.execute(f"DROP TABLE {table}")
    dst.execute(f"PRAGMA user_version={version}")
    dst.commit()
    dst.close()
    node = Node(Settings(data_dir=copy, dht=False))
    try:
        assert node.library._all("SELECT count(*) FROM search_keys WHERE key=?", (parent_key,))[0][0] == 1
        assert [c["id"] for c in lineage(node, ids["original"], depth=1, timeout=10)["children"]] == [ids["remix"]]
    finally:
        node.close()


def test_osp_lineage_offline(library: dict[str, Any]) -> None:
    ids = library["ids"]
    tree = json.loads(osp(library["data"], "lineage", ids["remix"], "--json").stdout)
    assert [p["id"] for p in tree["parents"]] == [ids["original"]] and tree["network"] is False
    text = osp(library["data"], "lineage", ids["remix"])
    assert "remix of" not in text.stdout  # the bare-id form says no relation
    assert "parent: Glass River — Local Artist (2026-11-01)" in text.stdout, text.stdout
    assert "child: Glass River Cover" in text.stdout, text.stdout
    assert "no node runs: only the library" in text.stderr, text.stderr
    # into a pipe: every track id whole on one line (to copy it), even two levels deep
    deep = osp(library["data"], "lineage", ids["cover"]).stdout
    assert all(any(ids[k] in line for line in deep.splitlines()) for k in ("original", "remix", "cover")), deep
    nowhere = osp(library["data"], "lineage", tid("nothing at all"), check=False)
    assert nowhere.returncode == 2 and "no record of" in nowhere.stderr, nowhere.stderr
    bad = osp(library["data"], "lineage", "not-an-id", check=False)
    assert bad.returncode == 2 and "is not a track id" in bad.stderr


def test_control_api_lineage(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    with node_server(tmp_path / "n", "127.0.0.171") as srv:
        node = srv.node
        orig = node.publish(audio_files["ogg"], TrackMetadata(title="Salt Flats")).track.id
        remix = node.publish(audio_files["mp3"], TrackMetadata(title="Salt Flats VIP", provenance={"parents": [orig]})).track.id
        headers = {"Authorization": f"Bearer {srv.token}"}
        r = httpx.get(f"{srv.control_url}/api/tracks/{orig}/lineage?depth=2&timeout=5", headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        assert [c["id"] for c in r.json()["children"]] == [remix]
        text = osp(tmp_path / "n", "lineage", orig)  # through this node, whose DHT is off: it says so
        assert "1 relative in" in text.stderr and "only this node was searched (the DHT is off" in text.stderr, \
            text.stderr
        for query in ("depth=9", "depth=x", "timeout=0", "timeout=61", "depth=-1"):
            bad = httpx.get(f"{srv.control_url}/api/tracks/{orig}/lineage?{query}", headers=headers, timeout=30)
            assert bad.status_code == 400, (query, bad.text)
        assert httpx.get(f"{srv.control_url}/api/tracks/{orig}/lineage", timeout=30).status_code == 401
        assert httpx.get(f"{srv.control_url}/api/tracks/nope/lineage", headers=headers, timeout=30).status_code == 400


def test_peer_search_by_parent(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    """``GET /osp/v0/search?parent=`` (spec §9.3): only records naming the parent, alone or
    with other conditions; a malformed or repeated ``parent`` is a 400."""
    with node_server(tmp_path / "n", "127.0.0.172") as srv:
        node = srv.node
        orig = node.publish(audio_files["ogg"], TrackMetadata(title="Salt Flats")).track.id
        remix = node.publish(audio_files["mp3"], TrackMetadata(title="Salt Flats VIP", provenance={"parents": [orig]})).track.id
        node.publish(audio_files["flac"], TrackMetadata(title="Salt Flats Live"))
        url = f"{srv.peer_url}/osp/v0/search"
        answer = httpx.get(url, params={"parent": orig}, timeout=30).json()
        assert [r["id"] for r in answer["results"]] == [remix] and answer["truncated"] is False
        assert [r["id"] for r in httpx.get(url, params={"parent": orig, "q": "vip"}, timeout=30).json()["results"]] == [remix]
        assert httpx.get(url, params={"parent": orig, "q": "live"}, timeout=30).json()["results"] == []
        assert httpx.get(url, params={"parent": remix}, timeout=30).json()["results"] == []
        for bad in ([("parent", "osp:track:nope")], [("parent", orig), ("parent", orig)]):
            assert httpx.get(url, params=bad, timeout=30).status_code == 400, bad


def test_the_object_form_carries_the_relation(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    """``{"id", "relation"}`` parents (issue 10's schema, part A): the relation reaches the
    tree and the CLI's words.  Skipped while the schema knows only bare ids."""
    from osp.core.errors import OspError

    data = tmp_path / "n"
    node = Node(Settings(data_dir=data, dht=False))
    node.keystore.create()
    try:
        orig = node.publish(audio_files["ogg"], TrackMetadata(title="Basalt")).track.id
        try:
            cover = node.publish(audio_files["mp3"], TrackMetadata(
                title="Basalt (Cover)", provenance={"parents": [{"id": orig, "relation": "cover"}]})).track.id
        except OspError as exc:
            pytest.skip(f"the record schema does not take the object form of parents yet: {exc}")
        tree = lineage(node, orig, timeout=10)
        assert [(c["id"], c["relation"]) for c in tree["children"]] == [(cover, "cover")]
    finally:
        node.close()
    text = osp(data, "lineage", cover).stdout
    assert "cover of: Basalt" in text, text
