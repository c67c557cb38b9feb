"""A private DHT of ``osp node`` processes on loopback (design.md §5 "Private DHT for tests").

Node i binds 127.0.0.(10+i) and bootstraps from up to 4 earlier nodes' BitTorrent ports
(read from their ``node.json``); ``wait_dht_ready`` polls each node's ``GET /api/node``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.nodes import NodeProc, start_node

FIRST_HOST = 10  #: node i listens on 127.0.0.(FIRST_HOST + i)


def bittorrent_port(node: NodeProc) -> int:
    """The node's BitTorrent port (``node.json``, else ``/api/node``)."""
    info = json.loads((node.data_dir / "node.json").read_text())
    port = info.get("bittorrent") or info.get("bittorrentPort")
    if isinstance(port, int) and port:
        return port
    return int(api(node, "/api/node")["bittorrent"]["port"])


def api(node: NodeProc, path: str) -> Any:
    resp = httpx.get(node.control + path, headers={"Authorization": f"Bearer {node.token}"}, timeout=10)
    resp.raise_for_status()
    return resp.json()


def host_of(i: int) -> str:
    return f"127.0.0.{FIRST_HOST + i}"


def bootstrap_args(nodes: list[NodeProc]) -> list[str]:
    """``--bootstrap`` flags naming the last 4 of ``nodes`` (their BitTorrent ports)."""
    args = []
    for node in nodes[-4:]:
        host = node.http.split("//", 1)[1].rsplit(":", 1)[0]
        args += ["--bootstrap", f"{host}:{bittorrent_port(node)}"]
    return args


def start_dht_nodes(tmp: Path, n: int, *extra: str, first: int = 0) -> list[NodeProc]:
    """Start ``n`` nodes (data dirs ``tmp/dht{i}``) forming a private DHT; on any failure
    the ones started are stopped before the error propagates."""
    nodes: list[NodeProc] = []
    try:
        for i in range(first, first + n):
            nodes.append(start_node(tmp / f"dht{i}", FIRST_HOST + i, *bootstrap_args(nodes), *extra, dht=True))
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def dht_nodes(node: NodeProc) -> int:
    """The node's DHT routing-table size as ``GET /api/node`` reports it (0 if absent)."""
    info = api(node, "/api/node")
    for where in (info.get("reachability"), info.get("dht"), info):
        if isinstance(where, dict):
            for key in ("dhtNodes", "dht_nodes"):
                if isinstance(where.get(key), int):
                    return int(where[key])
    return 0


def wait_dht_ready(nodes: list[NodeProc], min_nodes: int, deadline: float) -> None:
    """Poll until every node knows at least ``min_nodes`` DHT nodes; ``deadline``: seconds."""
    end = time.monotonic() + deadline
    counts: list[int] = []
    while time.monotonic() < end:
        counts = [dht_nodes(node) for node in nodes]
        if min(counts) >= min_nodes:
            return
        time.sleep(0.2)
    raise AssertionError(f"the private DHT did not form within {deadline:g} s: routing tables {counts}")
