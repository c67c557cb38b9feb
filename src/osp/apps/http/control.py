"""The control listener: the local user's API and web app, on loopback only.

``guard.ControlGuard`` checks every request first: a ``Host`` that is a loopback name with
the bound port (DNS rebinding), no foreign ``Origin``, and credentials — the bearer token
from ``<data_dir>/api-token`` (GETs too; never accepted in a query string or cookie), a
media player's short-lived ``/stream/{id}?t=CREDENTIAL`` from ``POST /api/stream-url`` that
opens that one track's stream and nothing else, or the web app's ``osp_session`` cookie
(``osp ui``'s one-time login link; cookie writes need ``Origin``).  POST bodies are JSON
only, at most 1 MiB (413 past it, read incrementally), but ``/api/upload``'s raw file.  No
GET changes state (but ``/login``, which uses a one-time code up).  Outbound work (publish,
resolve, fetch) runs on its own small worker budget, so slow peers cannot take the workers
``/api/tracks`` and ``/stream/`` need.  Source addresses are never trusted (design.md §4).

Routes:
  GET  /api/node                      node info and listener URLs, ``reachability`` (``network.reachability_report``)
  GET  /api/tracks                    the library (signed records, ``origin``, ``added``, ``c2pa``, ``analysis``,
                                      ``duplicateOf``)
  GET  /api/tracks/{id}               one track + ``verification``, ``share``, ``transfer`` (``osp.apps.web.api``)
  POST /api/publish                   ``{"paths"?: [...], "uploads"?: [id…], "title"?, "license"?, "tags"?,
                                      "provenance"?…}`` → ``{"tracks": [... "share"], "refused": [{"file",
                                      "error", "message"}]}`` (every file is tried; with ``Accept:
                                      application/x-ndjson`` progress lines ``{"file", "done", "total"}``
                                      come first; ``publishing``)
  GET  /api/status                    ports, URLs, counts, rates, uptime, DHT, data dir, cache used/quota,
                                      ``reachability`` (BitTorrent/HTTP ports, external address, port mapping),
                                      ``dhtMessages`` (DHT messages in/out since start)
  POST /api/resolve                   ``{"track": ref, "peer"?: url}`` → verified record
  POST /api/fetch                     ``{"track": ref, "peer"?: url | [url…], "gateway"?: url}`` → transfer state
  GET  /api/transfers[/{id}]          transfer states (``sources``: BitTorrent peers, web seeds)
  POST /api/cancel                    ``{"track": id}`` → the cancelled transfer (partial file deleted)
  POST /api/remove                    ``{"track": id, "keepFile"?: bool}`` → what was removed
  POST /api/stream-url                ``{"track": id, "ttl"?: s}`` → ``{"url", "expires"}`` for a player
  POST /api/search                    ``{"q"?: str, "artist"?: did, "tags"?: [str], "limit"?: n, "timeout"?: s}``
                                      → NDJSON: ``{"result": …}`` per new or improved result as it arrives
                                      (local first; ``duplicateOf``: the earlier track its audio
                                      matches, or null; ``trust``: the artist's, ``hidden``: null or
                                      ``{"why", "by"}`` from the quality gate, hidden results ranked last
                                      and counted in the summary's ``hidden``), then ``{"done": summary}``;
                                      ``"bpm"?: "120-130"|"128"``,
                                      ``"key"?: "A minor"`` keep results analysed here that pass
                                      (``osp.node.analysis.filtered_search``; summary ``notAnalysed``)
  GET|HEAD /stream/{id}               the audio with Range, served while it downloads
  POST /api/follow                    ``{"did", "audio"?: bool}`` → the follow (see ``following``); without
                                      ``audio`` a follow again keeps its setting
  DELETE /api/follow/{did}            stop following → ``{"did", "unfollowed": true}``
  GET  /api/following                 ``{"following": [{"did", "audio", "seq", "catalog", "tracks",
                                      "followedAt", "checkedAt", "error", "trust", "hidden"}]}`` (spec §9 feeds;
                                      ``hidden``: the quality gate's ``{"why", "by"}`` or ``null``)
  GET  /api/artists/{did}             ``{"did", "name", "tracks", "following", "trust", "hidden"}`` (``osp.apps.web.api``)
  DELETE /api/tracks/{id}/like        unlike: our Like retracted by a Tombstone (``osp.apps.web.api``)
  POST /api/upload?name=…             a raw file for the web app to publish → ``{"upload", "name", "size"}``
  POST /api/import                    a folder of exports → NDJSON per file and a summary (``osp.apps.http.importing``)
  POST /api/artwork, GET /api/artwork/{cid}  store a cover image by path; the image (fetched by CID if needed)
  GET|POST /api/playlists             local playlists: list, create ``{"name", "tracks"?}``
  GET|POST|DELETE /api/playlists/{id} one playlist: read, replace ``{"name"?, "tracks"?}``, delete
  POST /api/social, GET /api/tracks/{id}/social, POST /api/playlists/{id}/publish, GET /api/published-playlists
                                      social records (spec §10; ``osp.apps.http.social``)
  GET  /api/trust[?did=DID]           the web of trust: top identities, or one's score, rank and why
  GET|PUT /api/quality-gate           ``{"threshold", "lists"}`` (``osp.apps.http.trust``)
  POST /api/login-link                bearer token only → ``{"url": ".../login?code=…", "expires"}`` (``osp ui``)
  GET  /login?code=…                  one-time code → 303 to ``/`` with the session cookie (``osp.apps.web.routes``)
  POST /api/logout                    clears the session cookie
  GET  /, /app/{path}                 the web app (``static/app``)
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from osp.apps.http.common import json_body, ranged
from osp.apps.http.credentials import STREAM_TTL, stream_credential
from osp.apps.http.guard import ControlGuard
from osp.apps.http.importing import import_routes
from osp.apps.http.publishing import publish_route
from osp.apps.http.shapes import library_entry, track_summary
from osp.apps.http.social import social_routes
from osp.apps.http.trust import trust_routes
from osp.core.errors import CallerError, NotFoundError, OspError
from osp.discovery.search import Query, Result
from osp.library.analysis import Analyses
from osp.library.credentials import Credentials
from osp.library.fingerprints import flagged
from osp.node import feeds
from osp.node.core import Node
from osp.node.fetch import ACTIVE_STATES
from osp.node.network import reachability_report
from osp.provenance.audio_query import AudioFilter

SEARCH_TIMEOUT = 5.0  #: seconds a search runs unless the request says otherwise
MAX_SEARCH_TIMEOUT = 60.0


def search_request(body: dict[str, Any]) -> tuple[Query, float]:
    """The query and timeout of a ``POST /api/search`` body; ``CallerError`` on bad input."""
    extra = set(body) - {"q", "artist", "tags", "limit", "timeout", "bpm", "key"}
    if extra:
        raise CallerError(f"unknown search fields: {', '.join(sorted(extra))}")
    q = body.get("q") or ""
    words = q.split() if isinstance(q, str) else q
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise CallerError("q must be a string of words (or a list of words)")
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CallerError("tags must be a list of strings")
    artist = body.get("artist")
    if artist is not None and not isinstance(artist, str):
        raise CallerError("artist must be a did:key")
    limit = body.get("limit", 20)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise CallerError("limit must be a positive integer")
    timeout = body.get("timeout", SEARCH_TIMEOUT)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= MAX_SEARCH_TIMEOUT:
        raise CallerError(f"timeout must be a number of seconds in (0, {MAX_SEARCH_TIMEOUT:g}]")
    return Query.parse(words, artist or None, tags, limit), float(timeout)


def search_plan(body: dict[str, Any]) -> tuple[Query | None, float, AudioFilter, int]:
    """``search_request`` plus the audio filters ``bpm`` and ``key``: ``(query, timeout,
    filter, limit)``; ``query`` is ``None`` when a filter is all there is to search for
    (then only the library's analysed tracks are searched).  ``CallerError`` on bad input."""
    audio = AudioFilter.parse(body.get("bpm"), body.get("key"))
    if audio and not (body.get("q") or body.get("artist") or body.get("tags")):
        probe, timeout = search_request(body | {"tags": ["audio"]})  # limit and timeout checked alike
        return None, timeout, audio, probe.limit
    query, timeout = search_request(body)
    return query, timeout, audio, query.limit


def control_app(node: Node, token: str, port_of: Any, clock: Callable[[], float] | None = None) -> Starlette:
    """The ASGI app of the control listener; ``port_of()`` returns the bound port, ``clock()``
    (default ``node.clock``) the Unix time that stream credentials, login codes, session
    cookies, uploads and playlists are stamped and checked with."""
    from osp.apps.web.api import api_routes, following_view  # here: osp.apps.web builds on osp.apps.http's modules
    from osp.apps.web.routes import web_routes
    from osp.apps.web.uploads import Uploads

    clock = clock or node.clock
    uploads = Uploads(node.settings.data_dir / "uploads", clock)
    uploads.sweep()  # at startup: a day-old upload, or one a crash cut short
    outbound = anyio.CapacityLimiter(8)

    async def run_in_threadpool(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Outbound or long work (publish, resolve, fetch) on its own worker budget."""
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=outbound)
    started = time.monotonic()

    async def info(request: Request) -> Response:
        reach = await anyio.to_thread.run_sync(reachability_report, node)  # ports, external address, mapping
        dht = {"dhtNodes": reach["dhtNodes"], "reachability": reach} if reach is not None else {}
        return JSONResponse({**node.node_info(), "http": node.http_url, **dht})

    async def tracks(request: Request) -> Response:
        rows = await anyio.to_thread.run_sync(node.tracks)
        states = await anyio.to_thread.run_sync(node.library.file_states)
        creds = await anyio.to_thread.run_sync(Credentials(node.library).for_cids, [r.cid for r in rows])
        sound = await anyio.to_thread.run_sync(lambda: Analyses(node.library).get_many([r.id for r in rows]))
        flags = await anyio.to_thread.run_sync(flagged, node.library, [r.id for r in rows])
        return JSONResponse({"tracks": [library_entry(r, states)
                                        | {"c2pa": c.to_json() if (c := creds.get(r.cid)) else None,
                                           "analysis": sound[r.id].to_json() if r.id in sound else None,
                                           "duplicateOf": flags.get(r.id)}
                                        for r in rows]})

    async def search(request: Request) -> Response:
        query, timeout, audio, limit = search_plan(await json_body(request))
        return StreamingResponse(_search_lines(query, timeout, audio, limit), media_type="application/x-ndjson")

    async def _search_lines(query: Query | None, timeout: float, audio: AudioFilter, limit: int) -> AsyncIterator[bytes]:
        """NDJSON: ``{"result": …}`` per new or improved result, then ``{"done": summary}``."""
        from osp.node.analysis import filtered_search
        from osp.node.fingerprints import duplicate_mark
        from osp.node.search import result_json
        from osp.node.search import search as run_search

        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        def on_line(result: dict[str, Any]) -> None:
            line = result | duplicate_mark(node, str(result["id"]))
            loop.call_soon_threadsafe(lines.put_nowait, {"result": line})

        def on_result(result: Result) -> None:
            on_line(result_json(result))

        def work() -> None:
            try:
                if audio or query is None:
                    done = filtered_search(node, query, audio, timeout=timeout, on_result=on_line, limit=limit)
                else:
                    done = run_search(node, query, timeout=timeout, on_result=on_result).to_json()
                loop.call_soon_threadsafe(lines.put_nowait, {"done": done})
            except OspError as exc:
                loop.call_soon_threadsafe(lines.put_nowait, {"done": {"error": exc.to_json()}})
            finally:
                loop.call_soon_threadsafe(lines.put_nowait, None)

        job = asyncio.ensure_future(run_in_threadpool(work))
        while (item := await lines.get()) is not None:
            yield (json.dumps(item, ensure_ascii=False) + "\n").encode()
        await job

    def named_peers(body: dict[str, Any]) -> list[str]:
        """``peer``: one base URL or a list of at most 8."""
        peer = body.get("peer")
        peers = [peer] if isinstance(peer, str) else peer if isinstance(peer, list) else [] if peer is None else None
        if peers is None or len(peers) > 8 or not all(isinstance(p, str) and p for p in peers):
            raise CallerError("peer must be a node's base URL or a list of at most 8")
        return peers

    async def resolve(request: Request) -> Response:
        body = await json_body(request)
        peers = named_peers(body)
        track = await run_in_threadpool(node.resolve, str(body.get("track", "")), peers[0] if peers else None)
        return JSONResponse(track_summary(track.record))

    async def fetch(request: Request) -> Response:
        body = await json_body(request)
        peers = named_peers(body)
        if body.get("gateway"):
            track = await run_in_threadpool(
                node.fetch_from_gateway, str(body.get("track", "")), str(body["gateway"]), peers[0] if peers else None
            )
            return JSONResponse({"id": track.id, "title": track.record["title"], "state": "complete"})
        stall = float(body.get("stallTimeout", 60))
        transfer = await run_in_threadpool(
            lambda: node.fetch(str(body.get("track", "")), peers, stall_timeout=stall)
        )
        return JSONResponse(transfer.state.to_json())

    async def status(request: Request) -> Response:
        """``GET /api/status``: what ``osp status`` shows (rates in bytes/s, uptime in seconds)."""

        def collect() -> dict[str, Any]:
            engine = node.engine
            up, down, peers = engine.totals() if engine is not None else (0, 0, 0)
            states = node.transfer_states()
            return {
                "pid": os.getpid(), "dataDir": str(node.settings.data_dir), "http": node.http_url,
                "control": f"http://{request.url.netloc}", "share": node.share_url, "bittorrentPort": engine.listen_port if engine else None,
                "dht": node.settings.dht, "tracks": node.library.track_count(),
                "missing": node.library.missing_track_count(),
                "transfers": {"active": sum(s.state in ACTIVE_STATES for s in states),
                              "total": len(states)},
                "uploadRate": up, "downloadRate": down, "peers": peers,
                "uptime": round(time.monotonic() - started, 1),
                "cache": node.cache_usage().to_json(),  # fetched tracks' bytes against --cache-size
                "announce": node.discovery.stats().to_json(),  # DHT keys planned, announced, last time
                "reachability": reachability_report(node),  # ports, external address, port mapping, DHT nodes
                # DHT messages since start (bench/discovery.py counts them)
                "dhtMessages": dict(zip(("in", "out"), engine.dht_counters(), strict=True)) if engine else None,
            }

        return JSONResponse(await anyio.to_thread.run_sync(collect))

    async def transfers(request: Request) -> Response:
        return JSONResponse({"transfers": [s.to_json() for s in node.transfer_states()]})

    async def transfer(request: Request) -> Response:
        t = node.transfers.get(request.path_params["track_id"])
        if t is None:
            raise NotFoundError("no such transfer")
        return JSONResponse(t.state.to_json())

    async def cancel(request: Request) -> Response:
        body = await json_body(request)
        state = await anyio.to_thread.run_sync(node.cancel, str(body.get("track", "")))
        return JSONResponse(state.to_json())

    async def remove(request: Request) -> Response:
        body = await json_body(request)
        keep = body.get("keepFile", False)
        if not isinstance(keep, bool):
            raise CallerError("keepFile must be true or false")
        result = await run_in_threadpool(lambda: node.remove(str(body.get("track", "")), keep_file=keep))
        return JSONResponse(result)

    async def stream(request: Request) -> Response:
        source = await anyio.to_thread.run_sync(node.stream_source, request.path_params["track_id"])
        return ranged(request, source.size, source.mime, source.read)

    async def stream_url(request: Request) -> Response:
        body = await json_body(request)
        track_id = body.get("track")
        ttl = body.get("ttl", STREAM_TTL)
        if not isinstance(track_id, str) or not track_id or "/" in track_id:
            raise CallerError("track must be a track id")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            raise CallerError("ttl must be a positive number of seconds")
        credential = stream_credential(token, track_id, clock(), ttl)
        return JSONResponse({"url": f"/stream/{track_id}?t={credential}", "expires": int(credential.split(".")[0])})

    async def follow(request: Request) -> Response:
        body = await json_body(request)
        audio = body.get("audio")  # absent: a new follow gets records only, a follow again keeps its setting
        if audio is not None and not isinstance(audio, bool):
            raise CallerError("audio must be true or false")
        if set(body) - {"did", "audio"}:
            raise CallerError(f"unknown keys: {', '.join(sorted(set(body) - {'did', 'audio'}))}")
        row = await anyio.to_thread.run_sync(lambda: feeds.follow(node, str(body.get("did", "")), audio))
        entry = next((f for f in await anyio.to_thread.run_sync(feeds.following, node) if f["did"] == row.did), None)
        return JSONResponse(entry)

    async def unfollow(request: Request) -> Response:
        did = request.path_params["did"]
        await anyio.to_thread.run_sync(feeds.unfollow, node, did)
        return JSONResponse({"did": did, "unfollowed": True})

    async def following(request: Request) -> Response:
        return JSONResponse({"following": await anyio.to_thread.run_sync(following_view, node)})

    routes = [
        Route("/api/node", info),
        Route("/api/tracks", tracks),
        Route("/api/publish", publish_route(node, run_in_threadpool, uploads), methods=["POST"]),
        Route("/api/resolve", resolve, methods=["POST"]),
        Route("/api/fetch", fetch, methods=["POST"]),
        Route("/api/status", status),
        Route("/api/transfers", transfers),
        Route("/api/transfers/{track_id}", transfer),
        Route("/api/cancel", cancel, methods=["POST"]),
        Route("/api/remove", remove, methods=["POST"]),
        Route("/stream/{track_id}", stream, methods=["GET", "HEAD"]),
        Route("/api/stream-url", stream_url, methods=["POST"]),
        Route("/api/follow", follow, methods=["POST"]),
        Route("/api/follow/{did}", unfollow, methods=["DELETE"]),
        Route("/api/following", following),
        Route("/api/search", search, methods=["POST"]),
        *trust_routes(node),  # GET /api/trust, GET|PUT /api/quality-gate (osp.apps.http.trust)
        *api_routes(node, clock, uploads),
        *import_routes(node, run_in_threadpool),  # POST /api/import, /api/artwork (osp.apps.http.importing)
        *social_routes(node, run_in_threadpool),  # social records (osp.apps.http.social)
        *web_routes(token, clock),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(ControlGuard, token=token, port_of=port_of, clock=clock)])
    app.router.redirect_slashes = False
    return app
