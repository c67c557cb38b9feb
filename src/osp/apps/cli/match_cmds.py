"""``osp match`` (does any node know this audio?), ``osp show`` (one library track, with what
its audio matches) and the publish check ``osp publish`` runs (spec §9.7)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import printable
from osp.core.errors import NotFoundError, OspError

if TYPE_CHECKING:
    from osp.node.core import Node

CHECK_WAIT = 10.0  #: seconds ``osp publish`` waits for a new track's fingerprint check
MAX_CHECK_WAIT = 60.0  #: seconds all the checks of one ``osp publish`` may wait together


def attach_checks(results: list[dict[str, Any]], *, client: ControlClient | None = None, node: Node | None = None,
                  wait: float = CHECK_WAIT) -> None:
    """Add ``duplicates`` to each published result (the publish check: the running node's
    ``GET /api/tracks/{id}/duplicates``, or ``node`` in this process); ``None`` when the
    check did not finish in time or failed (the node goes on in the background; ``osp
    node`` catches up with tracks not fingerprinted).  All the checks together wait at most
    ``wait`` seconds plus half a second per further track (``MAX_CHECK_WAIT`` in all), so a
    publish of hundreds of files is not held up (in this process, the track in hand finishes)."""
    from osp.node import fingerprints as nfp

    published = [r for r in results if "error" not in r]
    deadline = time.monotonic() + min(MAX_CHECK_WAIT, wait + 0.5 * max(0, len(published) - 1))
    for r in published:
        left = round(deadline - time.monotonic(), 1)
        check = None
        if left > 0:
            try:
                if client is not None:
                    check = client.get(f"/api/tracks/{r['id']}/duplicates?wait={min(left, 30.0):g}")
                elif node is not None:  # in this process: no thread may outlive the node, which closes next
                    check = nfp.check_view(node, r["id"], until=deadline)
            except OspError:
                check = None
        r["duplicates"] = None if check is None or check.get("pending") else check.get("duplicates", [])


def print_checks(results: list[dict[str, Any]]) -> None:
    """The publish check's warnings on stderr ("warning: this audio matches …")."""
    from osp.node.fingerprints import warning_lines

    for r in results:
        for line in warning_lines(r.get("duplicates") or []):
            err.print(printable(f"{r.get('title', '?')}: {line}"), style="yellow", soft_wrap=True, highlight=False,
                      markup=False)


@cli.command("match")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--peer", "peers", multiple=True, help="HTTP base URL of a node to ask too (repeatable).")
@click.option("--allow-private-peers", is_flag=True, help="Let --peer be a loopback or LAN address.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds each peer may take.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per match, then {\"done\": summary}.")
@pass_ctx
def match_cmd(c: Ctx, file: Path, peers: tuple[str, ...], allow_private_peers: bool, timeout: float,
              as_json: bool) -> None:
    """Does any node know this audio?  Fingerprints FILE (Chromaprint) and looks it up in the
    library's index, then asks each --peer (GET /osp/v0/match, the middle ~120 s).

    Re-encodes, volume changes and trims match; the offset is where FILE starts in the
    known track.  A peer's records are verified; that its audio matches is its claim.
    Exit status 2 (not found) when nothing matched."""
    from osp.library.store import Library
    from osp.node import fingerprints as nfp
    from osp.node.match_peers import ask_peer
    from osp.provenance import fingerprint as fp

    values = fp.compute(file).values
    settings = c.settings()
    found: list[dict[str, Any]] = []
    if settings.library_path.exists():
        with Library(settings.library_path) as lib:
            found += [{"peer": "local"} | nfp.found_json(f) for f in nfp.search(lib, values)]
    failed = 0
    for peer in peers:
        try:
            found += [m.to_json() for m in ask_peer(peer, values, allow_private=allow_private_peers, deadline=timeout)]
        except OspError as exc:
            failed += 1
            err.print(printable(f"{peer}: {exc.message}"), style="yellow", soft_wrap=True, markup=False)
    for m in found:
        r = m["record"]
        if as_json:
            emit_json({"peer": m["peer"], "id": r["id"], "title": r.get("title"), "artist": r.get("artist"),
                       "artistName": r.get("artistName"), "released": r.get("released"), "offset": m["offset"],
                       "overlap": m["overlap"], "score": m["score"], "record": r})
        else:
            where = "here" if m["peer"] == "local" else m["peer"]
            out.print(printable(f'"{r.get("title")}" by {r.get("artistName") or r.get("artist")}, released '
                                f'{r.get("released")} · at {m["offset"]:+.1f} s · {m["overlap"]:.0f} s alike · '
                                f'score {m["score"]:.2f} · {where} · {r["id"]}'), soft_wrap=True, markup=False,
                      highlight=False)
    if as_json:
        emit_json({"done": {"matches": len(found), "asked": len(peers), "failed": failed}})
    if not found:
        raise NotFoundError("no known track matches this audio" + ("" if peers else " here (--peer asks other nodes)"))


@cli.command("show")
@click.argument("track_id")
@click.option("--json", "as_json", is_flag=True, help="Print the track as GET /api/tracks/{id} answers it.")
@pass_ctx
def show_cmd(c: Ctx, track_id: str, as_json: bool) -> None:
    """Show one track of the library: its record, and what its audio matches (an earlier
    track of another artist: a near-duplicate; of the same artist: an earlier upload)."""
    from osp.apps.cli.views import resolve_lines
    from osp.node.fingerprints import warning_lines

    running = c.running()
    if running:
        view = ControlClient(running).get(f"/api/tracks/{track_id}")
    else:
        from osp.apps.web.api import track_view
        from osp.node.core import Node

        node = Node(c.settings())
        try:
            view = track_view(node, track_id)
        finally:
            node.close()
    if as_json:
        emit_json(view)
        return
    for label, value in resolve_lines(view):
        out.print(f"{label:<9} {value}", markup=False, highlight=False)
    dups = view.get("duplicates")
    if dups is None:
        out.print(f"{'audio':<9} not fingerprinted (yet)", markup=False)
    elif not dups:
        out.print(f"{'audio':<9} matches no earlier track known here", markup=False)
    for line in warning_lines(dups or []):
        out.print(printable(f"{'audio':<9} {line}"), style="yellow", markup=False, highlight=False, soft_wrap=True)
