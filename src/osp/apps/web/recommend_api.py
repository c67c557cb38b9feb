"""The control API of recommendations and the local listening history (issue 11).

Routes (bearer token or session cookie, like every ``/api/`` route):
  GET    /api/recommend?limit=N          "for you" (``osp.node.recommend.RecommendService.recommend``; a
                                         node that never fitted yet waits ≤ 3 s for its first fit):
                                         ``{"tracks": [{"id", "title", "artist", "artistName", "score",
                                         "why"}], "coldStart": bool, "model": {"listeners", "tracks",
                                         "signals", "fitSeconds"} | null, "message": str | null}``
                                         (``why``: a reason counted from the signals; ``message``:
                                         what to do when ``tracks`` is empty); N 1…100, default 20
  GET    /api/tracks/{id}/more-like-this?limit=N   ``{"id", "tracks": [same entries], "model"}``;
                                         N 1…100, default 10; 404 when the track is not known here
  POST   /api/plays                      ``{"track": id, "seconds": s}`` (the web player, once per
                                         play: 0 < s ≤ 6 h) → ``{"track", "seconds", "at"}``
  GET    /api/plays?limit=N              ``{"tracks": [{"track", "title", "plays", "seconds", "last"}], "plays": n}``
                                         (most recently played first; N 1…1000, default 50)
  DELETE /api/plays                      forget the history → ``{"cleared": n}``

The history is private: it is never published nor served on the peer listener.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from osp.apps.http.common import json_body
from osp.core.errors import CallerError, OspError
from osp.library.plays import Plays
from osp.library.store import Library
from osp.node.core import Node
from osp.node.recommend import FIRST_FIT_WAIT
from osp.records.canonical import strict_loads


def _limit(request: Request, default: int, hi: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= hi:
        raise CallerError(f"limit must be an integer from 1 to {hi}")
    return int(raw)


def history(library: Library, limit: int) -> dict[str, Any]:
    """The ``GET /api/plays`` object (module doc); each entry also has the track's ``title``
    when its record is known here (else ``null``)."""
    plays = Plays(library)
    tracks = []
    for t in plays.by_track(limit):
        tracks.append(t.to_json() | {"title": _title(library, t.track)})
    return {"tracks": tracks, "plays": plays.stamp()[0]}


def _title(library: Library, track: str) -> str | None:
    """The title of a library track or of a record known from a catalog; ``None`` if neither."""
    row = library.track(track)
    if row is not None:
        return row.title
    known = library.known_record(track)
    if known is None:
        return None
    try:
        title = strict_loads(known.record).get("title")
    except (OspError, ValueError, AttributeError):
        return None
    return title if isinstance(title, str) else None


def recommend_routes(node: Node) -> list[BaseRoute]:
    """The routes of the module doc."""

    async def for_you(request: Request) -> Response:
        limit = _limit(request, 20, 100)
        return JSONResponse(await anyio.to_thread.run_sync(
            lambda: node.recommend.recommend(limit, wait=FIRST_FIT_WAIT)))

    async def more_like_this(request: Request) -> Response:
        limit = _limit(request, 10, 100)
        track_id = request.path_params["track_id"]
        return JSONResponse(await anyio.to_thread.run_sync(
            lambda: node.recommend.more_like_this(track_id, limit, wait=FIRST_FIT_WAIT)))

    async def plays(request: Request) -> Response:
        if request.method == "DELETE":
            return JSONResponse({"cleared": await anyio.to_thread.run_sync(Plays(node.library).clear)})
        if request.method == "POST":
            body = await json_body(request)
            extra = set(body) - {"track", "seconds"}
            if extra:
                raise CallerError(f"unknown keys: {', '.join(sorted(extra))[:200]}")
            played = await anyio.to_thread.run_sync(node.recommend.play, body.get("track"), body.get("seconds"))
            return JSONResponse(played.to_json())
        return JSONResponse(await anyio.to_thread.run_sync(history, node.library, _limit(request, 50, 1000)))

    return [
        Route("/api/recommend", for_you),
        Route("/api/tracks/{track_id}/more-like-this", more_like_this),
        Route("/api/plays", plays, methods=["GET", "POST", "DELETE"]),
    ]
