"""The control listener's gate: Host, Origin, credentials and body type, before any route runs.

Rules, in order (design.md §4; issue 9 adds the web app's session cookie):

1. ``Host`` must be a loopback name or IP with the bound port (DNS rebinding), else 403.
2. An ``Origin`` header, when present, must be the control origin itself, else 403.
3. Credentials, any one of:
   - ``Authorization: Bearer <api-token>`` (the CLI, scripts);
   - a stream credential ``?t=`` on ``GET|HEAD /stream/{id}`` for that one track (players);
   - the ``osp_session`` cookie (the web app), unless the browser says the request comes
     from another origin of the same site or another site (``Sec-Fetch-Site``:
     ``same-site``/``cross-site``; a share page on another port of 127.0.0.1 is
     "same-site", so ``SameSite=Strict`` alone would let its requests carry the cookie).
   ``GET|HEAD /login`` needs none (it turns a one-time code into the cookie).
   Without credentials: 401, as a small HTML page ("Open the app with ``osp ui``") for a
   page navigation, as JSON otherwise.
4. A cookie-authenticated request whose method is not GET/HEAD must carry ``Origin``
   (CSRF); bearer-token clients send none and need none.
5. ``POST /api/login-link`` takes the bearer token only (a page cannot mint logins).
6. POST bodies are ``application/json`` (415 otherwise), but ``POST /api/upload``, whose
   body is ``application/octet-stream``.

Every answer carries ``CONTROL_HEADERS`` (strict CSP, ``no-store``, ``no-referrer``,
``nosniff``, ``Cross-Origin-Resource-Policy: same-origin``); the app's assets (``/`` and
``/app/…``) get ``Cache-Control: no-cache`` instead of ``no-store``.  The route knows how it
was authenticated from ``request.state.auth`` (``"bearer"``, ``"stream"``, ``"cookie"`` or
``None`` on ``/login``).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from osp.apps.http.common import call_with_headers
from osp.apps.http.credentials import SESSION_COOKIE, check_session, check_stream_credential
from osp.core.settings import is_loopback_host

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
"""The control listener's Content-Security-Policy: no inline script or style, no eval, no
other origin; the page cannot be framed."""

CONTROL_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# A refused request (401/403/413/415) ends its connection: its body is never waited for or drained.
REFUSED_HEADERS = {**CONTROL_HEADERS, "Connection": "close"}

LOGIN_PATH = "/login"
UPLOAD_PATH = "/api/upload"
BEARER_ONLY = frozenset({"/api/login-link"})

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main><h1>{title}</h1><p>{message}</p></main></body></html>
"""


def html_page(status: int, title: str, message_html: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A small fixed HTML page (no data from the request in it), with the control headers."""
    return HTMLResponse(_PAGE.format(title=title, message=message_html), status,
                        {**REFUSED_HEADERS, **(headers or {})})


def is_navigation(request: Request) -> bool:
    """A browser loading a page (GET/HEAD of ``/``, ``Accept: text/html`` or ``Sec-Fetch-Dest: document``)."""
    if request.method not in ("GET", "HEAD"):
        return False
    return (request.url.path == "/" or "text/html" in request.headers.get("accept", "")
            or request.headers.get("sec-fetch-dest") == "document")


def is_asset(path: str) -> bool:
    """The web app's own files: ``/`` and ``/app/…``."""
    return path == "/" or path.startswith("/app/")


class ControlGuard(BaseHTTPMiddleware):
    """Host, Origin, credential and body-type checks before any route runs (module doc).

    ``port_of()`` returns the bound port; ``clock()`` the Unix time that stream
    credentials and session cookies are checked against."""

    def __init__(self, app: Any, token: str, port_of: Any, clock: Callable[[], float] = time.time) -> None:
        super().__init__(app)
        self.token = token
        self.port_of = port_of
        self.clock = clock

    def _stream_credential_ok(self, request: Request) -> bool:
        """A ``?t=`` stream credential for exactly this ``/stream/{id}`` (GET/HEAD only)."""
        path = request.url.path
        credential = request.query_params.get("t", "")
        if not credential or not path.startswith("/stream/") or request.method not in ("GET", "HEAD"):
            return False
        track_id = path[len("/stream/"):]
        return bool(track_id) and "/" not in track_id and check_stream_credential(
            self.token, credential, track_id, self.clock())

    def _session_ok(self, request: Request) -> bool:
        """A valid ``osp_session`` cookie on a request the browser does not mark as cross-origin."""
        value = request.cookies.get(SESSION_COOKIE, "")
        if not value or request.headers.get("sec-fetch-site") in ("same-site", "cross-site"):
            return False
        return check_session(self.token, value, self.clock())

    def authenticate(self, request: Request) -> str | None:
        """``"bearer"``, ``"stream"``, ``"cookie"`` or ``None``."""
        given = request.headers.get("authorization", "")
        supplied = given[7:] if given.lower().startswith("bearer ") else ""
        if supplied and hmac.compare_digest(supplied.encode(), self.token.encode()):
            return "bearer"
        if self._stream_credential_ok(request):
            return "stream"
        if self._session_ok(request):
            return "cookie"
        return None

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        host_header = request.headers.get("host", "")
        host, _, port = host_header.rpartition(":")
        host = host.strip("[]")
        if not host or not is_loopback_host(host) or port != str(self.port_of()):
            return JSONResponse({"error": "forbidden", "message": "bad Host header"}, 403, REFUSED_HEADERS)
        origin = request.headers.get("origin")
        if origin is not None and origin != f"http://{host_header}":
            return JSONResponse({"error": "forbidden", "message": "cross-origin request refused"}, 403, REFUSED_HEADERS)
        path, method = request.url.path, request.method
        auth = None if path == LOGIN_PATH and method in ("GET", "HEAD") else self.authenticate(request)
        request.state.auth = auth
        if auth is None and path != LOGIN_PATH:
            if is_navigation(request):
                return html_page(401, "Not logged in", "Open the app with <code>osp ui</code> (it opens this "
                                 "page with a one-time login link).")
            return JSONResponse({"error": "unauthorized", "message": "missing or wrong API token"}, 401,
                                {**REFUSED_HEADERS, "WWW-Authenticate": "Bearer"})
        if auth == "cookie" and method not in ("GET", "HEAD") and origin is None:
            return JSONResponse({"error": "forbidden", "message": "the Origin header is required"}, 403,
                                REFUSED_HEADERS)
        if path in BEARER_ONLY and auth != "bearer":
            return JSONResponse({"error": "forbidden", "message": "this route takes the API token only"}, 403,
                                REFUSED_HEADERS)
        if method == "POST":
            wanted = "application/octet-stream" if path == UPLOAD_PATH else "application/json"
            if request.headers.get("content-type", "").split(";")[0].strip().lower() != wanted:
                return JSONResponse({"error": "caller-error", "message": f"POST bodies here must be {wanted}"},
                                    415, REFUSED_HEADERS)
        headers = {**CONTROL_HEADERS, "Cache-Control": "no-cache"} if is_asset(path) else CONTROL_HEADERS
        response = await call_with_headers(request, call_next, headers)
        if response.status_code == 413:
            response.headers["Connection"] = "close"
        return response
