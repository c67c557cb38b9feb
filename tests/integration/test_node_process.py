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
                     "127.0.0.1:0", "--share", "127.0.0.24:0", "--no-dht", check=False)
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
                            control=("127.0.0.1", 0), share=("127.0.0.25", 0), dht=False, allow_private_peers=True)
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


def _free(host: str, port: int, kind: socket.SocketKind = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def test_a_second_node_on_the_same_machine_needs_no_port_flags(tmp_path: Path) -> None:
    """Two ``osp node`` with the default ports (issue 8): the second picks free ones and says so."""
    from osp.core.settings import DEFAULT_CONTROL, DEFAULT_HTTP, DEFAULT_LISTEN, DEFAULT_SHARE

    wanted = [DEFAULT_HTTP, DEFAULT_CONTROL, DEFAULT_SHARE, ("0.0.0.0", DEFAULT_LISTEN[1])]
    if not all(_free(h, p) for h, p in wanted) or not _free("0.0.0.0", DEFAULT_LISTEN[1], socket.SOCK_DGRAM):
        pytest.skip("a default port (6881, 8787, 8788, 8789) is in use by something else here")
    offline = ("--no-dht", "--no-port-mapping")  # no port flags; nothing leaves this machine
    nodes = []
    try:
        nodes.append(start_node(tmp_path / "first", 0, *offline, defaults=True))
        nodes.append(start_node(tmp_path / "other", 0, *offline, defaults=True))
        first, other = nodes
        assert first.control == f"http://127.0.0.1:{DEFAULT_CONTROL[1]}" and first.http == f"http://127.0.0.1:{DEFAULT_HTTP[1]}"
        assert other.control != first.control and other.http != first.http
        (status,) = [json.loads(line) for line in osp(other.data_dir, "status", "--json").stdout.splitlines()]
        reach = status["reachability"]
        assert reach["bittorrentFallbackFrom"] == DEFAULT_LISTEN[1] and reach["bittorrentPort"] != DEFAULT_LISTEN[1]
        assert status["control"] == other.control
    finally:
        logs = [n.stop() for n in reversed(nodes)]
    log = logs[0]
    assert f"control port {DEFAULT_CONTROL[1]} is taken (another osp node?); using 127.0.0.1:" in log, log
    assert f"http port {DEFAULT_HTTP[1]} is taken (another osp node?); using 127.0.0.1:" in log, log
    assert f"share port {DEFAULT_SHARE[1]} is taken (another osp node?); using 127.0.0.1:" in log, log
    assert f"fell back from {DEFAULT_LISTEN[1]}" in log, log
    assert "cannot reach your records" not in log, log  # the default peer listener (0.0.0.0) is public


def test_a_loopback_peer_listener_says_others_cannot_reach_it(tmp_path: Path) -> None:
    """``--http 127.0.0.1:…`` outside a test network: no HTTP keys are announced and start-up says why."""
    node = start_node(tmp_path / "n", 0, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--control",
                      "127.0.0.1:0", "--share", "127.0.0.1:0", "--no-dht", "--no-port-mapping", defaults=True)
    log = node.stop()
    port = node.http.rpartition(":")[2]
    assert (f"peer listener on 127.0.0.1:{port}: other nodes cannot reach your records (use --http 0.0.0.0:{port})"
            in " ".join(log.split())), log
    # the control line says where the web app is and is never cut inside the token's path
    assert f"(open the app: osp ui; token in {tmp_path / 'n' / 'api-token'})" in log, log
