"""``POST /api/publish``: publish files named by path or uploaded by the web app.

Body: ``{"paths"?: [path…], "uploads"?: [upload id…], "hybrid"?, "title"?, "artistName"?,
"album"?, "license"?, "released"?, "tags"?, "provenance"?, "artwork"?, "lyrics"?, "c2paSign"?,
"allowInvalidC2pa"?}`` (booleans: embed a signed C2PA manifest; publish despite an invalid one) with at
least one path or upload.  Every file is tried, in order (paths first); one refusal never
stops the others.  Answer: ``{"tracks": [...], "refused": [{"file", "error", "message"…}]}``,
each published track with ``"share"`` (its share page, or ``None``); 200 unless every file
was refused (then the first refusal's status).  With ``Accept: application/x-ndjson`` the
answer is NDJSON: progress lines ``{"file", "done", "total"}`` (bytes hashed; ``"upload"``
too for an upload) and last the answer plus its ``status``.  For an upload, ``file`` is its
name and ``upload`` its id; the upload is deleted once tried (published or refused).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from osp.apps.http.common import json_body
from osp.apps.http.shapes import share_link, track_summary
from osp.core.errors import CallerError, CorruptDataError, NotFoundError, OspError
from osp.node.core import Node
from osp.node.publish import TrackMetadata
from osp.records.track import provenance_error

if TYPE_CHECKING:  # osp.apps.web builds on this package: imported where used, never at import time
    from osp.apps.web.uploads import Uploads

MAX_FILES = 256  #: paths plus uploads in one request


def metadata_from(body: dict[str, Any]) -> TrackMetadata:
    """``TrackMetadata`` from a publish request body (unknown keys are refused)."""
    allowed = {"paths", "uploads", "hybrid", "title", "artistName", "album", "license", "released", "tags",
               "provenance", "artwork", "lyrics", "c2paSign", "allowInvalidC2pa"}
    extra = set(body) - allowed
    if extra:
        raise CallerError(f"unknown publish fields: {', '.join(sorted(extra))}")
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CallerError("tags must be a list of strings")
    for flag in ("c2paSign", "allowInvalidC2pa"):
        if body.get(flag) is not None and not isinstance(body[flag], bool):
            raise CallerError(f"{flag} must be true or false")
    provenance = body.get("provenance") or {}
    problem = provenance_error(provenance)  # once for the request, before any file is hashed
    if problem:
        raise CallerError(f"invalid {problem}")
    return TrackMetadata(
        title=body.get("title"),
        artist_name=body.get("artistName"),
        album=body.get("album"),
        license=body.get("license") or "CC0-1.0",
        released=body.get("released"),
        tags=tuple(tags),
        provenance=provenance,
        artwork=body.get("artwork"),
        lyrics=body.get("lyrics"),
        c2pa_sign=bool(body.get("c2paSign")),
        allow_invalid_c2pa=bool(body.get("allowInvalidC2pa")),
    )


def publish_each(node: Node, paths: list[Path], meta: TrackMetadata, hybrid: bool | None,
                 on_bytes: Callable[[Path, int], None] | None = None) -> list[dict[str, Any]]:
    """Publish every file of ``paths``, in order; one refusal never stops the others.

    Returns one object per path: the track summary plus ``created`` and ``file``, or
    ``{"file", "error", "message", "exitCode", "httpStatus"}`` when it was refused
    (``error`` is the ``OspError`` code; an ``OSError`` reading it counts as local data).
    ``on_bytes(path, n)`` reports ``n`` more bytes of ``path`` hashed.
    """
    results: list[dict[str, Any]] = []
    for path in paths:
        try:
            if not path.is_file():
                raise NotFoundError("a directory, not a file" if path.is_dir() else "no such file")
            cb = functools.partial(on_bytes, path) if on_bytes else None
            published = node.publish(path, meta, hybrid=hybrid, on_bytes=cb)
        except (OspError, OSError) as exc:
            error = exc if isinstance(exc, OspError) else CorruptDataError(f"cannot read {path}: {exc.strerror or exc}")
            results.append({"file": str(path), **error.to_json(), "exitCode": error.exit_code,
                            "httpStatus": error.http_status})
            continue
        results.append({**track_summary(published.track.record, published.infohash), "created": published.created,
                        "file": str(path)})
    return results


def publish_answer(results: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """The JSON body and status of ``/api/publish``: 200 unless every path was refused."""
    tracks = [r for r in results if "error" not in r]
    refused = [r for r in results if "error" in r]
    body = {"tracks": tracks, "refused": refused}
    if refused and not tracks:
        first = refused[0]
        return {"error": first["error"], "message": first["message"], **body}, int(first["httpStatus"])
    return body, 200


def _files_of(body: dict[str, Any], uploads: Uploads) -> tuple[list[Path], dict[Path, dict[str, str]]]:
    """The files to publish, and for each upload's path ``{"file": name, "upload": id}``."""
    paths, ids = body.get("paths", []), body.get("uploads", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise CallerError("paths must be a list of file paths")
    if not isinstance(ids, list) or not all(isinstance(u, str) for u in ids):
        raise CallerError("uploads must be a list of upload ids")
    if not paths and not ids:
        raise CallerError("paths or uploads must name at least one file")
    if len(paths) + len(ids) > MAX_FILES:
        raise CallerError(f"at most {MAX_FILES} files at once")
    labels: dict[Path, dict[str, str]] = {}
    for upload_id in ids:
        done = uploads.get(upload_id)
        labels[done.path] = {"file": done.path.name, "upload": done.id}
    return [Path(p) for p in paths] + list(labels), labels


def publish_route(node: Node, run: Callable[..., Awaitable[Any]], uploads: Uploads) -> Callable[[Request], Awaitable[Response]]:
    """The ``POST /api/publish`` endpoint; ``run(fn, *args)`` runs ``fn`` on the outbound worker budget."""

    def work(files: list[Path], labels: dict[Path, dict[str, str]], meta: TrackMetadata, hybrid: bool | None,
             on_bytes: Callable[[Path, int], None] | None = None) -> tuple[dict[str, Any], int]:
        try:
            results = publish_each(node, files, meta, hybrid, on_bytes)
        finally:
            for label in labels.values():
                uploads.remove(label["upload"])
        for path, result in zip(files, results, strict=True):
            result.update(labels.get(path, {}))
            if "error" not in result:
                result["share"] = share_link(node, result["id"])
        return publish_answer(results)

    async def lines(files: list[Path], labels: dict[Path, dict[str, str]], meta: TrackMetadata,
                    hybrid: bool | None) -> AsyncIterator[bytes]:
        """NDJSON: ``{"file", "done", "total"}`` (bytes) after the first read of a file and then
        at most every 0.1 s, and last the answer of the plain request plus its ``status``."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        done: dict[Path, int] = {}
        last = [0.0]

        def on_bytes(path: Path, n: int) -> None:
            done[path] = done.get(path, 0) + n
            now = time.monotonic()
            if now - last[0] >= 0.1 or done[path] == n:  # the first read of each file, then every 0.1 s
                last[0] = now
                line = {"file": str(path), "done": done[path], "total": path.stat().st_size, **labels.get(path, {})}
                loop.call_soon_threadsafe(queue.put_nowait, line)

        def job() -> None:
            try:
                answer, status = work(files, labels, meta, hybrid, on_bytes)
                loop.call_soon_threadsafe(queue.put_nowait, {**answer, "status": status})
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        running = asyncio.ensure_future(run(job))
        while (item := await queue.get()) is not None:
            yield (json.dumps(item, ensure_ascii=False) + "\n").encode()
        await running

    async def publish(request: Request) -> Response:
        body = await json_body(request)
        meta = metadata_from(body)
        hybrid = body.get("hybrid")
        if hybrid is not None and not isinstance(hybrid, bool):
            raise CallerError("hybrid must be true or false")
        files, labels = _files_of(body, uploads)
        if "application/x-ndjson" in request.headers.get("accept", ""):
            return StreamingResponse(lines(files, labels, meta, hybrid), media_type="application/x-ndjson")
        answer, status = await run(work, files, labels, meta, hybrid)
        return JSONResponse(answer, status)

    return publish
