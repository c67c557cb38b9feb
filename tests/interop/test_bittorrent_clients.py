"""Our node against independent BitTorrent clients from Debian, over loopback, v1 torrents.

aria2 1.36 (needs a tracker: a tiny one here) and Transmission 3.00 (dialed from our side:
it never dials 127.x peers it learns) download a track our node seeds, and our node
downloads a track each of them seeds.  Torrents here carry no web seed, so every byte
moves over the BitTorrent peer protocol.  Neither client reads hybrid (v1+v2) torrents,
which is why OSP publishes v1 by default.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.apps.http import NodeServer
from osp.distribution.engine import parse_metainfo, with_web_seeds
from osp.node import TrackMetadata
from tests.conftest import need
from tests.integration.nodes import node_server, osp
from tests.interop.fakes import free_port, osp_peer, tracker

pytestmark = pytest.mark.interop


class Seeded:
    def __init__(self, srv: NodeServer, record: dict, torrent: bytes, data: bytes) -> None:  # type: ignore[type-arg]
        self.srv, self.record, self.torrent, self.data = srv, record, torrent, data
        self.name = parse_metainfo(torrent).name
        self.infohash = parse_metainfo(torrent).infohash

    @property
    def bt_port(self) -> int:
        assert self.srv.node.engine is not None
        return self.srv.node.engine.listen_port


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[Seeded]:
    with node_server(tmp_path_factory.mktemp("seed"), "127.0.0.21") as srv:
        published = srv.node.publish(music[0], TrackMetadata(title="Intro"))
        torrent = with_web_seeds(published.metainfo, [])
        yield Seeded(srv, published.track.record, torrent, music[0].read_bytes())


def wait_listening(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


def wait_file(path: Path, data: bytes, timeout: float, poke: object = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return
        if callable(poke):
            poke()
        time.sleep(0.5)
    raise AssertionError(f"{path.name} did not arrive whole within {timeout} s")


ARIA2 = ["aria2c", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
         "--console-log-level=warn", "--summary-interval=0", "--allow-overwrite=true", "--file-allocation=none"]


def test_aria2_downloads_from_our_node(seeded: Seeded, tmp_path: Path) -> None:
    need(shutil.which("aria2c") is not None, "aria2c")
    torrent = tmp_path / "t.torrent"
    torrent.write_bytes(seeded.torrent)
    with tracker("127.0.0.20", [("127.0.0.21", seeded.bt_port)]) as announce:
        proc = subprocess.run([*ARIA2, f"--bt-tracker={announce}", "--seed-time=0", "--bt-stop-timeout=40",
                               f"--dir={tmp_path / 'out'}", str(torrent)], capture_output=True, text=True, timeout=55)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "out" / seeded.name).read_bytes() == seeded.data


def test_our_node_downloads_from_aria2(seeded: Seeded, tmp_path: Path) -> None:
    need(shutil.which("aria2c") is not None, "aria2c")
    torrent = tmp_path / "t.torrent"
    torrent.write_bytes(seeded.torrent)
    seed_dir = tmp_path / "aria2"
    seed_dir.mkdir()
    (seed_dir / seeded.name).write_bytes(seeded.data)
    port = free_port()
    with tracker("127.0.0.20", []) as announce:
        aria = subprocess.Popen([*ARIA2, "--check-integrity=true", "--seed-ratio=0.0", f"--listen-port={port}",
                                 f"--bt-tracker={announce}", f"--dir={seed_dir}", str(torrent)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_listening(port)
            with osp_peer("127.0.0.22", seeded.record, seeded.torrent, port) as peer:
                out = tmp_path / "got.ogg"
                proc = osp(tmp_path / "b", "get", seeded.record["id"], "--peer", peer, "--no-dht",
                           "--listen", "127.0.0.23:0", "--stall-timeout", "30", "-o", str(out), "--json",
                           check=False, timeout=55)
        finally:
            aria.terminate()
            aria.wait(10)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == seeded.data
    assert json.loads(proc.stdout)["cid"] == seeded.record["cid"]


def transmission(config: Path, workdir: Path, torrent: Path, port: int) -> subprocess.Popen[str]:
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(json.dumps({
        "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
        "port-forwarding-enabled": False, "peer-port": port, "rpc-enabled": False, "ratio-limit-enabled": False,
        "rename-partial-files": False, "start-added-torrents": True, "message-level": 1,
    }))
    return subprocess.Popen(["transmission-cli", "-M", "-g", str(config), "-w", str(workdir), "-p", str(port),
                             str(torrent)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


def test_transmission_downloads_from_our_node(seeded: Seeded, tmp_path: Path) -> None:
    need(shutil.which("transmission-cli") is not None, "transmission-cli")
    torrent = tmp_path / "t.torrent"
    torrent.write_bytes(seeded.torrent)
    port = free_port()
    out = tmp_path / "out"
    out.mkdir()
    proc = transmission(tmp_path / "cfg", out, torrent, port)
    engine = seeded.srv.node.engine
    assert engine is not None
    try:
        wait_listening(port)
        # Transmission ignores 127.x peers from trackers: our node dials it (design.md §7)
        wait_file(out / seeded.name, seeded.data, timeout=50,
                  poke=lambda: engine.connect_peer(seeded.infohash, ("127.0.0.1", port)))
    finally:
        proc.terminate()
        proc.wait(10)


def test_our_node_downloads_from_transmission(seeded: Seeded, tmp_path: Path) -> None:
    need(shutil.which("transmission-cli") is not None, "transmission-cli")
    torrent = tmp_path / "t.torrent"
    torrent.write_bytes(seeded.torrent)
    work = tmp_path / "tr"
    work.mkdir()
    (work / seeded.name).write_bytes(seeded.data)
    port = free_port()
    proc = transmission(tmp_path / "cfg", work, torrent, port)
    try:
        wait_listening(port)
        with osp_peer("127.0.0.24", seeded.record, seeded.torrent, port) as peer:
            out = tmp_path / "got.ogg"
            result = osp(tmp_path / "b", "get", seeded.record["id"], "--peer", peer, "--no-dht",
                         "--listen", "127.0.0.25:0", "--stall-timeout", "40", "-o", str(out), check=False, timeout=58)
    finally:
        proc.terminate()
        proc.wait(10)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == seeded.data
