"""Real ``osp node`` processes on loopback for integration tests (each on 127.0.0.N)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osp.apps.http import NodeServer
from osp.core.settings import Settings
from osp.node import Node

OSP = [sys.executable, "-m", "osp"]


def osp(data_dir: Path, *args: str, check: bool = True, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run the CLI; returns the completed process (stdout/stderr text)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OSP_DATA_DIR", None)
    proc = subprocess.run([*OSP, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"osp {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def jsonl(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


@dataclass
class NodeProc:
    data_dir: Path
    proc: subprocess.Popen[str]
    http: str
    control: str
    token: str

    def stop(self) -> str:
        """SIGTERM and wait for a clean exit; returns stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


def start_node(data_dir: Path, n: int, *extra: str, init: bool = True, dht: bool = False,
               defaults: bool = False) -> NodeProc:
    """Start ``osp node`` bound to 127.0.0.n and wait (deadline 30 s) for its node.json;
    ``dht``: join the DHT (a private one: give ``--bootstrap`` in ``extra``); ``defaults``:
    no address, DHT nor test-mode flags at all (the default ports; ``n`` unused), only ``extra``."""
    if init and not (data_dir / "identity" / "key.pem").exists():
        osp(data_dir, "id", "init")
    ip = f"127.0.0.{n}"
    args = [*OSP, "--data-dir", str(data_dir), "node", "--listen", f"{ip}:0", "--http", f"{ip}:0",
            "--control", "127.0.0.1:0", "--share", f"{ip}:0", "--dht" if dht else "--no-dht", "--allow-private-peers", *extra]
    if defaults:
        args = [*OSP, "--data-dir", str(data_dir), "node", *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    node_file = data_dir / "node.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"osp node exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            info = json.loads(node_file.read_text())
            if info.get("pid") == proc.pid:
                token = (data_dir / "api-token").read_text().strip()
                return NodeProc(data_dir, proc, info["http"], info["control"], token)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("osp node did not become ready within 30 s")


@contextlib.contextmanager
def node_server(data_dir: Path, ip: str, clock: Callable[[], float] = time.time, **settings: Any) -> Iterator[NodeServer]:
    """An in-process node (engine + its three listeners) on ``ip`` with a fresh identity; ``clock``: the node's."""
    settings.setdefault("share", (ip, 0))
    settings.setdefault("dht", False)
    node = Node(Settings(data_dir=data_dir, listen=(ip, 0), http=(ip, 0), control=("127.0.0.1", 0),
                         allow_private_peers=True, **settings), clock=clock)
    node.keystore.create()
    srv = NodeServer(node)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    assert srv.ready.wait(30), "node did not start within 30 s"
    try:
        yield srv
    finally:
        srv.stop()
        thread.join(30)


def sigint_default() -> None:
    """A ``preexec_fn`` for a child the test will Ctrl-C: SIGINT unblocked and at its default
    disposition, as a terminal delivers it, whatever the test process inherited (a run in the
    background ignores SIGINT, and children inherit that) or a library's thread blocked."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.SIG_DFL)
