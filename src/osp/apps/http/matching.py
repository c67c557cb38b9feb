"""Fingerprint routes (issue 10, spec §9.7).

Peer listener:
  GET /osp/v0/match?fp=B64URL     does this node know this audio?  ``fp``: base64url (no
                                  padding) of 1…``MATCH_VALUES`` raw Chromaprint values
                                  (uint32 little-endian, ~0.124 s each; ≤ ~120 s of audio).
                                  200 ``{"matches": [{"record", "offset", "overlap", "score"}…]}``
                                  (≤ 10, best first); 400 on a missing, repeated, oversized or
                                  malformed ``fp`` or any other parameter; 503 + Retry-After
                                  when over the per-IP rate (``SearchGate``, shared with search).
Control listener:
  GET /api/tracks/{id}/duplicates?wait=S
                                  the publish check: fingerprint the track now unless done,
                                  waiting at most ``S`` seconds (0…30, default 10):
                                  ``{"id", "fingerprinted", "error", "duplicates": [...]}``, or
                                  ``{"id", "pending": true, "duplicates": []}`` when it takes longer.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from osp.core.errors import CallerError, NotFoundError
from osp.node import fingerprints as nfp
from osp.node.core import Node
from osp.provenance import fingerprint as fp

MAX_WAIT = 30.0  #: seconds the publish check may be asked to wait


def parse_match_params(items: list[tuple[str, str]]) -> fp.Values:
    """The values of a ``/osp/v0/match`` query string; ``CallerError`` (400) unless it is
    exactly one ``fp`` of base64url raw values, at most ``MATCH_VALUES`` of them."""
    names = [k for k, _ in items]
    if names != ["fp"]:
        raise CallerError("give exactly one parameter, fp (base64url of raw Chromaprint values)")
    values = fp.decode_param(items[0][1], max_values=nfp.MATCH_VALUES)
    if len(values) > nfp.MATCH_VALUES:
        raise CallerError(f"fp holds more than {nfp.MATCH_VALUES} values")
    return values


def match_route(node: Node) -> Route:
    """``GET /osp/v0/match`` for the peer listener."""

    async def match(request: Request) -> Response:
        values = parse_match_params(request.query_params.multi_items())  # CallerError: 400
        ip = request.client.host if request.client else ""
        retry = node.search_gate.enter(ip)
        if retry is not None:
            return JSONResponse({"error": "busy", "message": "too many queries: try again later"}, status_code=503,
                                headers={"Retry-After": str(retry)})
        try:
            body = await anyio.to_thread.run_sync(nfp.peer_answer, node.library, values)
        finally:
            node.search_gate.leave()
        return Response(body, media_type="application/json")

    return Route("/osp/v0/match", match, methods=["GET", "HEAD"])


def check_route(node: Node) -> Route:
    """``GET /api/tracks/{id}/duplicates`` for the control listener."""

    async def check(request: Request) -> Response:
        track_id = request.path_params["track_id"]
        try:
            wait = float(request.query_params.get("wait", "10"))
        except ValueError as exc:
            raise CallerError("wait is a number of seconds") from exc
        if not 0 <= wait <= MAX_WAIT:
            raise CallerError(f"wait is 0 to {MAX_WAIT:g} seconds")
        if node.library.track(track_id) is None:
            raise NotFoundError(f"no track {track_id[:80]} in the library")
        done = await anyio.to_thread.run_sync(nfp.wait_for_check, node, track_id, wait)
        return JSONResponse(done if done is not None else {"id": track_id, "pending": True, "duplicates": []})

    return Route("/api/tracks/{track_id}/duplicates", check)
