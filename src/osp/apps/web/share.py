"""The share listener: share pages that play a track in any browser, and the node's
WebTorrent tracker.

An origin of its own (``Settings.share``, default ``0.0.0.0:8789``): the share page runs
script and registers a service worker at its origin's root, so it can live neither on
the peer listener (peer bytes are served there under ``CSP: sandbox`` and must never run
as a page) nor on the control listener (the user's app and API; design.md §4).  Nothing
here is private: no cookie, no API, no state a request can change.

Routes:
  GET /t/{track_id}      the share page (``static/share/share.html``: one file for every id;
                         the page reads the id from its URL — nothing is templated)
  GET /share/{path}      the share page's static files (``static/share/``)
  GET /sw.min.js         WebTorrent's service worker, at the root scope
  GET /config.json       ``{"peer": <Settings.public_url or null>, "peerPort": <the peer
                         listener's port>, "tracker": "/announce"}``: where the page finds
                         the node's records, torrents and web seed (with ``peer`` null:
                         ``location.protocol//location.hostname:peerPort``)
  GET /announce          WebSocket: the WebTorrent tracker (``bittorrent-tracker`` 11 wire
                         protocol, ``osp.discovery.wstracker``; adapter ``tracker_socket``)

Every HTTP answer carries ``SHARE_HEADERS``: a strict Content-Security-Policy (scripts,
styles and workers from this origin only; connections to any http(s)/ws(s) origin, since
the page reaches the node's peer listener on another port and WebRTC signalling),
``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from osp.apps.web.tracker_socket import TrackerHub
from osp.node.core import Node

__all__ = ["SHARE_CSP", "SHARE_HEADERS", "share_app", "share_dir"]

SHARE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss: http: https:; "
             "media-src 'self' blob:; img-src 'self' data: blob:; worker-src 'self'; object-src 'none'; "
             "base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
SHARE_HEADERS = {
    "Content-Security-Policy": SHARE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def share_dir() -> Path:
    """The share page's assets inside the installed package (``osp/apps/web/static/share``)."""
    return Path(str(files("osp.apps.web") / "static" / "share"))


class _ShareHeaders:
    """ASGI wrapper: ``SHARE_HEADERS`` on every HTTP response (replacing any the route set)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.raw = [(k.lower().encode(), v.encode()) for k, v in SHARE_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        names = {k for k, _ in self.raw}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *self.raw]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _peer_port(node: Node) -> int | None:
    """The bound port of the node's peer listener (from ``Node.http_url``), or ``None``."""
    if not node.http_url:
        return None
    try:
        return urlsplit(node.http_url).port
    except ValueError:
        return None


def share_app(node: Node, hub: TrackerHub) -> Any:
    """The ASGI app of the share listener for ``node``, its tracker on ``hub``."""
    assets = share_dir()

    async def page(request: Request) -> Response:
        path = assets / "share.html"
        if not path.is_file():
            return PlainTextResponse("the share page is not installed", status_code=404)
        return FileResponse(path, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    async def service_worker(request: Request) -> Response:
        path = assets / "vendor" / "sw.min.js"
        if not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(path, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})

    async def config(request: Request) -> Response:
        public = node.settings.public_url
        return JSONResponse({"peer": public.rstrip("/") if public else None, "peerPort": _peer_port(node),
                             "tracker": "/announce"}, headers={"Cache-Control": "no-store"})

    app = Starlette(routes=[
        Route("/t/{track_id}", page, methods=["GET", "HEAD"]),
        Route("/sw.min.js", service_worker, methods=["GET", "HEAD"]),
        Route("/config.json", config, methods=["GET", "HEAD"]),
        WebSocketRoute("/announce", hub.serve),
        Mount("/share", StaticFiles(directory=assets, check_dir=False)),
    ])
    return _ShareHeaders(app)
