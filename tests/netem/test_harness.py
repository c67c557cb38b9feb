"""The network harness itself: shaped rates, isolation and cleanup on every exit path."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.netem.harness import PROFILES, Network, Profile, namespaces, sweep_stale


def _receive(port: int, total: int) -> float:
    """Accept one connection on ``port``, read ``total`` bytes; seconds from first byte."""
    with socket.create_server(("0.0.0.0", port)) as srv:
        srv.settimeout(60)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(60)
            got, start = 0, None
            while got < total:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                start = start or time.monotonic()
                got += len(chunk)
            return time.monotonic() - (start or time.monotonic())


def _send(ip: str, port: int, data: bytes) -> None:
    """Connect (retrying while the receiver is not listening yet, 10 s at most) and send."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((ip, port), timeout=5) as s:
                s.sendall(data)
            return
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_uplink_is_shaped_to_the_profile(net: Network) -> None:
    """1 MB sent over a 2 Mbit/s uplink takes ~4 s (bounded loosely: a shaper off by 10x
    or not there at all fails)."""
    sender, receiver = net.add("home"), net.add("lan")
    total = 1_000_000
    pending = receiver.submit(_receive, 9000, total)

    sender.run(_send, receiver.ip, 9000, b"x" * total, within=60)
    seconds = pending.result(60)
    rate_kbit = total * 8 / seconds / 1000
    assert PROFILES["home"].up_kbit * 0.5 < rate_kbit < PROFILES["home"].up_kbit * 1.5, rate_kbit


def test_hosts_reach_each_other_but_not_the_host_network(net: Network) -> None:
    a, b = net.add("lan"), net.add(Profile("custom", 5000, 1000))
    pending = b.submit(_receive, 9001, 5)

    a.run(_send, b.ip, 9001, b"hello", within=30)
    pending.result(30)
    assert "default" not in a.sh("ip", "route").stdout  # nothing outside the test subnet is reachable
    assert "127.0.0.1" in b.sh("ip", "-o", "addr", "show", "lo").stdout  # its own loopback, for the control API


def test_namespaces_are_removed_on_exit_and_after_a_killed_run() -> None:
    from tests.netem.harness import netns_available

    if netns_available():
        pytest.skip(str(netns_available()))
    with Network() as net:
        host = net.add("home")
        sleeper = host.popen(["sleep", "600"])
        names = {net.hub, host.name}
        assert names <= set(namespaces())
    assert not names & set(namespaces())
    assert sleeper.wait(10) is not None  # the process in it was killed, not left behind

    # a run killed with SIGKILL leaves its namespaces: the next harness sweeps them
    code = ("import sys, os; sys.path.insert(0, '.'); from tests.netem.harness import Network; "
            "n = Network(); n.add('lan'); print(n.hub, flush=True); os.kill(os.getpid(), 9)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    left = out.stdout.strip()
    assert left in set(namespaces())
    sweep_stale()  # (another harness starting meanwhile may have swept it already)
    assert left not in set(namespaces())
