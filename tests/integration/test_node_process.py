"""Which process serves a data directory (issue 6, items 8 and 10): a kernel-released
lock instead of a pid, and busy default ports."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from osp.apps.http import NodeServer
from osp.core.errors import CallerError
from osp.core.settings import Settings
from osp.node import Node
from tests.integration.nodes import osp, start_node


def test_stale_node_file_with_a_live_pid_is_ignored_and_a_second_node_refused(tmp_path: Path) -> None:
    data = tmp_path / "a"
    osp(data, "id", "init")
    # what kill -9 leaves behind, with the pid since reused (here: this test's own pid)
    (data / "node.json").write_text(json.dumps({"pid": os.getpid(), "http": "http://127.0.0.1:9",
                                                "control": "http://127.0.0.1:9"}))
    (data / "api-token").write_text("x" * 43 + "\n")
    (data / "api-token").chmod(0o600)
    assert osp(data, "ls", "--json").returncode == 0
    node = start_node(data, 24)
    try:
        second = osp(data, "node", "--listen", "127.0.0.24:0", "--http", "127.0.0.24:0", "--control",
                     "127.0.0.1:0", "--no-dht", check=False)
        assert second.returncode == 2 and f"pid {node.proc.pid}" in second.stderr
        assert "already runs" in second.stderr
        assert osp(data, "ls", "--json").returncode == 0  # through the running node
        # a token file others can read is refused by the CLI, naming the fix
        (data / "api-token").chmod(0o644)
        refused = osp(data, "ls", check=False)
        assert refused.returncode == 2 and "chmod 600" in refused.stderr
        (data / "api-token").chmod(0o600)
    finally:
        node.stop()
    assert not (data / "node.json").exists()


def test_a_busy_default_port_falls_back_and_an_explicit_one_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.25", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        settings = Settings(data_dir=tmp_path / "n", listen=("127.0.0.25", 0), http=("127.0.0.25", port),
                            control=("127.0.0.1", 0), dht=False, allow_private_peers=True)
        node = Node(settings)
        with pytest.raises(CallerError, match="cannot listen"):
            NodeServer(node)
        srv = NodeServer(node, fallback_ports=["http"])
        assert srv.moved == ["http"] and not srv.peer_url.endswith(f":{port}")
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        try:
            assert srv.ready.wait(30)
        finally:
            srv.stop()
            thread.join(30)
