"""Exit codes of the network verbs match the README (issue 6 item 10), and
``osp get TRACK --gateway URL`` works without ``--peer`` wherever it can."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.apps.http import NodeServer
from osp.node import TrackMetadata
from tests.integration.nodes import jsonl, node_server, osp
from tests.interop.fakes import serve

MISSING = "osp:track:bagaaieraxhbdeffpg5jg2ru3zf2hbsuf4oq7uhwkz3pzh2d5pa6ni6y3ifna"


@pytest.fixture
def nothing_here() -> Iterator[str]:
    """A peer that answers 404 to everything (an IPFS gateway, or a node without the track)."""
    with serve("127.0.0.45", lambda path: (404, "application/json", b'{"error":"not-found"}')) as url:
        yield url


def test_a_track_missing_on_the_peer_is_a_remote_error(tmp_path: Path, nothing_here: str) -> None:
    for verb in ("resolve", "get"):
        proc = osp(tmp_path, verb, MISSING, "--peer", nothing_here, "--no-dht" if verb == "get" else "--json",
                   check=False)
        assert proc.returncode == 4, (verb, proc.returncode, proc.stderr)
        assert "not found on that peer" in proc.stderr and "Traceback" not in proc.stderr
    # missing from the local library, no peer asked: the caller's fault, as before
    proc = osp(tmp_path, "resolve", MISSING, check=False)
    assert proc.returncode == 2 and "--peer" in proc.stderr


def test_a_peer_that_is_not_a_url_is_a_bad_argument(tmp_path: Path) -> None:
    for args in (("resolve", MISSING, "--peer", "127.0.0.2:8787"), ("get", MISSING, "--peer", "nonsense", "--no-dht"),
                 ("get", MISSING, "--gateway", "gw.example:8080")):
        proc = osp(tmp_path, *args, check=False)
        assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
        assert "http(s) URL" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def seeder(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, dict]]:  # type: ignore[type-arg]
    with node_server(tmp_path_factory.mktemp("gw"), "127.0.0.46") as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        yield srv, published.track.record


def test_get_from_a_gateway_needs_no_peer_for_a_record(tmp_path: Path, seeder, music: list[Path]) -> None:  # type: ignore[no-untyped-def]
    srv, record = seeder
    record_file = tmp_path / "track.json"
    record_file.write_text(json.dumps(record))
    # a record file: the gateway alone serves the verified bytes
    got = jsonl(osp(tmp_path / "b", "get", str(record_file), "--gateway", srv.peer_url, "--json"))[0]
    assert got["id"] == record["id"] and Path(got["path"]).read_bytes() == music[0].read_bytes()
    # a track id: the gateway is an OSP node, so it also answers for the record
    got = jsonl(osp(tmp_path / "c", "get", record["id"], "--gateway", srv.peer_url, "--json"))[0]
    assert got["id"] == record["id"] and Path(got["path"]).read_bytes() == music[0].read_bytes()


def test_get_from_a_plain_gateway_says_what_to_add(tmp_path: Path, nothing_here: str) -> None:
    proc = osp(tmp_path, "get", MISSING, "--gateway", nothing_here, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "add --peer URL" in proc.stderr and "record file or record URL" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 3 and "Traceback" not in proc.stderr
