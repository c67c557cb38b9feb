"""``GET /api/tracks/{id}/lineage?depth=&timeout=``: a track's remix family tree (issue 10).

``depth`` (0–8, default 8): levels walked each way; ``timeout`` (seconds, > 0 and ≤ 60,
default 20): the walk's deadline.  Answer: ``osp.node.lineage.lineage``'s object (the
tree of ``osp.provenance.lineage``, plus ``partial``, ``network``, ``dhtUnreachable`` and
``elapsed``); a root whose record is found nowhere answers 200 with ``"status":
"unknown"`` (its children may still be known).  A malformed id, depth or timeout: 400;
more than ``MAX_WALKS`` walks at once: 503 with ``Retry-After``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from osp.core.errors import CallerError
from osp.node.core import Node
from osp.node.lineage import DEFAULT_TIMEOUT, check_request, lineage
from osp.provenance.lineage import MAX_DEPTH

MAX_WALKS = 4  #: walks running at once (each holds a worker thread and its lookups); more get 503


def _number(raw: str | None, name: str, default: float, *, integer: bool) -> float:
    """A query parameter as a number (``default`` when absent); ``CallerError`` for
    anything but a short decimal (digits, one optional point when not ``integer``)."""
    if raw is None:
        return default
    digits = raw if integer else raw.replace(".", "", 1)
    if not (0 < len(raw) <= 8 and digits.isascii() and digits.isdigit()):
        raise CallerError(f"{name} is a {'whole ' if integer else ''}number")
    return int(raw) if integer else float(raw)


def lineage_route(node: Node) -> Callable[[Request], Awaitable[Response]]:
    """The route's handler (module doc); the walk runs on a worker thread."""

    gate = threading.BoundedSemaphore(MAX_WALKS)

    async def handler(request: Request) -> Response:
        q = request.query_params
        depth, timeout = check_request(int(_number(q.get("depth"), "depth", MAX_DEPTH, integer=True)),
                                       _number(q.get("timeout"), "timeout", DEFAULT_TIMEOUT, integer=False))
        track_id = request.path_params["track_id"]
        if not gate.acquire(blocking=False):
            return JSONResponse({"error": "busy", "message": f"{MAX_WALKS} lineage walks already run: try again"},
                                status_code=503, headers={"Retry-After": "2"})
        try:
            tree = await anyio.to_thread.run_sync(lambda: lineage(node, track_id, depth=depth, timeout=timeout))
        finally:
            gate.release()
        return JSONResponse(tree)

    return handler
