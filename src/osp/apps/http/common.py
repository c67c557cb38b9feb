"""Helpers shared by both listeners: error mapping, bounded bodies, JSON bodies and Range responses."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from osp.core.errors import CallerError, IntegrityError, OspError
from osp.distribution.gateway import RangeNotSatisfiable, parse_range
from osp.records.canonical import strict_loads

Handler = Callable[[Request], Awaitable[Response]]
log = logging.getLogger("osp.http")


class BodyTooLarge(CallerError):
    """A request body is larger than the route accepts (HTTP 413)."""

    code = "too-large"
    http_status = 413


class BodyIncomplete(CallerError):
    """The client went away, or was cut off by the listener's body deadline, before its
    request body was in (HTTP 408; nobody is left to read it, and nothing is logged)."""

    code = "incomplete-body"
    http_status = 408


def error_response(exc: OspError) -> JSONResponse:
    """The one place an ``OspError`` becomes an HTTP answer (status from the error class)."""
    return JSONResponse(exc.to_json(), status_code=exc.http_status)


async def call_with_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]],
                            headers: dict[str, str]) -> Response:
    """Run the route, map an ``OspError`` it raises, and add the listener's ``headers``.

    Any other exception becomes a bare 500 (``{"error": "internal"}``) with the same
    headers and one log line, never a traceback.
    """
    try:
        response = await call_next(request)
    except OspError as exc:
        response = error_response(exc)
    except Exception as exc:  # noqa: BLE001 - the edge: nothing unexpected may leak
        log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, str(exc)[:200])
        response = JSONResponse({"error": "internal", "message": "internal error"}, status_code=500)
    response.headers.update(headers)
    return response


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read incrementally; ``BodyTooLarge`` past ``limit`` bytes.

    A ``Content-Length`` over ``limit`` is refused before a byte is read; a client that
    disconnects (or is cut off by ``Limits.body_timeout``) mid-body raises ``BodyIncomplete``.
    """
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and (len(length) > 18 or int(length) > limit):
        raise BodyTooLarge(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"the request body is larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise BodyIncomplete("the request body did not arrive in time") from exc
    return b"".join(chunks)


class BodyCutShort(Exception):
    """A response body failed after its headers were sent (the track's transfer was
    cancelled, a piece never came): the listener ends the connection without a traceback
    (``listener.CloseUnreadBodies``); the client sees a short body, as on a dropped link."""


def _guarded(chunks: Iterator[bytes] | AsyncIterator[bytes], path: str) -> Iterator[bytes] | AsyncIterator[bytes]:
    """``chunks`` with an ``OspError``/``OSError`` after the first byte turned into one log
    line and ``BodyCutShort``."""
    def cut(exc: Exception) -> BodyCutShort:
        log.warning("%s: body cut short: %s", path, str(exc)[:200])
        return BodyCutShort(str(exc))

    if isinstance(chunks, AsyncIterator):
        async def agen() -> AsyncIterator[bytes]:
            try:
                async for chunk in chunks:
                    yield chunk
            except (OspError, OSError) as exc:
                raise cut(exc) from exc

        return agen()

    def gen() -> Iterator[bytes]:
        try:
            yield from chunks
        except (OspError, OSError) as exc:
            raise cut(exc) from exc

    return gen()


def ranged(
    request: Request,
    size: int,
    mime: str,
    read: Callable[[int, int], Iterator[bytes] | AsyncIterator[bytes]],
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
    return StreamingResponse(_guarded(read(first, last), request.url.path[:120]), status_code=status, headers=hdrs,
                             media_type=mime)


async def json_body(request: Request) -> dict[str, Any]:
    """The JSON object of a control POST body (every POST route reads it here).  Malformed
    JSON, a body too deep or too large is the caller's fault: ``CallerError`` (400), not the
    ``IntegrityError`` (422) ``strict_loads`` raises for a peer's bytes."""
    try:
        body = strict_loads(await read_body(request, 1024 * 1024), max_bytes=1024 * 1024, max_depth=16)
    except IntegrityError as exc:
        raise CallerError(f"the request body is not valid JSON: {exc.message}") from exc
    if not isinstance(body, dict):
        raise CallerError("the request body must be a JSON object")
    return body
