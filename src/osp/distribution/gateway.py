"""IPFS trustless gateway, server side: blocks and CARs out of the library.

Source: IPFS "Trustless Gateway" spec (https://specs.ipfs.tech/http-gateways/trustless-gateway/)
— ``GET /ipfs/{cid}?format=raw`` (``application/vnd.ipld.raw``: one block, verifiable
against its CID) and ``?format=car`` (``application/vnd.ipld.car``: CARv1 of the DAG in
depth-first, link order) — plus the path gateway's plain file bytes with HTTP Range
(``application/octet-stream`` semantics, used as the BitTorrent web seed, BEP 19).

Leaves are read from the stored file at their offset; parent nodes come from SQLite.
Every block served is re-hashed before it leaves (a corrupted disk must not make us
serve bytes that fail at the client).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from osp.content.car import car_header, car_section
from osp.content.cid import CID, RAW, CIDError
from osp.content.dagpb import decode_node
from osp.content.unixfs import wrapped_leaf_envelope
from osp.core.errors import NotFoundError
from osp.library.store import Library, file_state

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes outside the resource."""


MAX_RANGE_DIGITS = 18
"""Longer positions are past any file we serve (and Python refuses > 4300-digit ints)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive for a single ``bytes=`` range (RFC 9110 §14.1.2), or
    ``None`` for "the whole resource" (no header, multiple ranges, other units, or a
    header that does not parse: RFC 9110 §14.2 lets a server ignore it).
    Positions longer than ``MAX_RANGE_DIGITS`` digits count as past the end.
    Raises ``RangeNotSatisfiable`` for a range that starts past the end."""
    if not header or len(header) > 200:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header, re.ASCII)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    first_s, last_s = (g.lstrip("0") or ("0" if g else "") for g in m.groups())
    huge = 10**MAX_RANGE_DIGITS
    if not first_s:  # suffix range: the last N bytes
        n = int(last_s) if len(last_s) <= MAX_RANGE_DIGITS else huge
        if n == 0:
            raise RangeNotSatisfiable()
        return max(0, size - n), size - 1
    if len(first_s) > MAX_RANGE_DIGITS:
        raise RangeNotSatisfiable()
    first = int(first_s)
    last = size - 1 if not last_s or len(last_s) > MAX_RANGE_DIGITS else min(int(last_s), size - 1)
    if first >= size or last < first:
        raise RangeNotSatisfiable()
    return first, last


@dataclass(frozen=True)
class StoredFile:
    """A file root the gateway can serve: path on disk, size in bytes, MIME type."""

    path: Path
    size: int
    mime: str


class Gateway:
    """Read-only view of a library as an IPFS block store."""

    def __init__(self, library: Library, data_dir: Path, on_missing: Callable[[str, bool], object] | None = None) -> None:
        self.library = library
        self.data_dir = data_dir
        self.on_missing = on_missing  #: ``on_missing(cid, corrupt)``: a file is gone or changed on disk

    @staticmethod
    def parse_cid(text: str) -> CID:
        try:
            return CID.decode(text)
        except CIDError as exc:
            raise NotFoundError(f"not a CID: {exc}") from exc

    def file(self, cid: CID) -> StoredFile:
        """The stored file whose root is ``cid``; ``NotFoundError`` otherwise, also when
        the file was removed or changed (size) on disk: checked before any header is sent,
        so a client never gets a ``Content-Length`` the body cannot fill."""
        row = self.library.file(str(cid))
        if row is None:
            raise NotFoundError(f"no file {cid} here")
        path = self.data_dir / row.path
        if file_state(path, row.size) != "ok":
            self._lost(str(cid))
            raise NotFoundError(f"the file {cid} is no longer available here (missing or changed on disk)")
        mime = self.library.format_of(str(cid)) or "application/octet-stream"
        return StoredFile(path, row.size, mime)

    def block(self, cid: CID) -> bytes:
        """Bytes of one block, checked against ``cid``; ``NotFoundError`` if not held."""
        row = self.library.block(str(cid))
        if row is None:
            raise NotFoundError(f"no block {cid} here")
        root, offset, length, data = row
        if data is None:
            file = self.library.file(root)
            if file is None:
                raise NotFoundError(f"block {cid} belongs to a file that is gone")
            try:
                with open(self.data_dir / file.path, "rb") as f:
                    f.seek(offset)
                    data = f.read(length)
            except OSError:
                data = b""
            if len(data) != length:
                self._lost(root)
                raise NotFoundError(f"block {cid} is no longer available here (its file is missing or changed on disk)")
            if cid.codec != RAW:  # a wrapped UnixFS leaf (v0 profile)
                prefix, suffix = wrapped_leaf_envelope(len(data))
                data = prefix + data + suffix
        if not cid.verify(data):
            self._lost(root, corrupt=True)
            raise NotFoundError(f"block {cid} is no longer available here: its file changed on disk")
        return bytes(data)

    def _lost(self, root: str, *, corrupt: bool = False) -> None:
        if self.on_missing is not None:
            self.on_missing(root, corrupt)

    def check_root(self, cid: CID) -> None:
        """``NotFoundError`` unless the DAG under ``cid`` can be served: its root block is
        here and, when it is a stored file's root, the file is intact on disk (checked
        before a CAR's headers go out)."""
        self.block(cid)
        if self.library.file(str(cid)) is not None:
            self.file(cid)

    def walk(self, root: CID) -> Iterator[tuple[CID, bytes]]:
        """Depth-first, link-order traversal of the DAG under ``root`` (CAR order)."""
        stack = [root]
        while stack:
            cid = stack.pop()
            data = self.block(cid)
            yield cid, data
            if cid.codec == 0x70:
                _, links = decode_node(data)
                stack.extend(link.cid for link in reversed(links))

    def car(self, root: CID) -> Iterator[bytes]:
        """CARv1 bytes of the DAG under ``root``."""
        self.check_root(root)  # 404 before the first byte is sent
        yield car_header([root])
        for cid, data in self.walk(root):
            yield car_section(cid, data)
