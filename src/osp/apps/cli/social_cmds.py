"""``osp playlist …``, ``like``, ``comment``, ``comments``, ``flag``, ``endorse``, ``retract``:
social records (spec §10) and the local playlists they publish.

Through the running node's control API when one runs for the data directory; otherwise
on the library directly (records are signed and stored, and reach followers through our
feed and seekers through the track's key when ``osp node`` next runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx, plural
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import printable
from osp.core.errors import CallerError

T = TypeVar("T")
FLAG_REASONS = ("spam", "impersonation", "not-ai", "malicious", "duplicate")
OPTIONS = {"at": "--at", "replyTo": "--reply-to", "duplicateOf": "--duplicate-of"}  #: body member → CLI option


def _offline(c: Ctx, work: Callable[[Any], T]) -> T:
    from osp.node.core import Node

    node = Node(c.settings())
    try:
        return work(node)
    finally:
        node.close()


def _create(c: Ctx, command: str, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Sign and store one record (through the running node, else offline); the signed record.

    The fields are checked first, in plain words (``osp.node.social_checks``: the running
    node's ``POST /api/social`` runs the same checks); a caller error names the command
    (``osp like: expected a track id (osp:track:…), got a comment id (osp:comment:…)``)."""
    from osp.node.social_checks import check_new_record

    try:
        running = c.running()
        if running:
            answer: dict[str, Any] = ControlClient(running, timeout=30).post("/api/social", {"kind": kind, **fields})
            return dict(answer["record"])

        def make(node: Any) -> dict[str, Any]:
            check_new_record(node, kind, fields)
            return dict(node.social.create(kind, fields))

        record = _offline(c, make)
    except CallerError as exc:
        if type(exc) is CallerError:  # a bad argument; subclasses (not found, no key …) say it themselves
            member, sep, rest = exc.message.partition(": ")
            message = f"{OPTIONS[member]}: {rest}" if sep and member in OPTIONS else exc.message
            raise CallerError(f"osp {command}: {message}") from exc
        raise
    err.print("no node is running: the record spreads when `osp node` runs")
    return record


