"""The saved DHT state file and the reachability lines (osp.node.network, osp status)."""

from __future__ import annotations

import os
from pathlib import Path

from osp.apps.cli.status_cmds import reachability_lines, status_lines
from osp.core.settings import Settings
from osp.node.network import MAX_DHT_STATE, DhtStateSaver, load_dht_state, save_dht_state


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
