"""``osp similar`` ("more like this") and ``osp analyse`` (audio analysis now, not in the
background): tempo, key, loudness and the "sounds like" vector of ``osp.provenance.analysis``."""

from __future__ import annotations

from typing import Any

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx, plural
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import printable
from osp.core.errors import NotFoundError


def analysis_text(a: dict[str, Any] | None) -> str:
    """``"124.0 BPM · A minor · -14.2 LUFS · -0.3 dBTP"``, the error, or ``"not analysed"``."""
    if not a:
        return "not analysed"
    if a.get("error"):
        return f"analysis failed: {printable(a['error'])}"
    return f"{a['bpm']:.1f} BPM · {a['key']} · {a['loudness']:.1f} LUFS · {a['truePeak']:.1f} dBTP"


@cli.command("similar")
@click.argument("track_id")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100), help="Most tracks to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: {\"id\", \"similar\": [{\"id\", \"title\", "
              "\"artist\", \"artistName\", \"similarity\", \"analysis\"}]}.")
@pass_ctx
def similar_cmd(c: Ctx, track_id: str, limit: int, as_json: bool) -> None:
    """The library tracks that sound most like TRACK_ID ("more like this"): cosine
    similarity of their analysis vectors (timbre, spectral contrast, tempo), best first.
    Only tracks analysed on this node count (a running node analyses every track in the
    background; `osp analyse` does it now).  Exit status 2 when TRACK_ID was not analysed."""
    from urllib.parse import quote

    running = c.running()
    if running:
        found = ControlClient(running).get(f"/api/tracks/{quote(track_id, safe=':')}/similar?limit={limit}")
    else:
        from osp.node.analysis import similar_view
        from osp.node.core import Node

        settings = c.settings()
        if not settings.library_path.exists():
            raise NotFoundError("the library is empty")
        node = Node(settings)
        try:
            found = similar_view(node, track_id, limit)
        finally:
            node.close()
    if as_json:
        emit_json(found)
        return
    for s in found["similar"]:
        out.print(f"{s['similarity']:.3f}  {printable(s.get('title'))} — {printable(s.get('artistName') or '?')} · "
                  f"{analysis_text(s.get('analysis'))} · {printable(s['id'])}", markup=False, highlight=False,
                  soft_wrap=True)
    if not found["similar"]:
        err.print("no other track has been analysed here yet")


@cli.command("analyse")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per track analysed: {\"id\", \"analysis\"}.")
@pass_ctx
def analyse_cmd(c: Ctx, as_json: bool) -> None:
    """Analyse now every library track not analysed yet (tempo, key, loudness, true peak,
    "sounds like" vector); a running node does this in the background (then this only
    reports it is running).  A file that cannot be decoded is recorded as failed and not
    tried again."""
    from osp.library.analysis import Analyses
    from osp.node.core import Node
    from osp.provenance.analysis import ANALYSER_VERSION

    if c.running():
        err.print("a node is running: it analyses every track in the background (see `osp ls --json`)")
        return
    settings = c.settings()
    if not settings.library_path.exists():
        err.print("the library is empty")
        return
    node = Node(settings)
    try:
        before = {r.id for r in Analyses(node.library).pending(ANALYSER_VERSION, 100_000)}
        node.jobs.steps = [s for s in node.jobs.steps if s.name == "analysis"]
        node.jobs.run_pending()
        rows = Analyses(node.library).get_many(sorted(before))
    finally:
        node.close()
    for track_id, row in rows.items():
        if as_json:
            emit_json({"id": track_id, "analysis": row.to_json()})
        else:
            out.print(f"{printable(track_id)}: {analysis_text(row.to_json())}", markup=False, highlight=False,
                      soft_wrap=True)
    err.print(f"{plural(len(rows), 'track')} analysed")

