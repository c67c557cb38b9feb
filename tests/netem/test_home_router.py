"""A node behind an emulated home router (issue 8 "Reachability"): nftables masquerade and
Debian's ``miniupnpd`` in the router's namespace; the node maps its BitTorrent port by
itself (UPnP / NAT-PMP), reports it, and a node outside downloads the track from it by
dialling the router's WAN address and the mapped port (the node's own LAN address is not
routable from outside, and its HTTP listener is not forwarded)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from osp.distribution.engine import Engine, rebuild_torrent
from osp.distribution.events import EngineConfig
from tests.conftest import need
from tests.netem.harness import Network, wait_for
from tests.netem.nodes import NetNode, osp_in


def _download(host_ip: str, metainfo: bytes, peer: tuple[str, int], where: Path, timeout: float) -> bytes:
    """Download ``metainfo`` from ``peer`` only (no DHT, no web seed), with the node's engine;
    run inside the outside host's namespace.  Returns the file's bytes."""
    engine = Engine(EngineConfig(listen=(host_ip, 0), dht=False, local_network=True))
    try:
        infohash = engine.add(metainfo, where, file_name="track.mp3", peers=[peer], dht=False)
        deadline = time.monotonic() + timeout
        while engine.status(infohash).state not in ("finished", "seeding"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no download from {peer} within {timeout:.0f} s: {engine.status(infohash)}")
            time.sleep(0.1)
        return (where / "track.mp3").read_bytes()
    finally:
        engine.close()


def test_a_node_behind_a_home_router_maps_its_port_and_serves_the_outside(net: Network, mp3: Path,
                                                                            tmp_path: Path) -> None:
    need(shutil.which("miniupnpd") is not None and shutil.which("nft") is not None, "miniupnpd and nftables")
    router = net.add_router()
    outside = net.add("lan")
    router.route_from(outside)
    router.start_upnp(tmp_path / "router")
    # --allow-private-peers (192.168/10.77 test addresses) turns mapping off by default: --port-mapping wins
    inside = NetNode.start(router.lan[0], tmp_path / "inside", "--port-mapping")
    try:
        def mapped() -> dict[str, Any] | None:
            reach: dict[str, Any] = inside.api("GET", "/api/node")["reachability"]
            assert reach["portMapping"] != "failed", reach
            return reach if reach["portMapping"] == "mapped" and reach["externalAddress"] else None

        reach = wait_for(mapped, 60, "the port mapping")
        port = reach["mappedPort"]
        assert reach["externalAddress"] == router.public_ip and reach["bittorrentPort"] == 6881
        assert f"dport {port}" in router.redirects()
        status = osp_in(inside.host, inside.data_dir, "status").stdout
        assert f"mapped {port}" in status and router.public_ip in status, status

        line = inside.publish(mp3, "Behind a home router")
        torrent = inside.host.run(lambda: httpx.get(f"{inside.peer}/osp/v0/tracks/{line['id']}/torrent",
                                                    timeout=30).content, within=40)
        metainfo = rebuild_torrent(torrent, web_seeds=[])  # BitTorrent through the router only
        got = outside.run(_download, outside.ip, metainfo, (router.public_ip, port), tmp_path / "outside", 90,
                          within=120)
        assert got == mp3.read_bytes()
    finally:
        log = inside.stop()
    assert f"port map            mapped {port}" in log or "port map            pending" in log, log
    wait_for(lambda: f"dport {port}" not in router.redirects(), 20, "the mapping removed at exit")
