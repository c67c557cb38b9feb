"""Control routes of the web of trust and the quality gate (``osp.node.trust``).

  GET  /api/trust                     ``{"you", "identities": [{"did", "score", "relative", "rank"}…], "gate",
                                      "computed": {…}}``: the 20 most trusted identities (``?top=N``, ≤ 200)
  GET  /api/trust?did=DID             ``{"did", "score", "relative", "base", "rank", "of", "why": [str…]}``
                                      (``score``: PageRank share; ``relative``: over the typical trusted
                                      identity's, ``TrustScores.standing``)
  GET  /api/quality-gate              ``{"threshold": float, "lists": [did…]}`` (threshold: relative trust,
                                      0 to 10; 0 hides no one for low trust, 1 hides identities below typical
                                      trust; flags by you, a list or a trusted identity hide at any value)
  PUT  /api/quality-gate              the same object (JSON; a field left out keeps its value) →
                                      the new settings; the scores are recomputed off the request path

Scores read the node's cached snapshot (never computed on a running node's request path);
``score`` is ``null`` until the first computation ends.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from osp.apps.http.common import json_body
from osp.core.errors import CallerError
from osp.node.core import Node
from osp.node.feeds import check_did
from osp.node.trust import trust_report
from osp.social.gate import GateSettings

MAX_TOP = 200  #: identities ``GET /api/trust?top=`` lists at most


def trust_routes(node: Node) -> list[Route]:
    """``/api/trust`` and ``/api/quality-gate`` (module docstring)."""

    async def trust(request: Request) -> Response:
        did = request.query_params.get("did")
        top = request.query_params.get("top", "20")
        if not (top.isascii() and top.isdigit() and 1 <= int(top) <= MAX_TOP):
            raise CallerError(f"top must be an integer from 1 to {MAX_TOP}")
        if did is not None:
            did = check_did(did)
        report = await anyio.to_thread.run_sync(lambda: trust_report(node, did, top=int(top)))
        return JSONResponse(report)

    async def gate(request: Request) -> Response:
        if request.method == "PUT":
            if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                return JSONResponse({"error": "caller-error", "message": "PUT bodies here must be application/json"},
                                    415)
            body: dict[str, Any] = await json_body(request)
            current = await anyio.to_thread.run_sync(node.trust.gate)
            wanted = GateSettings.from_json(current.to_json() | body)
            await anyio.to_thread.run_sync(node.trust.set_gate, wanted)
        return JSONResponse((await anyio.to_thread.run_sync(node.trust.gate)).to_json())

    return [
        Route("/api/trust", trust),
        Route("/api/quality-gate", gate, methods=["GET", "PUT"]),
    ]
