"""The web app's routes on the control listener: login, logout and the app's files.

Routes (``osp.apps.http.guard`` checks Host, Origin and credentials first):
  POST /api/login-link      bearer token only → ``{"url": "http://<host:port>/login?code=…", "expires": unix}``
  GET  /login?code=…        no credentials needed: a valid one-time code → 303 to ``/`` with the
                            ``osp_session`` cookie (``HttpOnly; SameSite=Strict; Path=/``, 30 days);
                            a used, expired or forged code → 403 HTML page
  POST /api/logout          ``{}`` → ``{"loggedOut": true}`` and the cookie cleared
  GET  /                    ``static/app/index.html``
  GET  /app/{path}          files under ``static/app/`` (Starlette ``StaticFiles``)

The code travels only in the link's query string: it is never logged (the listener has no
access log; errors log the path only), the 303 takes it out of the address bar, and every
page is served with ``Referrer-Policy: no-referrer``.  A code is good once, for
``LOGIN_CODE_TTL`` (120 s).  The cookie holds no state on the node (``session_value``); logging
out clears it in the browser, and replacing ``api-token`` ends every session.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from osp.apps.http.credentials import SESSION_COOKIE, SESSION_TTL, LoginCodes, session_value
from osp.apps.http.guard import html_page

#: Content types forced for the app's files (the platform's ``mimetypes`` table may say
#: ``application/javascript`` or lack an entry); anything else comes from ``mimetypes``.
MIME_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".html": "text/html; charset=utf-8",
    ".woff2": "font/woff2",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def static_dir(name: str) -> Path:
    """The packaged asset folder ``static/<name>`` of ``osp.apps.web`` (``app`` or ``share``).

    The package must be installed as files (a wheel or an editable install, not a zip)."""
    return Path(str(importlib.resources.files("osp.apps.web") / "static" / name))


class AppFiles(StaticFiles):
    """``StaticFiles`` with the content types of ``MIME_TYPES`` (no symlinks followed, no
    directory listings, no path handling of our own)."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        mime = MIME_TYPES.get(Path(str(full_path)).suffix.lower())
        if mime is not None:
            response.headers["content-type"] = mime
        return response


def session_cookie(value: str, max_age: int) -> str:
    """The ``Set-Cookie`` value of the session (``max_age`` 0 clears it)."""
    return f"{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"


def web_routes(token: str, clock: Callable[[], float], app_dir: Path | None = None) -> list[BaseRoute]:
    """The routes of the module doc; ``clock()``: Unix seconds (codes, cookies);
    ``app_dir``: the app's files (default: the packaged ``static/app``)."""
    codes = LoginCodes()
    files = app_dir or static_dir("app")

    async def login_link(request: Request) -> Response:
        code, expires = codes.issue(clock())
        host = request.headers["host"]  # checked by the guard: a loopback name with our port
        return JSONResponse({"url": f"http://{host}/login?code={code}", "expires": int(expires)})

    async def login(request: Request) -> Response:
        if request.method == "HEAD":  # a link preview must not use the code up
            return Response(status_code=200, media_type=MIME_TYPES[".html"])
        if not codes.redeem(request.query_params.get("code", ""), clock()):
            return html_page(403, "Login link expired",
                             "This login link has expired or was already used: run <code>osp ui</code> again.")
        response = RedirectResponse("/", status_code=303)
        response.headers.append("Set-Cookie", session_cookie(session_value(token, clock()), SESSION_TTL))
        return response

    async def logout(request: Request) -> Response:
        response = JSONResponse({"loggedOut": True})
        response.headers.append("Set-Cookie", session_cookie("", 0))
        return response

    async def index(request: Request) -> Response:
        page = files / "index.html"
        if not page.is_file():
            return html_page(404, "Web app missing", "This build of osp-node ships without the web app.")
        return FileResponse(page, media_type=MIME_TYPES[".html"])

    return [
        Route("/api/login-link", login_link, methods=["POST"]),
        Route("/login", login, methods=["GET", "HEAD"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/", index, methods=["GET", "HEAD"]),
        Mount("/app", app=AppFiles(directory=files, check_dir=False), name="app"),
    ]