def _done(record: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        emit_json(record)
    else:
        out.print(f"{what}: {record['id']}")


# -- likes, comments, flags, endorsements, retractions ------------------------------------------


def _finite(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    """``--at``: a finite number (click's FloatRange lets NaN through)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter("must be a number of seconds")
    return value


@cli.command("like")
@click.argument("track_id")
@click.option("--json", "as_json", is_flag=True, help="Print the signed Like record.")
@pass_ctx
def like_cmd(c: Ctx, track_id: str, as_json: bool) -> None:
    """Like a track: a signed Like record, published through your feed and the track's key."""
    _done(_create(c, "like", "like", {"subject": track_id}), as_json, "liked")


@cli.command("comment")
@click.argument("track_id")
@click.argument("text")
@click.option("--at", "at", type=click.FloatRange(min=0, max=86400), default=None, callback=_finite, metavar="SECONDS",
              help="Seconds into the track it is about (0 to 86400).")
@click.option("--reply-to", default=None, metavar="COMMENT_ID",
              help="The comment this one answers (osp:comment:…): one on the same track, or one not known here "
                   "(allowed: it may reach this node later).")
@click.option("--json", "as_json", is_flag=True, help="Print the signed Comment record.")
@pass_ctx
def comment_cmd(c: Ctx, track_id: str, text: str, at: float | None, reply_to: str | None, as_json: bool) -> None:
    """Comment on a track (1–2000 characters, not only spaces), optionally at a time offset (within the
    track's duration when the track is in the library) or in reply to a comment."""
    fields: dict[str, Any] = {"subject": track_id, "text": text}
    if at is not None:
        fields["at"] = at
    if reply_to:
        fields["replyTo"] = reply_to
    _done(_create(c, "comment", "comment", fields), as_json, "commented")


@cli.command("flag")
@click.argument("subject")
@click.option("--reason", required=True, type=click.Choice(FLAG_REASONS), help="Why it is flagged.")
@click.option("--text", default=None, help="Details (at most 1000 characters).")
@click.option("--duplicate-of", default=None, metavar="TRACK_ID", help="With --reason duplicate: the original track.")
@click.option("--json", "as_json", is_flag=True, help="Print the signed Flag record.")
@pass_ctx
def flag_cmd(c: Ctx, subject: str, reason: str, text: str | None, duplicate_of: str | None, as_json: bool) -> None:
    """Flag a track or an identity (did:key) as spam, impersonation, not-ai, malicious or duplicate."""
    fields: dict[str, Any] = {"subject": subject, "reason": reason}
    if text:
        fields["text"] = text
    if duplicate_of:
        fields["duplicateOf"] = duplicate_of
    _done(_create(c, "flag", "flag", fields), as_json, "flagged")


@cli.command("endorse")
@click.argument("did")
@click.option("--text", default=None, help="Why (at most 500 characters).")
@click.option("--json", "as_json", is_flag=True, help="Print the signed Endorsement record.")
@pass_ctx
def endorse_cmd(c: Ctx, did: str, text: str | None, as_json: bool) -> None:
    """Vouch for an artist or curator (did:key): your web of trust, and your followers', grows from it."""
    fields: dict[str, Any] = {"subject": did}
    if text:
        fields["text"] = text
    _done(_create(c, "endorse", "endorsement", fields), as_json, "endorsed")


@cli.command("retract")
@click.argument("record_id")
@click.option("--json", "as_json", is_flag=True, help="Print the signed Tombstone record.")
@pass_ctx
def retract_cmd(c: Ctx, record_id: str, as_json: bool) -> None:
    """Retract one of your records (a signed Tombstone): every node that sees it removes the record.

    RECORD_ID is a record id (osp:<kind>:…, as `--json` and `osp playlist show` print them),
    or a local playlist id (pl-…): its newest published version is retracted."""
    if record_id.startswith("pl-"):
        published = _published_version(c, record_id)
        if published is None:
            raise CallerError(f"osp retract: no published version of a playlist {printable(record_id[:40])} is held "
                              "here (no such playlist, or never published: osp playlist ls, osp playlist publish ID)")
        record_id = str(published["id"])
    _done(_create(c, "retract", "tombstone", {"subject": record_id}), as_json, "retracted")


@cli.command("comments")
@click.argument("track_id")
@click.option("--lookup", type=click.FloatRange(min=0.1, max=30), default=None, metavar="SECONDS",
              help="Ask the network (the track's DHT key) first, for at most SECONDS (needs a running node).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: comments, likes, liked, flags, hidden, more "
                   "({comments, flags}: left out) (with --lookup, lookup: {dht, asked, answered}).")
@pass_ctx
def comments_cmd(c: Ctx, track_id: str, lookup: float | None, as_json: bool) -> None:
    """Show a track's comments (at their time offsets), likes and flags known here.

    At most 500 comments and 200 flags: yours and those of people you trust first, then the
    last received; the rest is counted ("N more not shown (lowest trust)")."""
    from urllib.parse import quote

    from osp.apps.http.social import track_social
    from osp.node.social import check_track_id

    track_id = check_track_id(track_id)
    running = c.running()
    if running:
        path = f"/api/tracks/{quote(track_id, safe=':')}/social" + (f"?lookup={lookup:g}" if lookup else "")
        view: dict[str, Any] = ControlClient(running, timeout=60).get(path)
    else:
        if lookup:
            raise CallerError("--lookup asks the network: start `osp node` first")
        view = _offline(c, lambda node: track_social(node, track_id))
    report = view.get("lookup")
    if lookup and isinstance(report, dict):
        _say_lookup(report)
    if as_json:
        emit_json(view)
        return
    trusted = view.get("trustedLikes")
    likes = (f"{plural(view['likes'], 'like')}" if trusted is None  # trust not computed yet: the raw count
             else f"{plural(trusted, 'trusted like')} ({view['likes']} in all)")
    more: dict[str, Any] = view["more"] if isinstance(view.get("more"), dict) else {}
    more_comments, more_flags = (int(more.get(k) or 0) for k in ("comments", "flags"))
    out.print(f"{likes}{' (you like it)' if view.get('liked') else ''}, "
              f"{plural(len(view['comments']) + more_comments, 'comment')}, "
              f"{plural(len(view['flags']) + more_flags, 'flag')}")
    for depth, entry in _threaded(view["comments"]):
        at = entry.get("at")
        where = f"[{int(at) // 60}:{int(at) % 60:02d}] " if isinstance(at, (int, float)) else ""
        # peers' words: control and bidi characters never reach the terminal (printable)
        # the did always; a name only as the author's claim beside it (their own Track Records)
        who = printable(entry["author"][:24] + "…")
        if isinstance(entry.get("authorName"), str):
            who = f"“{printable(entry['authorName'][:64])}” {who}"
        indent = "  " * min(depth, 6)
        reply = f"{indent}↳ " if depth else "↳ (a reply to a comment not held here) " if entry.get("replyTo") else ""
        out.print(f"{reply}{_hidden(entry)}{where}{who}: {printable(entry.get('text', ''))}",
                  style="dim" if entry.get("hidden") else None)
        out.print(f"{indent}    {printable(entry['id'])}  {printable(entry['created'])}", style="dim")
    if more_comments:
        out.print(f"{more_comments} more {'comment' if more_comments == 1 else 'comments'} not shown (lowest trust)",
                  style="dim")
    for entry in sorted(view["flags"], key=lambda e: bool(e.get("hidden"))):
        original = entry.get("duplicateOf")
        said = [f"duplicate of {printable(original)}"] if isinstance(original, str) else []
        if isinstance(entry.get("text"), str) and entry["text"]:
            said.append(printable(entry["text"]))
        out.print(f"{_hidden(entry)}flag {printable(entry.get('reason'))} by {printable(entry['author'][:24])}…"
                  + (": " + "; ".join(said) if said else ""), style="dim" if entry.get("hidden") else "yellow")
    if more_flags:
        out.print(f"{more_flags} more {'flag' if more_flags == 1 else 'flags'} not shown (lowest trust)", style="dim")


def _say_lookup(report: dict[str, Any]) -> None:
    """One stderr line when the network lookup reached nobody (``LookupReport`` of the node)."""
    dht, asked, answered = report.get("dht"), report.get("asked") or 0, report.get("answered") or 0
    if dht == "off":
        err.print("the running node has no DHT (--no-dht): only what this node holds is shown")
    elif dht == "unreachable":
        err.print("no peers answered (the DHT is unreachable): only what this node holds is shown")
    elif not asked:
        err.print("no peers answered (no holders of this track's key on the DHT): only what this node holds is shown")
    elif not answered:
        err.print(f"no peers answered ({plural(asked, 'holder')} asked): only what this node holds is shown")
    else:
        err.print(f"{plural(answered, 'peer')} of {asked} asked answered", style="dim")


def _threaded(comments: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """``(depth, comment)`` in reading order: top-level comments by time offset (those
    without one after, by date; what the quality gate hides last), each followed by its
    replies (by date) below it; a reply whose parent is not here is top-level.  Iterative:
    a peer's reply chain may be thousands deep."""
    ids = {str(c.get("id")) for c in comments}
    children: dict[str, list[dict[str, Any]]] = {}
    roots = []
    for c in comments:
        parent = c.get("replyTo")
        if isinstance(parent, str) and parent in ids and parent != c.get("id"):
            children.setdefault(parent, []).append(c)
        else:
            roots.append(c)
    roots.sort(key=lambda e: (bool(e.get("hidden")), e.get("at") is None, e.get("at") or 0, str(e["created"])))
    out: list[tuple[int, dict[str, Any]]] = []
    stack = [(0, c) for c in reversed(roots)]
    while stack:
        depth, c = stack.pop()
        out.append((depth, c))
        replies = sorted(children.get(str(c.get("id")), []), key=lambda e: str(e["created"]))
        stack.extend((depth + 1, r) for r in reversed(replies))
    return out


def _hidden(entry: dict[str, Any]) -> str:
    """``"HIDDEN (why) "`` for an item the quality gate hides, else ``""``."""
    hidden = entry.get("hidden")
    return f"HIDDEN ({printable(hidden.get('why', '?'))}) " if isinstance(hidden, dict) else ""


# -- playlists ------------------------------------------------------------------------------


@cli.group("playlist")
def playlist_group() -> None:
    """Local playlists (private to this node) and their signed, published versions."""


def _get(c: Ctx, playlist_id: str) -> dict[str, Any]:
    running = c.running()
    if running:
        return dict(ControlClient(running, timeout=30).get(f"/api/playlists/{quote(playlist_id, safe='')}"))
    from osp.library.playlists import Playlists

    return _offline(c, lambda node: Playlists(node.library).get(playlist_id).to_json())


def _replace(c: Ctx, playlist_id: str, tracks: list[str]) -> dict[str, Any]:
    running = c.running()
    if running:
        return dict(ControlClient(running, timeout=30).post(f"/api/playlists/{quote(playlist_id, safe='')}",
                                                             {"tracks": tracks}))
    from osp.library.playlists import Playlists

    return _offline(c, lambda node: Playlists(node.library).replace(playlist_id, node.clock(), tracks=tracks).to_json())


def _my_did(c: Ctx) -> str | None:
    """This node's did:key (``None`` before ``osp id init``)."""
    running = c.running()
    if running:
        did = ControlClient(running, timeout=30).get("/api/node").get("did")
        return did if isinstance(did, str) else None
    did = _offline(c, lambda node: node.library.meta("did"))
    return did if isinstance(did, str) else None


def _published_version(c: Ctx, playlist_id: str) -> dict[str, Any] | None:
    """The newest signed version of our playlist ``playlist_id`` held here (the Playlist
    record), or ``None`` when it was never published (or that version was retracted)."""
    did = _my_did(c)
    if did is None:
        return None
    running = c.running()
    if running:
        rows = ControlClient(running, timeout=30).get(f"/api/published-playlists?author={quote(did)}")["playlists"]
    else:
        from osp.node.social import parsed_record

        rows = _offline(c, lambda node: [parsed_record(r.record) for r in node.social.records.playlists(author=did)])
    mine = [r for r in rows if r.get("playlist") == playlist_id and r.get("author") == did]
    return max(mine, key=lambda r: int(r.get("seq") or 0)) if mine else None


def _show(playlist: dict[str, Any], as_json: bool, published: dict[str, Any] | None = None) -> None:
    if as_json:
        emit_json(playlist)
        return
    out.print(f"{playlist['id']}  {printable(playlist['name'])}  ({plural(len(playlist['tracks']), 'track')})")
    if published is not None:
        out.print(f"  published version {published.get('seq')}: {printable(published.get('id'))}", style="dim")
    for i, track in enumerate(playlist["tracks"], 1):
        out.print(f"  {i:>3}. {printable(track)}")


@playlist_group.command("new")
@click.argument("name")
@click.argument("tracks", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the playlist as JSON.")
@pass_ctx
def playlist_new(c: Ctx, name: str, tracks: tuple[str, ...], as_json: bool) -> None:
    """Make a local playlist NAME, optionally with TRACKS (track ids, in order)."""
    running = c.running()
    if running:
        made = ControlClient(running, timeout=30).post("/api/playlists", {"name": name, "tracks": list(tracks)})
    else:
        from osp.library.playlists import Playlists

        made = _offline(c, lambda node: Playlists(node.library).create(name, list(tracks), node.clock()).to_json())
    _show(made, as_json)


@playlist_group.command("add")
@click.argument("playlist_id")
@click.argument("tracks", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the playlist as JSON.")
@pass_ctx
def playlist_add(c: Ctx, playlist_id: str, tracks: tuple[str, ...], as_json: bool) -> None:
    """Append TRACKS (track ids) to a playlist."""
    current = _get(c, playlist_id)
    _show(_replace(c, playlist_id, [*current["tracks"], *tracks]), as_json)


def _position(text: str, size: int) -> int:
    """A 1-based position as a 0-based index; ``CallerError`` out of range."""
    try:
        n = int(text)
    except ValueError as exc:
        raise CallerError(f"{text!r} is not a position (1…{size})") from exc
    if not 1 <= n <= size:
        raise CallerError(f"position {n} is outside 1…{size}")
    return n - 1


@playlist_group.command("rm")
@click.argument("playlist_id")
@click.argument("items", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the playlist as JSON.")
@pass_ctx
def playlist_rm(c: Ctx, playlist_id: str, items: tuple[str, ...], as_json: bool) -> None:
    """Remove entries from a playlist: each ITEM is a 1-based position or a track id (every occurrence)."""
    tracks = list(_get(c, playlist_id)["tracks"])
    ids = {i for i in items if i.startswith("osp:")}
    drop = {_position(i, len(tracks)) for i in items if not i.startswith("osp:")}
    if ids and not ids & set(tracks):
        raise CallerError("none of those tracks is in the playlist")
    kept = [t for n, t in enumerate(tracks) if n not in drop and t not in ids]
    _show(_replace(c, playlist_id, kept), as_json)


@playlist_group.command("mv")
@click.argument("playlist_id")
@click.argument("source")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the playlist as JSON.")
@pass_ctx
def playlist_mv(c: Ctx, playlist_id: str, source: str, target: str, as_json: bool) -> None:
    """Move the entry at position SOURCE to position TARGET (1-based)."""
    tracks = list(_get(c, playlist_id)["tracks"])
    frm, to = _position(source, len(tracks)), _position(target, len(tracks))
    tracks.insert(to, tracks.pop(frm))
    _show(_replace(c, playlist_id, tracks), as_json)


@playlist_group.command("show")
@click.argument("playlist_id")
@click.option("--json", "as_json", is_flag=True, help="Print the playlist as JSON.")
@pass_ctx
def playlist_show(c: Ctx, playlist_id: str, as_json: bool) -> None:
    """Show a local playlist's tracks in order (and the record id of its newest published version)."""
    playlist = _get(c, playlist_id)
    _show(playlist, as_json, None if as_json else _published_version(c, playlist_id))


@playlist_group.command("rename")
@click.argument("playlist_id")
@click.argument("title")
@click.option("--json", "as_json", is_flag=True, help="Print the playlist as JSON.")
@pass_ctx
def playlist_rename(c: Ctx, playlist_id: str, title: str, as_json: bool) -> None:
    """Rename a local playlist to TITLE (1–200 characters); its next published version carries it."""
    running = c.running()
    if running:
        renamed = dict(ControlClient(running, timeout=30).post(f"/api/playlists/{quote(playlist_id, safe='')}",
                                                               {"name": title}))
    else:
        from osp.library.playlists import Playlists

        renamed = _offline(c, lambda node: Playlists(node.library).replace(playlist_id, node.clock(),
                                                                           name=title).to_json())
    _show(renamed, as_json)


@playlist_group.command("delete")
@click.argument("playlist_id")
@click.option("--retract", is_flag=True, help="Also retract its newest published version (a signed Tombstone).")
@click.option("--json", "as_json", is_flag=True, help='Print {"id", "deleted": true, "retracted": TOMBSTONE|null}.')
@pass_ctx
def playlist_delete(c: Ctx, playlist_id: str, retract: bool, as_json: bool) -> None:
    """Delete a local playlist.  Its published versions stay published unless --retract
    (or `osp retract ID` later; ID: the pl-… id or the record id)."""
    _get(c, playlist_id)  # not found: nothing is done
    published = _published_version(c, playlist_id)
    tombstone = None
    if retract and published is not None:
        tombstone = _create(c, "playlist delete", "tombstone", {"subject": str(published["id"])})
    running = c.running()
    if running:
        ControlClient(running, timeout=30).delete(f"/api/playlists/{quote(playlist_id, safe='')}")
    else:
        from osp.library.playlists import Playlists

        _offline(c, lambda node: Playlists(node.library).delete(playlist_id))
    if as_json:
        emit_json({"id": playlist_id, "deleted": True, "retracted": tombstone})
        return
    out.print(f"deleted {playlist_id}")
    if tombstone is not None:
        out.print(f"retracted {printable(published and published.get('id'))}: {tombstone['id']}")
    elif published is not None:
        err.print(f"its published version {published.get('seq')} ({printable(published.get('id'))}) stays "
                  f"published: `osp retract {playlist_id}` retracts it")


@playlist_group.command("ls")
@click.option("--published", "published", is_flag=True, help="Signed playlists known here (ours and followed ones).")
@click.option("--author", default=None, metavar="DID", help="With --published: that author's only.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per playlist.")
@pass_ctx
def playlist_ls(c: Ctx, published: bool, author: str | None, as_json: bool) -> None:
    """List local playlists (or, with --published, the newest signed version of each known playlist)."""
    running = c.running()
    if published:
        from osp.node.social import parsed_record

        if running:
            query = f"?author={author}" if author else ""
            rows = ControlClient(running, timeout=30).get(f"/api/published-playlists{query}")["playlists"]
        else:
            rows = _offline(c, lambda node: [parsed_record(r.record)
                                             for r in node.social.records.playlists(author=author)])
        for row in rows:
            if as_json:
                emit_json(row)
            else:
                out.print(f"{printable(row['playlist'])} v{row['seq']}  {printable(row['title'])}  "
                          f"({plural(len(row['tracks']), 'track')})  by {printable(row['author'][:24])}…")
        if not rows and not as_json:
            out.print("no published playlists known here" + (" by that author" if author else "")
                      + " (osp playlist publish PL; followed artists' playlists arrive with their feeds)")
        return
    if running:
        lists = ControlClient(running, timeout=30).get("/api/playlists")["playlists"]
    else:
        from osp.library.playlists import Playlists

        lists = _offline(c, lambda node: [p.to_json() for p in Playlists(node.library).all()])
    for p in lists:
        if as_json:
            emit_json(p)
        else:
            out.print(f"{p['id']}  {printable(p['name'])}  ({plural(len(p['tracks']), 'track')})")
    if not lists and not as_json:
        out.print("no playlists (osp playlist new NAME)")


@playlist_group.command("publish")
@click.argument("playlist_id")
@click.option("--json", "as_json", is_flag=True, help="Print the signed Playlist record.")
@pass_ctx
def playlist_publish(c: Ctx, playlist_id: str, as_json: bool) -> None:
    """Publish a local playlist as a signed Playlist record (a new version each time; at most 500 tracks)."""
    running = c.running()
    if running:
        record = ControlClient(running, timeout=30).post(f"/api/playlists/{quote(playlist_id, safe='')}/publish", {})
    else:
        record = _offline(c, lambda node: node.social.publish_playlist(playlist_id))
        err.print("no node is running: the playlist spreads when `osp node` runs")
    if as_json:
        emit_json(record)
    else:
        out.print(f"published {record['playlist']} version {record['seq']}: {record['id']}")
