"""``--peer`` repeated, as a user types it (issue 7): a node that is down, or named twice,
does not stop the others from being used."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.apps.http import NodeServer
from osp.node import TrackMetadata
from tests.integration.nodes import jsonl, node_server, osp


@pytest.fixture(scope="module")
def seeder(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[tuple[NodeServer, str]]:
    with node_server(tmp_path_factory.mktemp("seeder"), "127.0.0.70") as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        yield srv, published.track.id


@pytest.fixture
def down() -> Iterator[str]:
    """The URL of a node that is down: a bound port nobody listens on (connections refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.71", 0))
        yield f"http://127.0.0.71:{sock.getsockname()[1]}"


def test_a_first_peer_that_is_down_does_not_stop_the_others(tmp_path: Path, seeder, down: str,  # type: ignore[no-untyped-def]
                                                             music: list[Path]) -> None:
    srv, track_id = seeder
    proc = osp(tmp_path / "b", "get", track_id, "--peer", down, "--peer", srv.peer_url, "--peer", srv.peer_url,
               "--listen", "127.0.0.72:0", "--no-dht", "--json", check=False)
    assert proc.returncode == 0, proc.stderr
    got = jsonl(proc)[0]
    assert got["id"] == track_id and Path(got["path"]).read_bytes() == music[0].read_bytes()


def test_every_peer_down_names_each(tmp_path: Path, down: str) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.73", 0))
        second = f"http://127.0.0.73:{other.getsockname()[1]}"
        proc = osp(tmp_path, "get", "osp:track:bagaaieraxhbdeffpg5jg2ru3zf2hbsuf4oq7uhwkz3pzh2d5pa6ni6y3ifna",
                   "--peer", down, "--peer", second, "--no-dht", check=False)
    assert proc.returncode == 6, proc.stderr
    assert down in proc.stderr and second in proc.stderr and "Traceback" not in proc.stderr


def test_status_does_not_count_a_cancelled_download_as_active(tmp_path: Path, music: list[Path]) -> None:
    with node_server(tmp_path / "slow", "127.0.0.74", upload_rate_limit=20_000) as seeder, \
            node_server(tmp_path / "b", "127.0.0.75") as srv:
        track_id = seeder.node.publish(music[0], TrackMetadata(title="Intro")).track.id
        srv.node.fetch(track_id, [seeder.peer_url])  # 2.3 MB at 20 kB/s: still downloading when cancelled
        assert srv.node.cancel(track_id).state == "cancelled"
        (status,) = jsonl(osp(tmp_path / "b", "status", "--json"))
        assert status["transfers"] == {"active": 0, "total": 1}
        assert "0 active, 1 in all" in osp(tmp_path / "b", "status").stdout
