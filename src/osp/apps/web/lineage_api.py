"""``GET /api/tracks/{id}/lineage?depth=&timeout=``: a track's remix family tree (issue 10).

``depth`` (0–8, default 8): levels walked each way; ``timeout`` (seconds, > 0 and ≤ 60,
default 20): the walk's deadline.  Answer: ``osp.node.lineage.lineage``'s object (the
tree of ``osp.provenance.lineage``, plus ``partial``, ``network``, ``dhtUnreachable`` and
``elapsed``); a root whose record is found nowhere answers 200 with ``"status":
"unknown"`` (its children may still be known).  A malformed id, depth or timeout: 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from osp.core.errors import CallerError
from osp.node.core import Node
from osp.node.lineage import DEFAULT_TIMEOUT, check_request, lineage
from osp.provenance.lineage import MAX_DEPTH


def _number(raw: str | None, name: str, default: float, *, integer: bool) -> float:
    if raw is None:
        return default
    if len(raw) > 8 or not raw.isascii() or not raw.replace(".", "", 0 if integer else 1).isdigit():
        raise CallerError(f"{name} is a {'whole ' if integer else ''}number")
    return int(raw) if integer else float(raw)


def lineage_route(node: Node) -> Callable[[Request], Awaitable[Response]]:
    """The route's handler (module doc); the walk runs on a worker thread."""

    async def handler(request: Request) -> Response:
        q = request.query_params
        depth, timeout = check_request(int(_number(q.get("depth"), "depth", MAX_DEPTH, integer=True)),
                                       _number(q.get("timeout"), "timeout", DEFAULT_TIMEOUT, integer=False))
        track_id = request.path_params["track_id"]
        tree = await anyio.to_thread.run_sync(lambda: lineage(node, track_id, depth=depth, timeout=timeout))
        return JSONResponse(tree)

    return handler
