"""``osp recommend`` (recommendations computed on this node) and ``osp history`` (the local
listening history they learn from: private, never published)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx, plural
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import printable
from osp.core.errors import NotFoundError


def _offline(c: Ctx, work: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """``work(node)`` on a node opened here (no node running): the model is fitted first."""
    from osp.node.core import Node

    settings = c.settings()
    if not settings.library_path.exists():
        raise NotFoundError("the library is empty: no track is known here")
    node = Node(settings)
    try:
        node.recommend.refit()
        return work(node)
    finally:
        node.close()


@cli.command("recommend")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100), help="Most tracks to show.")
@click.option("--like", "like", metavar="TRACK_ID", help="Tracks like this one instead (\"more like this\").")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: {\"tracks\": [{\"id\", \"title\", \"artist\", "
              "\"artistName\", \"score\", \"why\"}], \"coldStart\", \"model\", \"message\"} (with --like: {\"id\", "
              "\"tracks\", \"model\"}).")
@pass_ctx
def recommend_cmd(c: Ctx, limit: int, like: str | None, as_json: bool) -> None:
    """Tracks you may like, computed on this node from what it knows: likes, published
    playlists and follows (signed records) and your own listening history (private).  With
    no history yet, what is popular with people you trust.  A running node keeps the model
    fitted in the background; otherwise it is fitted now."""
    running = c.running()
    if running:
        client = ControlClient(running)
        path = (f"/api/tracks/{quote(like, safe=':')}/more-like-this?limit={limit}" if like
                else f"/api/recommend?limit={limit}")
        found = client.get(path)
    elif like:
        found = _offline(c, lambda node: node.recommend.more_like_this(like, limit))
    elif not c.settings().library_path.exists():  # a new node: nothing known yet
        found = {"tracks": [], "coldStart": True, "model": {"listeners": 0, "tracks": 0, "signals": 0, "fitSeconds": 0.0},
                 "message": "No track is known here yet: follow an artist to learn of their tracks."}
    else:
        found = _offline(c, lambda node: node.recommend.recommend(limit))
    if as_json:
        emit_json(found)
        return
    for t in found["tracks"]:
        artist = str(t.get("artist") or "")
        by = printable(t["artistName"]) if isinstance(t.get("artistName"), str) else printable(
            artist[:16] + "…" + artist[-6:] if len(artist) > 24 else artist or "unknown artist")
        out.print(f"{t['score']:.3f}  {printable(t.get('title'))} — {by} · "
                  f"{printable(t['why'])} · {printable(t['id'])}", markup=False, highlight=False, soft_wrap=True)
    if found.get("model") is None:
        err.print("the node is still fitting its model: try again in a moment")
    elif not found["tracks"]:
        message = found.get("message")
        if like:
            message = "nothing like it known here yet: likes and playlists with it, or its audio analysis, tell"
        err.print(printable(message) if isinstance(message, str) else "nothing to recommend here", markup=False)
        if found.get("coldStart") and not like:
            err.print("  e.g. osp like TRACK_ID, osp follow DID, or play tracks in the web app (osp ui)", markup=False)
    elif found.get("coldStart"):
        err.print("no listening history, likes or follows yet: these are what people here like most "
                  "(those you trust first); like or play a few tracks for your own", markup=False)


@cli.command("history")
@click.option("--clear", is_flag=True, help="Forget the whole listening history.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="Most tracks to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: {\"tracks\": [{\"track\", \"title\", \"plays\", "
              "\"seconds\", \"last\"}], \"plays\"} (with --clear: {\"cleared\"}).")
@pass_ctx
def history_cmd(c: Ctx, clear: bool, limit: int, as_json: bool) -> None:
    """Your local listening history (what the web player reported: track, seconds, when),
    most recently played first.  It stays on this node: it is never published, and only
    recommendations computed here read it."""
    from osp.apps.web.recommend_api import history

    running = c.running()
    result: dict[str, Any]
    if running:
        client = ControlClient(running)
        result = client.delete("/api/plays") if clear else client.get(f"/api/plays?limit={limit}")
    else:
        from osp.library.plays import Plays
        from osp.library.store import Library

        settings = c.settings()
        if not settings.library_path.exists():
            result = {"cleared": 0} if clear else {"tracks": [], "plays": 0}
        else:
            with Library(settings.library_path) as library:
                if clear:
                    result = {"cleared": Plays(library).clear()}
                else:
                    result = history(library, limit)
    if as_json:
        emit_json(result)
        return
    if clear:
        err.print(f"{plural(int(result['cleared']), 'play')} forgotten")
        return
    for t in result["tracks"]:
        out.print(f"{t['plays']:>4}×  {_duration(t['seconds'])}  {printable(t.get('title') or '?')} · "
                  f"{printable(t['track'])}", markup=False, highlight=False, soft_wrap=True)
    err.print(f"{plural(int(result['plays']), 'play')} in the history")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:2d}:{secs:02d}"
