"""dag-pb nodes and UnixFS ``Data`` messages, encoded by hand.

Sources: IPLD dag-pb spec (https://ipld.io/specs/codecs/dag-pb/spec/: ``PBNode`` =
Links (field 2) then Data (field 1); ``PBLink`` = Hash 1, Name 2, Tsize 3; strict
canonical field order) and the UnixFS spec (https://specs.ipfs.tech/unixfs/: ``Data``
= Type 1, Data 2, filesize 3, blocksizes 4 (repeated, unpacked)).  Only what files
need is implemented; decoding is strict and bounded, for use on untrusted blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from osp.content.cid import CID, CIDError, varint_decode, varint_encode

UNIXFS_RAW = 0
UNIXFS_DIRECTORY = 1
UNIXFS_FILE = 2


class DagPbError(ValueError):
    """A block is not a well-formed dag-pb / UnixFS file node."""


@dataclass(frozen=True)
class PBLink:
    """A dag-pb link: child ``cid``, ``name`` (``""`` for file chunks), ``tsize`` in bytes."""

    cid: CID
    name: str
    tsize: int


@dataclass(frozen=True)
class UnixFSData:
    """UnixFS ``Data``: ``type`` (0 raw, 1 dir, 2 file), inline ``data``, ``filesize``, ``blocksizes``."""

    type: int
    data: bytes
    filesize: int | None
    blocksizes: tuple[int, ...]


def _field(tag: int, payload: bytes) -> bytes:
    return varint_encode(tag) + varint_encode(len(payload)) + payload


def encode_unixfs_file(data: bytes | memoryview = b"", blocksizes: tuple[int, ...] | list[int] = ()) -> bytes:
    """UnixFS ``Data`` of a file node: type File, inline ``data`` (omitted when empty),
    ``filesize`` = len(data) + sum(blocksizes), then each blocksize (as ipfs-unixfs marshals)."""
    out = bytearray(b"\x08\x02")
    if len(data):
        out += _field(0x12, bytes(data))
    out += b"\x18" + varint_encode(len(data) + sum(blocksizes))
    for size in blocksizes:
        out += b"\x20" + varint_encode(size)
    return bytes(out)


def encode_node(data: bytes, links: list[PBLink] | tuple[PBLink, ...] = ()) -> bytes:
    """Canonical dag-pb ``PBNode`` bytes: links first, then Data."""
    out = bytearray()
    for link in links:
        body = _field(0x0A, link.cid.to_bytes()) + _field(0x12, link.name.encode("utf-8"))
        body += b"\x18" + varint_encode(link.tsize)
        out += _field(0x12, body)
    out += _field(0x0A, data)
    return bytes(out)


def _read_fields(buf: bytes | memoryview) -> list[tuple[int, int, int | bytes]]:
    fields: list[tuple[int, int, int | bytes]] = []
    pos = 0
    try:
        while pos < len(buf):
            key, pos = varint_decode(buf, pos)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, pos = varint_decode(buf, pos)
                fields.append((number, wire, value))
            elif wire == 2:
                length, pos = varint_decode(buf, pos)
                if pos + length > len(buf):
                    raise DagPbError("field overruns the block")
                fields.append((number, wire, bytes(buf[pos : pos + length])))
                pos += length
            else:
                raise DagPbError(f"unsupported protobuf wire type {wire}")
    except CIDError as exc:
        raise DagPbError(str(exc)) from exc
    return fields


def decode_node(block: bytes | memoryview) -> tuple[bytes, list[PBLink]]:
    """Parse dag-pb bytes into ``(data, links)``; ``DagPbError`` if malformed."""
    data = b""
    links: list[PBLink] = []
    for number, _wire, value in _read_fields(block):
        if number == 2 and isinstance(value, bytes):
            cid: CID | None = None
            name, tsize = "", 0
            for n, _w, v in _read_fields(value):
                if n == 1 and isinstance(v, bytes):
                    try:
                        cid = CID.from_bytes(v)
                    except CIDError as exc:
                        raise DagPbError(f"bad link CID: {exc}") from exc
                elif n == 2 and isinstance(v, bytes):
                    name = v.decode("utf-8", "replace")
                elif n == 3 and isinstance(v, int):
                    tsize = v
            if cid is None:
                raise DagPbError("link without a hash")
            links.append(PBLink(cid, name, tsize))
        elif number == 1 and isinstance(value, bytes):
            data = value
        else:
            raise DagPbError(f"unexpected dag-pb field {number}")
    return data, links


def decode_unixfs(data: bytes) -> UnixFSData:
    """Parse a UnixFS ``Data`` message; ``DagPbError`` if malformed."""
    type_: int | None = None
    inline = b""
    filesize: int | None = None
    blocksizes: list[int] = []
    for number, _wire, value in _read_fields(data):
        if number == 1 and isinstance(value, int):
            type_ = value
        elif number == 2 and isinstance(value, bytes):
            inline = value
        elif number == 3 and isinstance(value, int):
            filesize = value
        elif number == 4 and isinstance(value, int):
            blocksizes.append(value)
    if type_ is None:
        raise DagPbError("UnixFS Data without a Type")
    return UnixFSData(type_, inline, filesize, tuple(blocksizes))
