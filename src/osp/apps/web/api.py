"""The control API routes the web app adds (issue 9): one track, one artist, uploads and
local playlists.  JSON in and out; errors ``{"error", "message"}`` (``OspError`` codes).

Routes:
  GET    /api/tracks/{id}       a track: ``track_summary`` + ``origin``, ``added``, ``file``,
                                ``verification`` ``{"signature": "valid", "method", "content"}``,
                                ``share`` (its share page or ``null``), ``transfer`` (state or ``null``),
                                ``c2pa`` (the stored C2PA result or ``null``), ``credentials`` (the
                                levels of "verified AI-generated": ``osp.node.credentials``),
                                ``analysis`` (``osp.library.analysis.AnalysisRow.to_json`` or ``null``) and
                                ``duplicates`` (``osp.node.fingerprints.duplicates_view``: the earlier
                                tracks its audio matches, ``null`` until fingerprinted).
                                A track not in the library but downloading now, or known from a
                                followed artist's catalog, answers too, with ``origin``, ``added`` and
                                ``file`` ``null``; anything else: 404 ``not-found``.
  GET    /api/tracks/{id}/lineage  the remix family tree (``osp.apps.web.lineage_api``)
  GET    /api/tracks/{id}/similar?limit=N   "more like this" (``osp.node.analysis.similar_view``;
                                N 1…100, default 10); 404 when the track was not analysed here
  GET    /api/tracks/{id}/more-like-this, GET /api/recommend, GET|POST|DELETE /api/plays
                                recommendations and the local listening history (``osp.apps.web.recommend_api``)
  GET    /api/tracks/{id}/duplicates?wait=S  the publish check (``osp.apps.http.matching``)
  DELETE /api/tracks/{id}/like  unlike: our Like of the track retracted (a signed Tombstone, spec §10)
                                → ``{"id", "unliked": n}`` (n: likes retracted, 0 when there was none)
  GET    /api/artists/{did}     ``{"did", "name", "tracks": [library entries], "following", "trust", "hidden"}``:
                                ``trust``/``hidden`` the artist's (``osp.node.trust.annotate``), and each
                                track's too (``hidden``: ``{"why", "by"}`` or ``null``, shown collapsed)
  POST   /api/upload?name=…     the raw file (``application/octet-stream``) → ``{"upload", "name", "size"}``
  GET    /api/playlists         ``{"playlists": [playlist…]}`` (oldest first)
  POST   /api/playlists         ``{"name", "tracks"?}`` → the playlist
  GET    /api/playlists/{id}    the playlist
  POST   /api/playlists/{id}    ``{"name"?, "tracks"?}`` (each replaces) → the playlist
  DELETE /api/playlists/{id}    ``{"id", "deleted": true}``

``content`` in ``verification``: ``verified`` (the file is here, intact: its CID was computed
over its bytes when it was published, or checked when it was fetched), ``missing`` (the file
was deleted or changed on disk), ``downloading``, or ``not fetched``.  Every record here
verified (signature and id) before it was stored, so ``signature`` is always ``valid``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from osp.apps.http.common import json_body
from osp.apps.http.importing import artwork_url
from osp.apps.http.matching import check_route
from osp.apps.http.shapes import library_entry, share_link, track_summary
from osp.apps.web.lineage_api import lineage_route
from osp.apps.web.recommend_api import recommend_routes
from osp.apps.web.uploads import Uploads, upload_route
from osp.core.errors import CallerError, NotFoundError
from osp.identity.didkey import DidKeyError, public_key_from_bare_did
from osp.library.playlists import Playlists
from osp.node import feeds
from osp.node.analysis import analysis_json, similar_view
from osp.node.core import Node
from osp.node.credentials import credential_view
from osp.node.fetch import ACTIVE_STATES
from osp.node.fingerprints import duplicates_view
from osp.node.social import check_track_id
from osp.node.trust import annotate, artist_standing
from osp.records.canonical import strict_loads


def track_view(node: Node, track_id: str) -> dict[str, Any]:
    """The ``GET /api/tracks/{id}`` object (module doc); ``NotFoundError``."""
    row = node.library.track(track_id)
    transfer = node.transfers.get(track_id)
    state = transfer.state.to_json() if transfer is not None else None
    if row is not None:
        file = node.library.file(row.cid)
        entry = library_entry(row, {row.cid: file.state} if file else {})
        content = "verified" if entry["file"] == "ok" else "missing"
    else:
        if transfer is not None:
            record = transfer.track.record
            content = "downloading" if state and state["state"] in ACTIVE_STATES else "not fetched"
        else:
            known = node.library.known_record(track_id)
            if known is None:
                raise NotFoundError(f"no track {track_id[:80]} in the library")
            record = strict_loads(known.record)
            content = "not fetched"
        entry = track_summary(record) | {"origin": None, "added": None, "file": None}
    proof = entry["record"].get("proof") or {}
    return entry | {
        "verification": {"signature": "valid", "method": proof.get("verificationMethod"), "content": content},
        "share": share_link(node, entry["id"]),
        "transfer": state,
        "artworkUrl": artwork_url(entry["record"]),  # issue 10: the cover (osp.apps.http.importing)
        **credential_view(node.library, entry["record"], artist_standing(node, entry["record"])),
        "analysis": analysis_json(node, entry["id"]),
        "duplicates": duplicates_view(node, entry["id"]),
    }


def artist_view(node: Node, did: str) -> dict[str, Any]:
    """The ``GET /api/artists/{did}`` object; ``CallerError`` for a malformed did:key.
    ``name``: the ``artistName`` of the newest library track that has one, else of the newest
    record known from the artist's catalog, else ``None``."""
    try:
        public_key_from_bare_did(did)
    except DidKeyError as exc:
        raise CallerError(f"not an artist's did:key: {exc}") from exc
    rows = node.library.tracks_by_artist(did)  # newest first
    states = node.library.file_states()
    tracks = annotate(node, [library_entry(r, states) for r in rows])  # trust and hidden: the quality gate
    records = [t["record"] for t in tracks] + [strict_loads(k.record) for k in node.library.known_records(did, 100)]
    name = next((r["artistName"] for r in records if isinstance(r.get("artistName"), str)), None)
    [judged] = annotate(node, [{"author": did}])
    return {"did": did, "name": name, "tracks": tracks, "following": node.library.follow(did) is not None,
            "trust": judged["trust"], "hidden": judged["hidden"]}


