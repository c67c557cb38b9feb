"""Control API of bulk import and cover art (issue 10).

Routes:
  POST /api/import            ``{"paths": [folder or file…], "recursive"?: bool (default true), "hybrid"?,
                              "title"?, "artistName"?, "album"?, "license"?, "released"?, "tags"?,
                              "provenance"?, "artwork"?, "lyrics"?}`` (the ``POST /api/publish`` fields:
                              they apply to every file and win over its tags) → NDJSON, one line per
                              event (``osp.node.bulk.event_json``): ``{"planned"}``, ``{"reading"}``
                              (at most every 0.1 s), one object per file ``{"file", "status", …}``, and
                              last ``{"summary": {…}, "status": 200}`` (or ``{"error", "message",
                              "status"}`` if the run could not go on).  A slow reader slows the run;
                              it stops between files when the client goes away (what is published stays).  Publishes are one at a
                              time (``Node.publish``): two imports interleave, each skipping what the
                              other published.
  POST /api/artwork           ``{"path": image file}`` → ``{"cid", "mime", "width", "height", "size"}``: the
                              image checked (JPEG/PNG/WebP by magic bytes, ≤ 4 MiB) and stored; its CID
                              is what ``artwork`` of a publish takes (``osp publish --artwork-file``).
  GET  /api/artwork/{cid}     the image bytes with their type (``nosniff``, ``Content-Security-Policy:
                              sandbox``); a fetched track's artwork is fetched first, verified by CID
                              (``osp.node.artwork.ensure_artwork``); 404 ``not-found`` otherwise.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from osp.apps.http.common import json_body
from osp.apps.http.publishing import metadata_from
from osp.apps.http.shapes import track_summary
from osp.content.artwork import read_image
from osp.core.errors import CallerError, OspError
from osp.node.artwork import ensure_artwork, store_image
from osp.node.bulk import FileDone, ImportEvent, Reading, event_json, import_paths
from osp.node.core import Node

log = logging.getLogger(__name__)

MAX_ROOTS = 256  #: folders and files named in one import
MAX_QUEUED = 64  #: NDJSON lines waiting for a slow client before the import waits for it
ARTWORK_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
                   "Cache-Control": "private, max-age=31536000, immutable"}


def artwork_url(record: dict[str, Any]) -> str | None:
    """``/api/artwork/{cid}`` of a record's ``artwork`` (control origin), or ``None``."""
    cid = record.get("artwork")
    return f"/api/artwork/{cid}" if isinstance(cid, str) and cid else None


def import_request(body: dict[str, Any]) -> tuple[list[Path], bool, bool | None]:
    """``(roots, recursive, hybrid)`` of a ``POST /api/import`` body; ``CallerError``."""
    paths = body.get("paths")
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise CallerError("paths must be a non-empty list of folders or files")
    if len(paths) > MAX_ROOTS:
        raise CallerError(f"at most {MAX_ROOTS} folders or files at once")
    recursive = body.get("recursive", True)
    hybrid = body.get("hybrid")
    if not isinstance(recursive, bool) or (hybrid is not None and not isinstance(hybrid, bool)):
        raise CallerError("recursive and hybrid must be true or false")
    return [Path(p) for p in paths], recursive, hybrid


def import_routes(node: Node, run: Callable[..., Awaitable[Any]]) -> list[BaseRoute]:
    """The routes of the module doc; ``run(fn, *args)`` runs ``fn`` on the outbound worker budget."""
    async def lines(roots: list[Path], recursive: bool, hybrid: bool | None, body: dict[str, Any]) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(MAX_QUEUED)
        stop = threading.Event()
        last = [0.0]

        def send(line: dict[str, Any] | None) -> None:
            """Queue ``line`` for the client, waiting while ``MAX_QUEUED`` lines are unread (a
            slow reader slows the import, never fills memory); dropped once the client is gone."""
            try:
                pending = asyncio.run_coroutine_threadsafe(queue.put(line), loop)
            except RuntimeError:  # the listener's loop is closing
                stop.set()
                return
            while not stop.is_set():
                try:
                    pending.result(timeout=0.5)
                    return
                except concurrent.futures.TimeoutError:
                    continue
            pending.cancel()

        def on_event(event: ImportEvent) -> None:
            if isinstance(event, Reading):
                now = time.monotonic()
                if now - last[0] < 0.1 and event.done != event.size:
                    return
                last[0] = now
            line = event_json(event, track_summary)
            if isinstance(event, FileDone):
                line.pop("exitCode", None)
            send(line)

        def job() -> None:
            try:
                meta = metadata_from({k: v for k, v in body.items() if k not in ("recursive",)})
                import_paths(node, roots, meta, recursive=recursive, hybrid=hybrid, on_event=on_event,
                             stop=stop.is_set)
            except OspError as exc:  # e.g. the key was locked meanwhile: the last line says so
                send({**exc.to_json(), "status": exc.http_status})
            except Exception:  # a bug: logged here, a plain message there
                log.exception("import of %d paths failed", len(roots))
                send({"error": "error", "message": "the import stopped on an internal error (see the node's log)",
                      "status": 500})
            finally:
                send(None)

        task = asyncio.ensure_future(run(job))
        try:
            while (item := await queue.get()) is not None:
                if "summary" in item:
                    item["status"] = 200
                yield (json.dumps(item, ensure_ascii=False) + "\n").encode()
            await task
        finally:
            stop.set()  # the client went away (or the run ended): no new file is started

    async def start_import(request: Request) -> Response:
        body = await json_body(request)
        roots, recursive, hybrid = import_request(body)
        metadata_from({k: v for k, v in body.items() if k != "recursive"})  # bad fields: 400 before the stream
        await anyio.to_thread.run_sync(node.signing_key)  # a locked key: 400 before the stream
        return StreamingResponse(lines(roots, recursive, hybrid, body), media_type="application/x-ndjson")

    async def add_artwork(request: Request) -> Response:
        body = await json_body(request)
        path = body.get("path")
        if set(body) - {"path"} or not isinstance(path, str) or not path:
            raise CallerError('the body must be {"path": image file}')

        def store() -> dict[str, Any]:
            data, info = read_image(Path(path))
            cid = store_image(node.library, node.settings.media_dir, data, info, node.settings.cid_profile)
            return {"cid": cid, "mime": info.mime, "width": info.width, "height": info.height, "size": info.size}

        return JSONResponse(await anyio.to_thread.run_sync(store))

    async def get_artwork(request: Request) -> Response:
        row = await run(ensure_artwork, node, request.path_params["cid"])
        return FileResponse(node.settings.data_dir / row.path, media_type=row.mime, headers=ARTWORK_HEADERS)

    return [
        Route("/api/import", start_import, methods=["POST"]),
        Route("/api/artwork", add_artwork, methods=["POST"]),
        Route("/api/artwork/{cid}", get_artwork, methods=["GET", "HEAD"]),
    ]
