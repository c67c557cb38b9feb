"""No DHT node reachable (the only bootstrap node is a closed port on 127.0.0.9): resolve and
get by id fail within ``BOOTSTRAP_WAIT`` s with "no DHT nodes reachable", never the 10 s
lookup timeout; a search prints the library's results at once, then says the DHT was not
searched; a magnet with no peer says why the DHT cannot help."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.core.errors import NotFoundError
from osp.core.settings import Settings
from osp.discovery.search import Query
from osp.node import Node, TrackMetadata
from osp.node.discovery import BOOTSTRAP_WAIT
from osp.node.search import search
from tests.integration.nodes import jsonl, osp

MISSING = "osp:track:bagaaieraxhbdeffpg5jg2ru3zf2hbsuf4oq7uhwkz3pzh2d5pa6ni6y3ifna"
NOWHERE = ("127.0.0.9", 9)  #: nothing listens there: the routing table stays empty
HOST = "127.0.0.49"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path_factory.mktemp("lonely"), dht=True, bootstrap=(NOWHERE,),
                      allow_private_peers=True, listen=(HOST, 0), cid_profile="kubo-cidv1-256k-174"))
    try:
        n.keystore.create()
        n.publish(music[0], TrackMetadata(title="Glacier Drift", tags=("ambient",)))
        yield n
    finally:
        n.close()


def test_resolve_and_get_by_id_fail_fast(node: Node) -> None:
    for call in (lambda: node.resolve(MISSING), lambda: node.fetch(MISSING)):
        start = time.monotonic()
        with pytest.raises(NotFoundError) as caught:
            call()
        took = time.monotonic() - start
        assert took < BOOTSTRAP_WAIT + 2, f"took {took:.1f} s"
        message = caught.value.message
        assert "no DHT nodes reachable" in message and "127.0.0.9:9" in message and "--peer" in message


def test_search_reports_local_results_before_waiting(node: Node) -> None:
    seen: list[float] = []
    start = time.monotonic()
    summary = search(node, Query.parse(["glacier"]), timeout=20, on_result=lambda _r: seen.append(time.monotonic()))
    assert seen and seen[0] - start < 1.0  # before the bootstrap wait
    assert summary.results == 1 and summary.asked == 0
    assert summary.dht_unreachable is not None and "no DHT nodes reachable" in summary.dht_unreachable
    assert summary.elapsed < BOOTSTRAP_WAIT + 2
    assert summary.to_json()["dhtUnreachable"] == summary.dht_unreachable


def test_magnet_without_peer_says_why(node: Node) -> None:
    magnet = "magnet:?xt=urn:btih:" + "ab" * 20
    with pytest.raises(NotFoundError) as caught:
        node.resolve(magnet)
    assert "BitTorrent ports" in caught.value.message and "--peer" in caught.value.message


def test_cli_search_in_process(tmp_path: Path, music: list[Path]) -> None:
    osp(tmp_path, "id", "init")
    osp(tmp_path, "publish", str(music[1]), "--title", "Harbour Lights", "--json")
    net = ("--bootstrap", f"{NOWHERE[0]}:{NOWHERE[1]}", "--allow-private-peers", "--listen", f"{HOST}:0")
    start = time.monotonic()
    proc = osp(tmp_path, "search", "harbour", "--json", "--timeout", "20", *net)
    assert time.monotonic() - start < BOOTSTRAP_WAIT + 8  # + process start-up on busy cores
    *results, done = jsonl(proc)
    assert [r["title"] for r in results] == ["Harbour Lights"] and done["done"]["dhtUnreachable"]
    assert "no DHT nodes reachable" in proc.stderr and "only the library was searched" in proc.stderr
    # the summary is one line, however narrow the console
    assert any(line.endswith("dropped as bad") for line in proc.stderr.splitlines())
