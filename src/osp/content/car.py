"""CARv1 framing (https://ipld.io/specs/transport/car/carv1/).

A CARv1 stream is ``varint(len(header)) || header`` where the header is the DAG-CBOR
map ``{"roots": [CID], "version": 1}``, followed by sections
``varint(len(cid) + len(block)) || cid || block``.
"""

from __future__ import annotations

from collections.abc import Iterator

from osp.content.cid import CID, CIDError, varint_decode, varint_encode


class CarError(ValueError):
    """Bytes are not a well-formed CARv1 stream."""


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([(major << 5) | value])
    for extra, fmt in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * fmt):
            return bytes([(major << 5) | extra]) + value.to_bytes(fmt, "big")
    raise ValueError("CBOR value too large")


def car_header(roots: list[CID]) -> bytes:
    """Length-prefixed DAG-CBOR CARv1 header naming ``roots``."""
    body = _cbor_head(5, 2) + _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        raw = b"\x00" + root.to_bytes()  # DAG-CBOR CID: tag 42 over identity-multibase bytes
        body += b"\xd8\x2a" + _cbor_head(2, len(raw)) + raw
    body += _cbor_head(3, 7) + b"version" + _cbor_head(0, 1)
    return varint_encode(len(body)) + body


def car_section(cid: CID, block: bytes) -> bytes:
    """One CARv1 section holding ``block`` under ``cid``."""
    raw = cid.to_bytes()
    return varint_encode(len(raw) + len(block)) + raw + block


def read_car(data: bytes) -> tuple[bytes, Iterator[tuple[CID, bytes]]]:
    """Split a CARv1 byte string into ``(header_bytes, sections)``; ``CarError`` if malformed.

    Sections are *not* verified here: callers check each block against its CID.
    """
    try:
        hlen, pos = varint_decode(data, 0)
    except CIDError as exc:
        raise CarError(str(exc)) from exc
    header = data[pos : pos + hlen]
    if len(header) != hlen:
        raise CarError("truncated CAR header")
    pos += hlen

    def sections() -> Iterator[tuple[CID, bytes]]:
        p = pos
        while p < len(data):
            try:
                length, p = varint_decode(data, p)
                cid, body_start = CID.read(data, p)
            except CIDError as exc:
                raise CarError(f"bad CAR section: {exc}") from exc
            end = p + length
            if end > len(data) or body_start > end:
                raise CarError("truncated CAR section")
            yield cid, data[body_start:end]
            p = end

    return header, sections()
