"""``osp transfers``, ``osp cancel``, ``osp rm``: the download lifecycle and removing tracks.

Through a running node they use its control API (``GET /api/transfers``,
``POST /api/cancel``, ``POST /api/remove``); without one they work on the library
directly (persisted transfers are listed as ``stopped``: they resume when a node starts
or ``osp get`` asks for the same track again).
"""

from __future__ import annotations

from typing import Any

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import printable

ARTIST_NOTE = ("note: you published this track; nodes that fetched it keep their verified copies and "
               "may seed it on. Removing it here cannot recall those copies.")


def _rate(n: int) -> str:
    for unit in ("B/s", "kB/s", "MB/s"):
        if n < 1000 or unit == "MB/s":
            return f"{n:.0f} {unit}" if unit == "B/s" else f"{n:.1f} {unit}"
        n = n / 1000  # type: ignore[assignment]
    return f"{n} B/s"


def _local_node(c: Ctx) -> Any:
    from osp.node.core import Node

    return Node(c.settings())


@cli.command("transfers")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per transfer.")
@pass_ctx
def transfers_cmd(c: Ctx, as_json: bool) -> None:
    """List downloads: state, progress, rate, peers and sources (BitTorrent peers / web seeds)."""
    running = c.running()
    if running:
        states: list[dict[str, Any]] = ControlClient(running).get("/api/transfers")["transfers"]
    elif not c.settings().library_path.exists():
        states = []
    else:
        node = _local_node(c)
        try:
            states = [s.to_json() for s in node.transfer_states()]
        finally:
            node.close()
    if as_json:
        for s in states:
            emit_json(s)
        return
    if not states:
        out.print("no transfers")
        return
    from osp.apps.cli.views import table_lines

    rows = []
    for s in states:
        pct = 100.0 * s["done"] / s["total"] if s["total"] else 100.0
        src = s.get("sources") or {}
        active = s["state"] in ("checking", "downloading", "verifying")
        rows.append((printable(s["title"]), s["state"], f"{pct:.1f}%", _rate(s["rate"]) if active else "-",
                     str(s["peers"]) if active else "-",
                     f"{src.get('bittorrent', 0)} bt / {src.get('webSeeds', 0)} web" if active else "-", s["id"]))
    for line in table_lines(("title", "state", "done", "rate", "peers", "sources", "id"), rows, right=(2, 3, 4)):
        out.print(line)
    for s in states:
        if s.get("error"):
            out.print(f"{s['id']}: {printable(s['error'].get('message', ''))}", style="red", soft_wrap=True)


@cli.command("cancel")
@click.argument("track")
@click.option("--json", "as_json", is_flag=True, help="Print the cancelled transfer as a JSON object.")
@pass_ctx
def cancel_cmd(c: Ctx, track: str, as_json: bool) -> None:
    """Cancel a download: stop it, delete its partial file, forget it (TRACK is a track id)."""
    running = c.running()
    if running:
        state = ControlClient(running).post("/api/cancel", {"track": track})
    else:
        node = _local_node(c)
        try:
            state = node.cancel(track).to_json()
        finally:
            node.close()
    if as_json:
        emit_json(state)
    else:
        out.print(f"cancelled {printable(state['title'])} ({printable(state['id'])})")


@cli.command("rm")
@click.argument("track")
@click.option("--keep-file", is_flag=True, help="Keep the audio file (moved to <data-dir>/removed/).")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as a JSON object.")
@pass_ctx
def rm_cmd(c: Ctx, track: str, keep_file: bool, as_json: bool) -> None:
    """Stop seeding a track and remove it from the library (record, torrent, resume data, blocks, file)."""
    running = c.running()
    if running:
        result = ControlClient(running).post("/api/remove", {"track": track, "keepFile": keep_file})
    else:
        node = _local_node(c)
        try:
            result = node.remove(track, keep_file=keep_file)
        finally:
            node.close()
    if as_json:
        emit_json(result)
    else:
        out.print(f"removed {printable(result['title'])} ({printable(result['id'])})")
        if result["keptAt"]:
            out.print(f"  file kept at {result['keptAt']}")
        elif result["sharedFile"]:
            out.print("  file kept: another track in the library uses the same audio")
        elif result["fileDeleted"]:
            out.print("  file deleted")
    if result["published"]:
        err.print(ARTIST_NOTE, style="yellow")
