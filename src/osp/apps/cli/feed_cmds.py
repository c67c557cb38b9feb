"""``osp follow``, ``unfollow``, ``following``: artist feeds (spec §9 feeds).

Through the running node's control API when one runs for the data directory; otherwise
the library is changed directly and the node polls the feed when it next runs.
"""

from __future__ import annotations

import time
from typing import Any

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx
from osp.apps.cli.client import ControlClient


def _offline(c: Ctx) -> Any:
    from osp.node.core import Node

    return Node(c.settings())


def _in(when: float | None) -> str:
    """When the next check of a follow is due: ``in 4 min``, ``now`` (``None``: at the node's next start)."""
    if when is None:
        return "at once when a node runs"
    seconds = int(when - time.time())
    if seconds <= 0:
        return "now"
    if seconds < 120:
        return f"in {seconds} s"
    if seconds < 7200:
        return f"in {seconds // 60} min"
    return f"in {seconds // 3600} h"


def _ago(when: float | None) -> str:
    if when is None:
        return "never"
    seconds = max(0, int(time.time() - when))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


@cli.command("follow")
@click.argument("did")
@click.option("--audio/--no-audio", default=None,
              help="Also fetch and seed the audio of each new track, or stop (default: records only for a new "
                   "follow; a follow again keeps its setting).")
@click.option("--json", "as_json", is_flag=True, help="Print the follow as `osp following --json` shows it.")
@pass_ctx
def follow_cmd(c: Ctx, did: str, audio: bool | None, as_json: bool) -> None:
    """Follow an artist's feed by did:key: its catalog of signed records arrives and is seeded on.

    Following again changes only --audio/--no-audio (kept when neither is given) and makes a
    running node check the feed at once.  Exits 2 on a DID that is not an Ed25519 did:key.
    """
    from osp.node import feeds

    did = feeds.check_did(did)
    running = c.running()
    if running:
        body: dict[str, object] = {"did": did} if audio is None else {"did": did, "audio": audio}
        entry = ControlClient(running, timeout=30).post("/api/follow", body)
    else:
        node = _offline(c)
        try:
            feeds.follow(node, did, audio)
            entry = next((f for f in feeds.following(node) if f["did"] == did), None)
        finally:
            node.close()
    if as_json:
        emit_json(entry)
    else:
        with_audio = entry.get("audio") if isinstance(entry, dict) else audio
        out.print(f"following {did}{' (with audio)' if with_audio else ''}")
    if not running:
        err.print("no node is running: the feed is polled when `osp node` runs")


@cli.command("unfollow")
@click.argument("did")
@click.option("--json", "as_json", is_flag=True, help='Print {"did": DID, "unfollowed": true}.')
@pass_ctx
def unfollow_cmd(c: Ctx, did: str, as_json: bool) -> None:
    """Stop following an artist: its catalog is no longer seeded (fetched tracks stay).  Exits 2 if not followed."""
    from osp.node import feeds

    did = feeds.check_did(did)
    running = c.running()
    if running:
        ControlClient(running, timeout=30).delete(f"/api/follow/{did}")
    else:
        node = _offline(c)
        try:
            feeds.unfollow(node, did)
        finally:
            node.close()
    if as_json:
        emit_json({"did": did, "unfollowed": True})
    else:
        out.print(f"unfollowed {did}")


@cli.command("following")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per followed artist.")
@pass_ctx
def following_cmd(c: Ctx, as_json: bool) -> None:
    """List followed artists: feed seq, catalog, tracks known, last check, next check, last error.

    A node polls each follow every --feed-poll-interval seconds (osp node); `osp follow DID`
    again makes a running node poll every follow at once."""
    from osp.node import feeds

    running = c.running()
    if running:
        rows: list[dict[str, Any]] = ControlClient(running, timeout=30).get("/api/following")["following"]
    else:
        node = _offline(c)
        try:
            rows = feeds.following(node)
        finally:
            node.close()
    if as_json:
        for row in rows:
            emit_json(row)
        return
    if not rows:
        out.print("following nobody (osp follow DID)")
        return
    for row in rows:
        seq = "-" if row.get("seq") is None else str(row["seq"])
        line = (f"{row['did']}  seq {seq}  {row.get('tracks', 0)} tracks  "
                f"{'audio' if row.get('audio') else 'records'}  checked {_ago(row.get('checkedAt'))}, "
                f"next {_in(row.get('nextCheckAt')) if running or row.get('checkedAt') is None else 'when a node runs'}")
        out.print(line)
        if row.get("catalog"):
            out.print(f"  catalog {row['catalog']}")
        if row.get("error"):
            out.print(f"  error: {row['error']}", style="yellow")
