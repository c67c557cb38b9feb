"""The saved DHT state file and the reachability lines (osp.node.network, osp status)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from types import SimpleNamespace

from osp.apps.cli.status_cmds import reachability_lines, status_lines
from osp.core.settings import Settings
from osp.distribution.events import Reachability
from osp.node.network import (
    MAX_DHT_STATE,
    DhtStateSaver,
    announce_ports,
    http_port_to_map,
    load_dht_state,
    peer_listener_hidden,
    save_dht_state,
)


def test_the_state_file_is_written_atomically_and_junk_or_oversize_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "dht-state"
    assert load_dht_state(path) is None  # none yet
    save_dht_state(path, b"d3:foo3:bare")
    assert load_dht_state(path) == b"d3:foo3:bare" and oct(path.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "dht-state.tmp").exists()
    (tmp_path / "dht-state.tmp").write_bytes(b"left by a crash")  # replaced, not appended to
    save_dht_state(path, b"second")
    assert load_dht_state(path) == b"second"
    path.write_bytes(b"")
    assert load_dht_state(path) is None
    path.write_bytes(b"x" * (MAX_DHT_STATE + 1))
    assert load_dht_state(path) is None
    path.unlink()
    path.mkdir()  # unreadable as a file
    assert load_dht_state(path) is None


def test_a_planted_link_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_bytes(b"keep")
    os.symlink(target, tmp_path / "dht-state.tmp")
    save_dht_state(tmp_path / "dht-state", b"state")
    assert target.read_bytes() == b"keep" and load_dht_state(tmp_path / "dht-state") == b"state"


def test_the_saver_keeps_the_old_file_while_there_is_nothing_to_save(tmp_path: Path) -> None:
    path = tmp_path / "dht-state"
    states: list[bytes | None] = [b"one", None, b"three"]
    saver = DhtStateSaver(lambda: states.pop(0), path, interval=3600)
    saver.start()
    assert saver.save() and load_dht_state(path) == b"one"
    assert not saver.save() and load_dht_state(path) == b"one"  # an empty routing table: keep the old one
    saver.close()  # the last save, at close
    assert load_dht_state(path) == b"three" and saver.saves == 2

    def broken() -> bytes:
        raise RuntimeError("engine closed")

    assert DhtStateSaver(broken, path).save() is False  # a cache: errors are swallowed


def test_port_mapping_is_on_outside_test_mode_unless_forced() -> None:
    assert Settings(data_dir=Path("/x")).maps_ports
    assert not Settings(data_dir=Path("/x"), allow_private_peers=True).maps_ports
    assert Settings(data_dir=Path("/x"), allow_private_peers=True, port_mapping=True).maps_ports
    assert not Settings(data_dir=Path("/x"), port_mapping=False).maps_ports
    assert Settings(data_dir=Path("/x")).dht_state_path == Path("/x/dht-state")


def test_reachability_lines() -> None:
    reach = {"bittorrentPort": 6882, "bittorrentFallbackFrom": 6881, "httpPort": 8787, "externalAddress": None,
             "portMapping": "mapped", "mappedPort": 40000, "dhtNodes": 1}
    lines = dict(reachability_lines(reach))
    assert lines["BitTorrent"] == "port 6882 (fell back from 6881: taken)"
    assert lines["external"].startswith("unknown yet") and lines["port map"].startswith("mapped 40000")
    assert lines["DHT"] == "1 node in the routing table" and lines["HTTP"] == "port 8787"
    status = dict(status_lines({"dht": True, "reachability": reach | {"externalAddress": "203.0.113.7",
                                                                      "bittorrentFallbackFrom": None,
                                                                      "portMapping": "pending"}}))
    assert status["BitTorrent"] == "port 6882, DHT on" and status["external"].startswith("203.0.113.7")
    assert status["port map"].startswith("pending") and reachability_lines(None) == []
    assert lines["HTTP map"].startswith("off")
    lines = dict(reachability_lines(reach | {"httpMapping": "mapped", "httpMappedPort": 40001}))
    assert lines["HTTP map"].startswith("mapped 40001")


def test_http_port_to_map_skips_loopback_listeners() -> None:
    assert http_port_to_map(None) is None
    assert http_port_to_map("http://127.0.0.1:8787") is None and http_port_to_map("http://[::1]:8787") is None
    assert http_port_to_map("http://localhost:8787") is None
    assert http_port_to_map("http://192.168.1.5:8787") == 8787 and http_port_to_map("http://0.0.0.0:9000") == 9000
    # an unspecified bind address has a loopback URL; the bind address decides
    assert http_port_to_map("http://127.0.0.1:8787", "0.0.0.0") == 8787
    assert http_port_to_map("http://[::1]:8787", "::") == 8787
    assert http_port_to_map("http://127.0.0.1:8787", "127.0.0.1") is None


class _Engine:
    def __init__(self, reach: Reachability) -> None:
        self.reach = reach

    def reachability(self) -> Reachability:
        return self.reach


def test_announce_ports_are_the_routers_outside_ports_once_mapped() -> None:
    settings = Settings(data_dir=Path("/nonexistent"), http=("0.0.0.0", 8787))
    node = SimpleNamespace(http_url="http://192.168.1.5:8787", engine=None, settings=settings)
    assert announce_ports(node) == (8787, None)  # type: ignore[arg-type]
    node.engine = _Engine(Reachability(6881, None, "pending", None, 3, "pending", None))
    assert announce_ports(node) == (8787, 6881)  # type: ignore[arg-type]
    node.engine = _Engine(Reachability(6881, "203.0.113.7", "mapped", 40000, 3, "mapped", 40001))
    assert announce_ports(node) == (40001, 40000)  # type: ignore[arg-type]
    node.http_url = None
    assert announce_ports(node) == (None, 40000)  # type: ignore[arg-type]


def test_a_loopback_peer_listener_announces_no_http_port() -> None:
    reach = Reachability(6881, None, "off", None, 3)
    hidden = Settings(data_dir=Path("/nonexistent"), http=("127.0.0.1", 8787))
    node = SimpleNamespace(http_url="http://127.0.0.1:8787", engine=_Engine(reach), settings=hidden)
    assert peer_listener_hidden(node)  # type: ignore[arg-type]
    assert announce_ports(node) == (None, 6881)  # type: ignore[arg-type]
    for visible in (dataclasses.replace(hidden, allow_private_peers=True),  # a loopback test network
                    dataclasses.replace(hidden, public_url="https://music.example"),  # a reverse proxy
                    dataclasses.replace(hidden, http=("0.0.0.0", 8787))):
        node.settings = visible
        assert not peer_listener_hidden(node)  # type: ignore[arg-type]
        assert announce_ports(node) == (8787, 6881)  # type: ignore[arg-type]
