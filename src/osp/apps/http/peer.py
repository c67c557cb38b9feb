"""The peer listener: what any other node, browser or gateway client may ask.

Read-only, published data only, ``Access-Control-Allow-Origin: *``, every answer with
``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy: sandbox`` so peer
bytes can never run as a page (design.md §4).

Routes (OSP v0.1 HTTP API):
  GET /osp/v0/node                    node software, protocol and BitTorrent port
  GET /osp/v0/tracks                  ``{"tracks": [record…], "total": n}`` (``limit``, ``offset``, ``infohash``)
  GET /osp/v0/tracks/{id}             one signed record (``application/ld+json``)
  GET /osp/v0/tracks/{id}/torrent     its torrent, with this node's web seed
  GET /osp/v0/tracks/{id}/social      ``{"records": [record…], "truncated": bool}``: the signed comments, likes,
                                      flags about it (and tombstones of such), newest first, capped (spec §10.5;
                                      ``SocialService.peer_answer``); rate limited per IP like search
  GET /osp/v0/search                  ``{"results": [record…], "truncated": bool}`` (``q``, ``artist``,
                                      ``tag`` repeatable, ``parent`` (a track id: its remixes …), ``limit``;
                                      spec §9; 400 on bad parameters)
  GET /osp/v0/match                   ``{"matches": [{"record", "offset", "overlap", "score"}…]}`` (``fp``:
                                      a raw Chromaprint excerpt; spec §9.7; ``osp.apps.http.matching``)
  GET|HEAD /ipfs/{cid}                trustless gateway: ``?format=raw|car`` or file bytes with Range
  GET /routing/v1/...                 404 (no delegated routing here; clients fall back)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from osp.apps.http.common import call_with_headers, ranged
from osp.apps.http.matching import match_route
from osp.core.errors import CorruptDataError, NotFoundError
from osp.discovery.search import Query
from osp.distribution.gateway import CAR_TYPE, RAW_TYPE, Gateway
from osp.node.core import Node
from osp.node.search import peer_answer
from osp.node.social import check_track_id

PEER_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, Cache-Control, Accept, Content-Type",
    "Access-Control-Expose-Headers": "Content-Range, Content-Length, Accept-Ranges, X-Ipfs-Path, X-Ipfs-Roots",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
}


class PeerHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={**PEER_HEADERS, "Access-Control-Max-Age": "86400"})
        if request.method not in ("GET", "HEAD"):
            return JSONResponse({"error": "method", "message": "the peer API is read-only"}, 405, PEER_HEADERS)
        return await call_with_headers(request, call_next, PEER_HEADERS)


def peer_app(node: Node) -> Starlette:
    """The ASGI app of the peer listener for ``node``.

    Bodies are sent by async generators: file and CAR chunks are read on a worker
    thread one at a time, and the upload cap waits on the event loop
    (``TokenBucket.consume_async``), so a slow or rate-limited download holds no
    worker thread.  Unexpected errors become a bare 500 with ``PEER_HEADERS``.
    """
    gateway = Gateway(node.library, node.settings.data_dir, on_missing=node.file_missing)
    bucket = node.upload_bucket

    async def throttled(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
        """``chunks`` pulled on a worker thread, each released under the upload cap."""
        try:
            while True:
                data = await anyio.to_thread.run_sync(next, chunks, None)
                if data is None:
                    return
                if bucket is not None:
                    await bucket.consume_async(len(data))
                yield data
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def record_response(record: bytes) -> Response:
        return Response(record, media_type="application/ld+json")

    async def node_info(request: Request) -> Response:
        return JSONResponse(node.node_info())

    async def tracks(request: Request) -> Response:
        try:
            limit = max(1, min(int(request.query_params.get("limit", "100")), 1000))
            offset = max(0, min(int(request.query_params.get("offset", "0")), 2**62))  # SQLite INTEGER
        except ValueError:
            return JSONResponse({"error": "caller-error", "message": "limit and offset are integers"}, 400)
        infohash = request.query_params.get("infohash")
        lib = node.library  # only tracks whose file is intact: a peer must never be offered what we cannot serve
        rows = lib.tracks_by_infohash(infohash.lower(), available=True) if infohash else lib.tracks(
            limit, offset, available=True)
        body = (b'{"tracks":[' + b",".join(r.record for r in rows) + b'],"total":'
                + str(lib.track_count(available=True)).encode() + b"}")
        return Response(body, media_type="application/json")

    async def track(request: Request) -> Response:
        row = node.library.track(request.path_params["track_id"], available=True)
        if row is None:
            raise NotFoundError(f"no track {request.path_params['track_id']} here")
        return record_response(row.record)

    async def torrent(request: Request) -> Response:
        if node.library.track(request.path_params["track_id"], available=True) is None:
            raise NotFoundError(f"no track {request.path_params['track_id']} here")
        data = node.metainfo_for(request.path_params["track_id"])
        return Response(data, media_type="application/x-bittorrent")

    async def social(request: Request) -> Response:
        track_id = check_track_id(request.path_params["track_id"])  # CallerError (400)
        ip = request.client.host if request.client else ""
        retry = node.social.gate.enter(ip)  # like search: a few at once, a rate per IP
        if retry is not None:
            return JSONResponse({"error": "busy", "message": "too many requests: try again later"}, status_code=503,
                                headers={"Retry-After": str(retry)})
        try:
            body = await anyio.to_thread.run_sync(node.social.peer_answer, track_id)
        finally:
            node.social.gate.leave()
        return Response(body, media_type="application/json")

    async def search(request: Request) -> Response:
        query = Query.from_params(request.query_params.multi_items())  # CallerError (400) on bad parameters
        ip = request.client.host if request.client else ""
        retry = node.search_gate.enter(ip)  # 2 at once, a rate per IP: a flood cannot stall the node
        if retry is not None:
            return JSONResponse({"error": "busy", "message": "too many searches: try again later"}, status_code=503,
                                headers={"Retry-After": str(retry)})
        try:
            body = await anyio.to_thread.run_sync(peer_answer, node, query)
        finally:
            node.search_gate.leave()
        return Response(body, media_type="application/json")

    async def ipfs(request: Request) -> Response:
        cid = gateway.parse_cid(request.path_params["cid"])
        fmt = request.query_params.get("format", "")
        accept = request.headers.get("accept", "")
        ipfs_headers = {"X-Ipfs-Path": f"/ipfs/{cid}", "X-Ipfs-Roots": str(cid), "Cache-Control": "public, max-age=29030400, immutable", "Etag": f'"{cid}"'}
        if fmt == "raw" or (not fmt and RAW_TYPE in accept):
            data = gateway.block(cid)
            if bucket is not None:
                await bucket.consume_async(len(data))
            return Response(data if request.method == "GET" else b"", media_type=RAW_TYPE, headers={**ipfs_headers, "Content-Disposition": f'attachment; filename="{cid}.bin"'})
        if fmt == "car" or (not fmt and CAR_TYPE in accept):
            hdrs = {**ipfs_headers, "Content-Disposition": f'attachment; filename="{cid}.car"'}
            gateway.check_root(cid)  # unknown root or missing file: a 404 before the first byte
            if request.method == "HEAD":
                return Response(media_type=f"{CAR_TYPE}; version=1", headers=hdrs)
            return StreamingResponse(throttled(gateway.car(cid)), media_type=f"{CAR_TYPE}; version=1", headers=hdrs)
        if fmt:
            return JSONResponse({"error": "caller-error", "message": f"unsupported format {fmt!r} (raw, car)"}, 400)
        stored = gateway.file(cid)

        def chunks(first: int, last: int) -> Iterator[bytes]:
            with open(stored.path, "rb") as f:
                f.seek(first)
                left = last - first + 1
                while left > 0:
                    data = f.read(min(64 * 1024, left))
                    if not data:  # the file shrank after the headers went out: abort, never end short
                        node.file_missing(str(cid))
                        raise CorruptDataError(f"the file {cid} ended early on disk; response aborted")
                    left -= len(data)
                    yield data

        return ranged(request, stored.size, stored.mime, lambda first, last: throttled(chunks(first, last)),
                      ipfs_headers)

    async def no_routing(request: Request) -> Response:
        return JSONResponse({"error": "not-found", "message": "no delegated routing on this node"}, 404)

    routes = [
        Route("/osp/v0/node", node_info, methods=["GET", "HEAD"]),
        Route("/osp/v0/tracks", tracks, methods=["GET", "HEAD"]),
        Route("/osp/v0/tracks/{track_id}", track, methods=["GET", "HEAD"]),
        Route("/osp/v0/tracks/{track_id}/torrent", torrent, methods=["GET", "HEAD"]),
        Route("/osp/v0/tracks/{track_id}/social", social, methods=["GET", "HEAD"]),
        Route("/osp/v0/search", search, methods=["GET", "HEAD"]),
        match_route(node),
        Route("/ipfs/{cid}", ipfs, methods=["GET", "HEAD"]),
        Route("/routing/v1/{rest:path}", no_routing, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(PeerHeaders)])
    app.router.redirect_slashes = False  # a redirect would reflect the Host header into Location
    return app
