"""Files the web app uploads before publishing them: ``POST /api/upload?name=<file name>``.

The body is the raw file (``Content-Type: application/octet-stream``; the one POST that is
not JSON), at most ``MAX_UPLOAD`` bytes (1 GiB; 413 past it, refused before a byte is read
when ``Content-Length`` says so).  It is streamed to ``<data_dir>/uploads/<id>/.partial``,
fsynced and renamed to ``<data_dir>/uploads/<id>/<sanitized name>``; a body cut short (the
client went away, the listener's body deadline) or refused leaves nothing behind.  The
answer is ``{"upload": id, "name", "size"}``; ``POST /api/publish {"uploads": [id…]}``
publishes it and deletes it (published or refused).

Bounds: ``MAX_ACTIVE`` uploads at once (503 past it), ``MAX_PENDING`` waiting to be
published (409 past it); uploads older than ``MAX_AGE`` (a day) are removed when the node
starts and before each new upload.  Ids are 16 random base64url characters; the file name is
the client's, reduced to one safe path component (``sanitize_name``).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from osp.apps.http.common import BodyIncomplete, BodyTooLarge
from osp.core.errors import CallerError, ConflictError, CorruptDataError, NotFoundError, OspError

MAX_UPLOAD = 1 << 30  #: bytes
MAX_AGE = 24 * 3600.0  #: seconds an unpublished upload is kept
MAX_ACTIVE = 4
MAX_PENDING = 64
MAX_NAME_BYTES = 200
PARTIAL = ".partial"
_WRITE_BATCH = 1 << 20  #: bytes gathered before one write on a worker thread
_ID = re.compile(r"[A-Za-z0-9_-]{16}")


class Busy(OspError):
    """Too many uploads at once (HTTP 503); try again when one ends."""

    code = "busy"
    exit_code = 6
    http_status = 503


def sanitize_name(name: str) -> str:
    """One safe path component from a client's file name: its last ``/`` or ``\\`` part,
    NFC, control and reserved characters replaced by ``_``, no leading dot, at most
    ``MAX_NAME_BYTES`` UTF-8 bytes (the extension kept); ``"upload"`` if nothing is left."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch if ch.isprintable() and ch not in '<>:"|?*' else "_" for ch in base).strip().lstrip(".")
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, dot, ext = base, "", ""
    while stem and len(f"{stem}{dot}{ext}".encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return f"{stem}{dot}{ext}" if stem else "upload"


@dataclass(frozen=True)
class Upload:
    """A finished upload: ``id``, the file's ``path`` and its ``size`` in bytes."""

    id: str
    path: Path
    size: int


class Uploads:
    """The ``uploads`` folder; ``clock()``: Unix seconds (ages are file modification times)."""

    def __init__(self, root: Path, clock: Callable[[], float]) -> None:
        self.root = root
        self.clock = clock
        self.active = 0  #: uploads receiving now (changed on the listener's event loop only)

    def sweep(self) -> int:
        """Remove uploads older than ``MAX_AGE`` and partial files of uploads no longer
        receiving (none are, when the node starts); returns how many uploads went."""
        removed = 0
        try:
            entries = list(self.root.iterdir())
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                old = self.clock() - entry.stat().st_mtime > MAX_AGE
            except OSError:
                continue
            if old or not entry.is_dir() or (self.active == 0 and (entry / PARTIAL).exists()):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def pending(self) -> int:
        try:
            return sum(1 for _ in self.root.iterdir())
        except FileNotFoundError:
            return 0

    def get(self, upload_id: str) -> Upload:
        """The finished upload ``upload_id``; ``NotFoundError`` if there is none."""
        folder = self.root / upload_id if _ID.fullmatch(upload_id) else None
        files = [p for p in folder.iterdir() if p.name != PARTIAL] if folder is not None and folder.is_dir() else []
        if len(files) != 1 or not files[0].is_file():
            raise NotFoundError(f"no upload {upload_id[:40]!r} (uploads are kept for a day)")
        return Upload(upload_id, files[0], files[0].stat().st_size)

    def remove(self, upload_id: str) -> None:
        if _ID.fullmatch(upload_id):
            shutil.rmtree(self.root / upload_id, ignore_errors=True)

    async def receive(self, request: Request) -> Upload:
        """Stream ``request``'s body into a new upload (module doc); ``BodyTooLarge``,
        ``BodyIncomplete``, ``Busy``, ``ConflictError``, ``CallerError`` (no ``name``),
        ``CorruptDataError`` (the disk refused it: full, read-only)."""
        name = request.query_params.get("name", "")
        if not name or len(name) > 1024:
            raise CallerError("name must be the file's name (at most 1024 characters)")
        length = request.headers.get("content-length", "")
        if length.isascii() and length.isdigit() and (len(length) > 18 or int(length) > MAX_UPLOAD):
            raise BodyTooLarge(f"an upload is at most {MAX_UPLOAD} bytes")
        if self.active >= MAX_ACTIVE:
            raise Busy(f"{MAX_ACTIVE} uploads are running: try again when one ends")
        self.active += 1
        try:
            await anyio.to_thread.run_sync(self.sweep)
            if self.pending() >= MAX_PENDING:
                raise ConflictError(f"{MAX_PENDING} uploads wait to be published: publish them or wait a day")
            upload_id = secrets.token_urlsafe(12)
            folder = self.root / upload_id
            try:
                await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, mode=0o700))
                return await self._write(request, folder, sanitize_name(name), upload_id)
            except BaseException as exc:
                shutil.rmtree(folder, ignore_errors=True)
                if isinstance(exc, OSError):  # a full disk, a read-only data directory
                    raise CorruptDataError(f"cannot store the upload in {self.root}: {exc.strerror or exc}") from exc
                raise
        finally:
            self.active -= 1

    async def _write(self, request: Request, folder: Path, name: str, upload_id: str) -> Upload:
        partial = folder / PARTIAL
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        size = 0
        with os.fdopen(fd, "wb") as f:
            batch: list[bytes] = []
            batched = 0
            try:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_UPLOAD:
                        raise BodyTooLarge(f"an upload is at most {MAX_UPLOAD} bytes")
                    batch.append(chunk)
                    batched += len(chunk)
                    if batched >= _WRITE_BATCH:
                        await anyio.to_thread.run_sync(_write_all, f, batch)
                        batch, batched = [], 0
            except ClientDisconnect as exc:
                raise BodyIncomplete("the upload did not arrive whole") from exc
            await anyio.to_thread.run_sync(_write_all, f, batch)
            await anyio.to_thread.run_sync(os.fsync, f.fileno())
        final = folder / name
        os.replace(partial, final)
        return Upload(upload_id, final, size)


def _write_all(f: BinaryIO, chunks: list[bytes]) -> None:
    for chunk in chunks:
        f.write(chunk)


def upload_route(uploads: Uploads) -> Callable[[Request], Awaitable[Response]]:
    """The ``POST /api/upload`` endpoint over ``uploads``."""

    async def upload(request: Request) -> Response:
        done = await uploads.receive(request)
        return JSONResponse({"upload": done.id, "name": done.path.name, "size": done.size})

    return upload
