"""The control API's social routes (spec §10; ``osp.node.social``), mounted by ``control_app``.

Routes (bearer token or session cookie, like the rest of ``/api/``):
  POST /api/social                    ``{"kind": "like"|"comment"|…, …fields}`` → ``{"id", "record"}`` (signed with
                                      the node's key, stored, spread through our feed and the track's key);
                                      400 in plain words first (``osp.node.social_checks``: "expected a track
                                      id (osp:track:…), got a comment id", a blank comment, ``at`` past the
                                      track's end, a reply across tracks, a self-endorsement …)
  GET  /api/tracks/{id}/social        ``{"comments": [entry…], "likes": n, "trustedLikes": n|null, "liked": bool,
                                      "flags": [entry…], "hidden": n, "more": {"comments": n, "flags": n}}``:
                                      ``likes`` counts every liker (raw: a thousand Sybils are a thousand likes),
                                      ``trustedLikes`` only those the web of trust trusts and the gate shows
                                      (``trusted_likers``; ``null`` until trust is computed); at most 500
                                      comments and 200 flags (512 and 128 KiB of records), the listener's own and
                                      trusted identities' first, then the last received; ``more``: how many
                                      were left out (``osp.node.social_view``);
                                      ``?lookup=S``: ask the network first, for at most S seconds
                                      (1–30); an entry is ``{"id", "kind", "author", "authorName"? (the author's claim), "created",
                                      …body fields, "trust": float|null, "hidden": null|{"why", "by"}}``;
                                      with ``?lookup``, also ``"lookup": {"dht": "ok"|"off"|"unreachable",
                                      "asked": n, "answered": n}`` (holders of the track's key asked, answering)
  POST /api/playlists/{id}/publish    the local playlist as a signed Playlist record (next ``seq``)
  GET  /api/published-playlists       ``{"playlists": [record…]}``: the newest version of each signed playlist
                                      known (``?author=DID``: that author's only)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from osp.apps.http.common import json_body
from osp.core.errors import CallerError
from osp.identity.didkey import DidKeyError, public_key_from_bare_did
from osp.library.names import artist_names
from osp.node import social_view
from osp.node.core import Node
from osp.node.social import MAX_LOOKUP_TIMEOUT, LookupReport, check_track_id, parsed_record
from osp.node.social_checks import check_new_record
from osp.node.trust import annotate, trusted_likers

ENVELOPE = frozenset({"@context", "type", "version", "proof", "id", "author", "created", "subject"})


def social_entry(record: dict[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """One comment or flag as the control API shows it: envelope fields, ``authorName`` (the
    name the author claims in their newest verified Track Record here, ``artist_names``; a
    claim to show beside the did, never instead of it) when there is one, the body fields,
    ``trust`` and ``hidden`` (``None`` until a web of trust ranks them)."""
    kind = str(record.get("type", "")).removeprefix("osp:").lower()
    entry: dict[str, Any] = {"id": record.get("id"), "kind": kind, "author": record.get("author"),
                             "created": record.get("created")}
    name = names.get(str(record.get("author")))
    if name:
        entry["authorName"] = name
    entry.update({k: v for k, v in record.items() if k not in ENVELOPE})
    entry.update({"trust": None, "hidden": None})
    return entry


def track_social(node: Node, track_id: str) -> dict[str, Any]:
    """The ``GET /api/tracks/{id}/social`` object (see the module docstring): bounded, own
    and trusted records first (``osp.node.social_view.track_social``).  ``CallerError`` for
    a malformed track id."""
    view = social_view.track_social(node, check_track_id(track_id))
    # the name each author claims in their newest verified Track Record here (osp.library.names)
    names = artist_names(node.library, sorted({str(r.get("author")) for r in view.comments + view.flags}))
    # trust and hidden (the quality gate) from the web of trust's last computation (osp.node.trust)
    comments = annotate(node, [social_entry(r, names) for r in view.comments])
    flags = annotate(node, [social_entry(r, names) for r in view.flags])
    hidden = sum(1 for e in comments + flags if e["hidden"] is not None)
    trusted = trusted_likers(node, view.likers)
    return {"comments": comments, "likes": view.likes, "trustedLikes": None if trusted is None else len(trusted),
            "liked": view.liked, "flags": flags, "hidden": hidden,
            "more": {"comments": view.more_comments, "flags": view.more_flags}}


def social_routes(node: Node, run_outbound: Callable[..., Awaitable[Any]]) -> list[Route]:
    """The routes above; ``run_outbound`` runs network work (lookups) on the control
    listener's outbound worker budget."""

    async def create(request: Request) -> Response:
        body = await json_body(request)
        kind = body.pop("kind", None)
        if not isinstance(kind, str):
            raise CallerError('a social record needs "kind": playlist, follow, like, comment, endorsement, flag or '
                              "tombstone")

        def make() -> dict[str, Any]:
            check_new_record(node, kind, body)  # plain words before the schema's (400)
            return node.social.create(kind, body)

        record = await anyio.to_thread.run_sync(make)
        return JSONResponse({"id": record["id"], "record": record})

    async def about(request: Request) -> Response:
        track_id = check_track_id(request.path_params["track_id"])
        lookup = request.query_params.get("lookup")
        if lookup is not None:
            try:
                seconds = float(lookup)
            except ValueError:
                seconds = -1.0
            if not 0 < seconds <= MAX_LOOKUP_TIMEOUT:
                raise CallerError(f"lookup is a number of seconds in (0, {MAX_LOOKUP_TIMEOUT:g}]")
            report = LookupReport()
            await run_outbound(node.social.lookup, track_id, seconds, report)
            view = await anyio.to_thread.run_sync(track_social, node, track_id)
            return JSONResponse({**view, "lookup": report.to_json()})
        return JSONResponse(await anyio.to_thread.run_sync(track_social, node, track_id))

    async def publish_playlist(request: Request) -> Response:
        record = await anyio.to_thread.run_sync(node.social.publish_playlist, request.path_params["playlist_id"])
        return JSONResponse(record)

    async def published(request: Request) -> Response:
        author = request.query_params.get("author")
        if author is not None:
            try:
                public_key_from_bare_did(author)
            except DidKeyError as exc:
                raise CallerError(f"author must be a did:key ({exc})") from exc
        rows = await anyio.to_thread.run_sync(lambda: node.social.records.playlists(author=author))
        return JSONResponse({"playlists": [parsed_record(r.record) for r in rows]})

    return [
        Route("/api/social", create, methods=["POST"]),
        Route("/api/tracks/{track_id}/social", about),
        Route("/api/playlists/{playlist_id}/publish", publish_playlist, methods=["POST"]),
        Route("/api/published-playlists", published),
    ]
