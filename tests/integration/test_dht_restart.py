"""The DHT state (node id + routing table) survives a restart (issue 8 "Bootstrap and configuration")."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from osp.core.settings import Settings
from osp.node import Node


def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)


def _node(data_dir: Path, ip: str) -> Node:
    return Node(Settings(data_dir=data_dir, listen=(ip, 0), http=(ip, 0), control=("127.0.0.1", 0), dht=True,
                         allow_private_peers=True))


def test_a_restarted_node_rejoins_through_the_nodes_it_saved(tmp_path: Path) -> None:
    router = _node(tmp_path / "router", "127.0.0.41")
    nodes = [router]
    try:
        port = router.start_engine().listen_port
        node = _node(tmp_path / "node", "127.0.0.42")
        nodes.append(node)
        engine = node.start_engine()
        engine.add_dht_node("127.0.0.41", port)  # (a --bootstrap router never enters the routing table)
        assert engine.reachability().port_mapping == "off"  # test mode
        _until(lambda: engine.reachability().dht_nodes > 0, 30, "joining the private DHT")
        nodes.remove(node)
        node.close()  # saves the routing table
        saved = (tmp_path / "node" / "dht-state").read_bytes()
        assert saved and not (tmp_path / "node" / "dht-state.tmp").exists()

        again = _node(tmp_path / "node", "127.0.0.42")  # told of no node this time
        nodes.append(again)
        engine = again.start_engine()
        _until(lambda: engine.reachability().dht_nodes > 0, 30, "rejoining from the saved state")

        (tmp_path / "junk").mkdir()
        (tmp_path / "junk" / "dht-state").write_bytes(b"\x00not bencoded")
        junk = _node(tmp_path / "junk", "127.0.0.43")
        nodes.append(junk)
        assert junk.start_engine().reachability().dht_nodes == 0  # ignored: starts afresh
    finally:
        for n in reversed(nodes):
            n.close()