def following_view(node: Node) -> list[dict[str, Any]]:
    """``GET /api/following``'s list: ``osp.node.feeds.following`` with each followed
    artist's ``trust`` (float or ``None``) and ``hidden`` (``{"why", "by"}`` or ``None``:
    what the quality gate says of the artist, ``osp.node.trust.annotate``) added."""
    rows = feeds.following(node)
    judged = annotate(node, [{"author": f["did"]} for f in rows])
    return [f | {"trust": j["trust"], "hidden": j["hidden"]} for f, j in zip(rows, judged, strict=True)]


def unlike(node: Node, track_id: str) -> int:
    """Retract our Like records of ``track_id`` (a signed ``osp:Tombstone`` each, spec §10:
    the like is removed here and wherever the tombstone travels); returns how many (0: none
    held; one author holds one like of a track).  ``CallerError`` for a malformed track id;
    ``KeystoreError`` without a usable key."""
    track_id = check_track_id(track_id)
    me = node.library.meta("did")
    held = node.social.records.find(me, "like", track_id) if me else None  # by author: no flood hides it
    if held is not None:
        node.social.create("tombstone", {"subject": held.id})
    return 0 if held is None else 1


def api_routes(node: Node, clock: Callable[[], float], uploads: Uploads) -> list[BaseRoute]:
    """The routes of the module doc; ``clock()``: Unix seconds (playlist times)."""
    playlists = Playlists(node.library)

    async def track(request: Request) -> Response:
        return JSONResponse(await anyio.to_thread.run_sync(track_view, node, request.path_params["track_id"]))

    async def similar(request: Request) -> Response:
        limit = _int_param(request, "limit", 10, 1, 100)
        return JSONResponse(await anyio.to_thread.run_sync(similar_view, node, request.path_params["track_id"], limit))

    async def unlike_route(request: Request) -> Response:
        track_id = request.path_params["track_id"]
        return JSONResponse({"id": track_id, "unliked": await anyio.to_thread.run_sync(unlike, node, track_id)})

    async def artist(request: Request) -> Response:
        return JSONResponse(await anyio.to_thread.run_sync(artist_view, node, request.path_params["did"]))

    async def list_playlists(request: Request) -> Response:
        return JSONResponse({"playlists": [p.to_json() for p in await anyio.to_thread.run_sync(playlists.all)]})

    async def create_playlist(request: Request) -> Response:
        body = await json_body(request)
        _only(body, {"name", "tracks"})
        made = await anyio.to_thread.run_sync(lambda: playlists.create(body.get("name"), body.get("tracks"), clock()))
        return JSONResponse(made.to_json())

    async def playlist(request: Request) -> Response:
        pid = request.path_params["playlist_id"]
        if request.method == "DELETE":
            await anyio.to_thread.run_sync(playlists.delete, pid)
            return JSONResponse({"id": pid, "deleted": True})
        if request.method == "POST":
            body = await json_body(request)
            _only(body, {"name", "tracks"})
            changed = await anyio.to_thread.run_sync(
                lambda: playlists.replace(pid, clock(), name=body.get("name"), tracks=body.get("tracks")))
            return JSONResponse(changed.to_json())
        return JSONResponse((await anyio.to_thread.run_sync(playlists.get, pid)).to_json())

    return [
        Route("/api/tracks/{track_id}", track),
        Route("/api/tracks/{track_id}/lineage", lineage_route(node)),
        Route("/api/tracks/{track_id}/similar", similar),
        Route("/api/tracks/{track_id}/like", unlike_route, methods=["DELETE"]),
        check_route(node),
        Route("/api/artists/{did}", artist),
        Route("/api/upload", upload_route(uploads), methods=["POST"]),
        Route("/api/playlists", list_playlists),
        Route("/api/playlists", create_playlist, methods=["POST"]),
        Route("/api/playlists/{playlist_id}", playlist, methods=["GET", "POST", "DELETE"]),
        *recommend_routes(node),  # /api/recommend, more-like-this, /api/plays (osp.apps.web.recommend_api)
    ]


def _only(body: dict[str, Any], keys: set[str]) -> None:
    extra = set(body) - keys
    if extra:
        raise CallerError(f"unknown fields: {', '.join(sorted(extra))}")


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise CallerError(f"{name} must be an integer from {lo} to {hi}")
    return int(raw)
