"""``osp lineage``: a track's remix family tree — what it remixes, extends, covers or
samples, and what remixes it (spec §5 ``provenance.parents``, §9.3 ``parent=``)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

import click
from rich.text import Text
from rich.tree import Tree

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx, plural
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import artist_name, printable
from osp.core.errors import CallerError, NotFoundError
from osp.records.parents import is_track_id

#: how a parent relates to the track below it ("remix of: Original …")
UP = {"remix": "remix of", "extends": "extends", "cover": "cover of", "samples": "samples", None: "parent"}
#: how a child relates to the track above it ("remix: Remix title …")
DOWN = {"remix": "remix", "extends": "extended by", "cover": "cover", "samples": "sampled by", None: "child"}


def entry_text(entry: Mapping[str, Any], label: str | None) -> Text:
    """One line of the tree: ``relation: title — artist name (released) · id``, ``unknown
    track · id`` for a track whose record was found nowhere, and a mark for a cycle or a
    track shown elsewhere in the tree.  Peer strings made printable, no markup."""
    track = entry.get("track") or {}
    status = entry.get("status")
    text = Text(f"{label}: " if label else "", style="bold" if label is None else "dim", overflow="fold")
    if status == "unknown":
        text.append("unknown track", style="yellow")
    else:
        name = artist_name(dict(track))  # the artist's name, else the end of its did:key (as `osp ls`)
        text.append(printable(track.get("title") or "?"), style="bold")
        text.append(f" — {printable(name)}")
        if track.get("released"):
            text.append(f" ({printable(track['released'])})", style="dim")
    if status == "cycle":
        text.append(" ↺ cycle", style="red")
    elif status == "repeat":
        text.append(" (shown above)", style="dim")
    text.append(f" · {printable(entry.get('id'))}", style="dim")
    return text


def _grow(branch: Tree, entries: list[Mapping[str, Any]], key: str, names: Mapping[str | None, str]) -> None:
    for entry in entries:
        relation = entry.get("relation")
        node = branch.add(entry_text(entry, names.get(relation, str(relation))))
        _grow(node, entry.get(key) or [], key, names)
        if entry.get("more"):
            node.add(Text("… more (depth limit)", style="dim"))


def render(tree: Mapping[str, Any]) -> Tree:
    """The rich ``Tree`` of a lineage answer: the track, its ancestors under "parents"
    and its descendants under "children"."""
    root = Tree(entry_text(tree, None))
    parents, children = tree.get("parents") or [], tree.get("children") or []
    if parents:
        _grow(root.add(Text("parents", style="cyan")), parents, "parents", UP)
    if children:
        _grow(root.add(Text("children", style="cyan")), children, "children", DOWN)
    if not parents and not children:
        root.add(Text("no known parents or children", style="dim"))
    return root


@cli.command("lineage")
@click.argument("track")
@click.option("--depth", default=8, show_default=True, type=click.IntRange(0, 8),
              help="Levels to walk up (ancestors) and down (descendants).")
@click.option("--timeout", default=20.0, show_default=True, type=click.FloatRange(0, 60, min_open=True),
              help="Seconds the whole walk may take (at most 60); what is found by then is shown, marked partial.")
@click.option("--json", "as_json", is_flag=True, help="Print the tree as one JSON object "
              "(as GET /api/tracks/{id}/lineage answers).")
@pass_ctx
def lineage_cmd(c: Ctx, track: str, depth: int, timeout: float, as_json: bool) -> None:
    """The remix family tree of TRACK (a track id): the tracks it remixes, extends, covers
    or samples (its record's provenance), their own parents, and the tracks that name it
    as a parent, found in the library and — through a running node (`osp node`) — on the
    DHT (parent key, spec §9).  Every record is verified; a node answering a record that
    does not name the parent is dropped.  Tracks named but found nowhere show as
    "unknown".  Without a running node only the library and known records are read.
    Exit status 2 when the track is found nowhere and nothing names it."""
    track = track.strip()
    if not is_track_id(track):
        raise CallerError(f"{printable(track)[:80]!r} is not a track id (osp:track:b…)")
    running = c.running()
    note = f"walking the family tree of {track[:24]}… (up to {timeout:g} s)"
    if running:
        path = f"/api/tracks/{urllib.parse.quote(track)}/lineage?depth={depth}&timeout={timeout:g}"
        client = ControlClient(running, timeout=timeout + 30)
        if err.is_terminal and not as_json:
            with err.status(note):
                tree = client.get(path)
        else:
            err.print(note, soft_wrap=True)
            tree = client.get(path)
    else:
        tree = _offline(c, track, depth, timeout)
    if as_json:
        emit_json(tree)
    else:
        _print_tree(render(tree))
    _notes(tree, offline=running is None)
    if tree.get("status") == "unknown" and not tree.get("parents") and not tree.get("children"):
        raise NotFoundError(f"no record of {track} and no known track names it"
                            + ("" if running else " (only the library was read: start `osp node` to ask the network)"))


def _print_tree(tree: Tree) -> None:
    """On a terminal, folded at its width; into a file or a pipe, wide enough (240 columns)
    that no track id is cut in two."""
    if out.is_terminal:
        out.print(tree, soft_wrap=False)
        return
    width = out.width
    out.width = max(width, 240)
    try:
        out.print(tree, soft_wrap=False)
    finally:
        out.width = width


def _offline(c: Ctx, track: str, depth: int, timeout: float) -> dict[str, Any]:
    """The walk in this process over the library only (no engine, no DHT)."""
    from osp.node.core import Node
    from osp.node.lineage import lineage

    node = Node(c.settings(dht=False))
    try:
        return lineage(node, track, depth=depth, timeout=timeout)
    finally:
        node.close()


def _notes(tree: Mapping[str, Any], *, offline: bool) -> None:
    nodes = int(tree.get("nodes") or 1)
    line = f"{plural(nodes - 1, 'relative')} in {tree.get('elapsed', 0)} s"
    if offline:
        line += "; no node runs: only the library and known records were read (start `osp node` to ask the network)"
    elif tree.get("dhtUnreachable"):
        line += f"; {printable(tree['dhtUnreachable'])}: only the library was searched"
    elif tree.get("network") is False:  # as the web app says it (views/lineage.js)
        line += "; only this node was searched (the DHT is off or unreachable)"
    if tree.get("truncated"):
        line += "; cut at 256 tracks"
    if tree.get("partial"):
        line += "; partial: the deadline cut some lookups, more relatives may exist"
    err.print(line, soft_wrap=True)
