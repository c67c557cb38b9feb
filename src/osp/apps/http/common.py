"""Helpers shared by both listeners: error mapping and Range responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from osp.core.errors import OspError
from osp.distribution.gateway import RangeNotSatisfiable, parse_range

Handler = Callable[[Request], Awaitable[Response]]


def error_response(exc: OspError) -> JSONResponse:
    """The one place an ``OspError`` becomes an HTTP answer (status from the error class)."""
    return JSONResponse(exc.to_json(), status_code=exc.http_status)


async def call_with_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]],
                            headers: dict[str, str]) -> Response:
    """Run the route, map an ``OspError`` it raises, and add the listener's ``headers``."""
    try:
        response = await call_next(request)
    except OspError as exc:
        response = error_response(exc)
    response.headers.update(headers)
    return response


def ranged(
    request: Request,
    size: int,
    mime: str,
    read: Callable[[int, int], Iterator[bytes]],
    headers: dict[str, str] | None = None,
) -> Response:
    """200 or 206 (single range) over ``read(first, last)``; 416 past the end; HEAD has no body."""
    base = {"Accept-Ranges": "bytes", **(headers or {})}
    try:
        rng = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={**base, "Content-Range": f"bytes */{size}"})
    first, last = rng if rng else (0, size - 1)
    status = 206 if rng else 200
    hdrs = {**base, "Content-Length": str(max(0, last - first + 1))}
    if rng:
        hdrs["Content-Range"] = f"bytes {first}-{last}/{size}"
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=hdrs, media_type=mime)
    return StreamingResponse(read(first, last), status_code=status, headers=hdrs, media_type=mime)
