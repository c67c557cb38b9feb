"""``osp status``: what the node running for this data directory is doing."""

from __future__ import annotations

from typing import Any

import click

from osp.apps.cli.base import Ctx, cli, emit_json, out, pass_ctx, plural
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import format_binary_size, format_size
from osp.core.errors import CallerError


def reachability_lines(reach: dict[str, Any] | None) -> list[tuple[str, str]]:
    """``(label, value)`` lines from a ``reachability`` object (``osp.node.network.reachability_report``):
    BitTorrent port (and the one it fell back from), external address, port mappings (BitTorrent, HTTP), DHT nodes."""
    if not reach:
        return []
    port = f"port {reach.get('bittorrentPort') or '-'}"
    if reach.get("bittorrentFallbackFrom"):
        port += f" (fell back from {reach['bittorrentFallbackFrom']}: taken)"
    mapping = str(reach.get("portMapping") or "off")
    if mapping == "mapped" and reach.get("mappedPort"):
        mapping = f"mapped {reach['mappedPort']}"
    http_mapping = str(reach.get("httpMapping") or "off")
    if http_mapping == "mapped" and reach.get("httpMappedPort"):
        http_mapping = f"mapped {reach['httpMappedPort']}"
    return [
        ("BitTorrent", port),
        ("HTTP", f"port {reach.get('httpPort') or '-'}"),
        ("external", str(reach.get("externalAddress") or "unknown yet") + " (as the DHT and peers see us)"),
        ("port map", mapping + " (UPnP / NAT-PMP)"),
        ("HTTP map", http_mapping + " (UPnP / NAT-PMP)"),
        ("DHT", plural(int(reach.get("dhtNodes") or 0), "node") + " in the routing table"),
    ]


def status_lines(status: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` lines from ``GET /api/status`` (rates bytes/s, uptime seconds)."""
    minutes, seconds = divmod(int(status.get("uptime", 0)), 60)
    hours, minutes = divmod(minutes, 60)
    transfers = status.get("transfers") or {}
    cache = status.get("cache") or {}
    lines = [
        ("node", f"running (pid {status.get('pid', '?')}), up {hours}:{minutes:02d}:{seconds:02d}"),
        ("data dir", str(status.get("dataDir", "?"))),
        ("peer API", str(status.get("http") or "-")),
        ("control", str(status.get("control") or "-")),
        ("share", str(status.get("share") or "-")),
        ("BitTorrent", f"port {status.get('bittorrentPort') or '-'}, DHT {'on' if status.get('dht') else 'off'}"),
        ("tracks", str(status.get("tracks", 0)) + (f" ({status['missing']} missing: not seeded)" if status.get("missing") else "")),
        ("transfers", f"{transfers.get('active', 0)} active, {transfers.get('total', 0)} in all"),
        ("rates", f"up {format_size(int(status.get('uploadRate', 0)))}/s, "
                  f"down {format_size(int(status.get('downloadRate', 0)))}/s, {plural(int(status.get('peers', 0)), 'peer')}"),
    ]
    reach = reachability_lines(status.get("reachability"))
    if reach:  # the BitTorrent line again, with the port it fell back from; then the rest
        lines[5] = (reach[0][0], f"{reach[0][1]}, DHT {'on' if status.get('dht') else 'off'}")
        lines[6:6] = reach[1:]
    if cache:  # fetched tracks kept and seeded, against --cache-size
        # in powers of 1024, as --cache-size is given (4G shows as 4.0 GiB, not 4.3 GB)
        lines.append(("cache", f"{format_binary_size(int(cache.get('used', 0)))} of "
                               f"{format_binary_size(int(cache.get('quota', 0)))} "
                               f"({plural(int(cache.get('tracks', 0)), 'fetched track')})"))
    return lines


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the node's status as one JSON object.")
@pass_ctx
def status_cmd(c: Ctx, as_json: bool) -> None:
    """Show the running node: ports and URLs, reachability (external address, port mapping, DHT nodes),
    tracks, transfers, rates, cache used/quota, uptime, DHT, data dir.

    Exits 2 when no node runs for the data directory (start one with `osp node`).
    """
    running = c.running()
    if running is None:
        raise CallerError(f"no node is running for {c.data_dir}: start one with `osp node`")
    status = ControlClient(running, timeout=30).get("/api/status")
    if as_json:
        emit_json(status)
        return
    for label, value in status_lines(status):
        out.print(f"{label:<11} {value}")
