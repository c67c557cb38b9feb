"""``--peer`` repeated, as a user types it (issue 7): a node that is down, or named twice,
does not stop the others from being used."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.apps.http import NodeServer
from osp.core.errors import PeerError
from osp.distribution.peer_client import PeerClient
from osp.node import TrackMetadata
from osp.node.fetch import Transfer
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


@pytest.fixture
def hanging() -> Iterator[str]:
    """The URL of a node that accepts connections and never answers, until the test ends."""
    release = threading.Event()
    held: list[socket.socket] = []
    with socket.socket() as server:
        server.bind(("127.0.0.76", 0))
        server.listen(16)
        server.settimeout(0.1)

        def hold() -> None:
            while not release.is_set():
                try:
                    held.append(server.accept()[0])
                except TimeoutError:
                    pass

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.76:{server.getsockname()[1]}"
        finally:
            release.set()
            thread.join(10)
            for conn in held:
                conn.close()


def test_a_peer_that_hangs_does_not_hold_up_the_start(tmp_path: Path, seeder, hanging: str) -> None:  # type: ignore[no-untyped-def]
    srv, track_id = seeder
    with node_server(tmp_path / "b", "127.0.0.77", request_deadline=50) as b:
        started: list[Transfer] = []
        thread = threading.Thread(target=lambda: started.append(b.node.fetch(track_id, [srv.peer_url, hanging])),
                                  daemon=True)
        t0 = time.monotonic()
        thread.start()
        # the hanging node answers nothing (a client waits 10 s per read): the fetch must not wait for it
        thread.join(7)
        assert started, f"fetch still waiting for the hanging node after {time.monotonic() - t0:.1f} s"
        transfer = started[0]
        deadline = time.monotonic() + 40
        while transfer.state.state != "complete" and time.monotonic() < deadline:
            transfer.done.wait(0.05)
        assert transfer.state.state == "complete", transfer.state
        # the hanging node is a web seed too: its lane, stuck in a request, must not hold up the end
        assert transfer.done.wait(3), "the transfer was complete but did not end within 3 s"


def test_closing_a_client_ends_its_request_to_a_node_that_hangs(hanging: str) -> None:
    client = PeerClient(hanging, allow_private=True, deadline=50)
    failed: list[BaseException] = []

    def ask() -> None:
        try:
            client.get_range("/ipfs/x", 0, 9, 100)
        except PeerError as exc:
            failed.append(exc)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(0.5)  # connected, blocked reading (the node answers nothing; a read waits 10 s)
    assert thread.is_alive()
    client.close()
    thread.join(3)
    assert not thread.is_alive() and failed, "close() did not end the request in flight"


def test_get_with_a_peer_that_hangs_ends_when_the_track_is_there(tmp_path: Path, seeder, hanging: str,  # type: ignore[no-untyped-def]
                                                                  music: list[Path]) -> None:
    srv, track_id = seeder
    t0 = time.monotonic()
    proc = osp(tmp_path / "b", "get", track_id, "--peer", srv.peer_url, "--peer", hanging,
               "--listen", "127.0.0.78:0", "--no-dht", "--json", check=False)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert Path(jsonl(proc)[0]["path"]).read_bytes() == music[0].read_bytes()
    # before: the start waited for the hanging node's address (a 10 s read), the exit for
    # its requests still running (the ask pool's threads, the web-seed lanes)
    assert elapsed < 8, f"osp get took {elapsed:.1f} s"
