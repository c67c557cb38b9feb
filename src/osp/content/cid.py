"""CIDs (multiformats CID spec, v0 and v1) with sha2-256 multihashes.

Source: https://github.com/multiformats/cid (§ "How does it work?": CIDv1 =
``<multibase><varint version=1><varint codec><multihash>``; CIDv0 = base58btc of a bare
sha2-256 multihash, implicitly dag-pb).  Multicodec table: ``raw`` 0x55, ``dag-pb``
0x70, ``json`` 0x0200, ``sha2-256`` 0x12.  Textual CIDv1 uses multibase base32 lower
(prefix ``b``).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import base58

RAW = 0x55
DAG_PB = 0x70
DAG_CBOR = 0x71
JSON = 0x0200
SHA2_256 = 0x12


class CIDError(ValueError):
    """A string or byte sequence is not a supported CID."""


def varint_encode(value: int) -> bytes:
    """Unsigned LEB128 varint (multiformats unsigned-varint, protobuf varint)."""
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint_decode(data: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode a varint at ``pos``; returns ``(value, next_pos)``; ``CIDError`` if truncated."""
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise CIDError("truncated or oversized varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


@dataclass(frozen=True, order=True)
class CID:
    """A CID over a sha2-256 digest.

    ``version`` is 0 or 1; ``codec`` a multicodec code (v0 is always dag-pb);
    ``digest`` the 32-byte sha2-256 digest.
    """

    version: int
    codec: int
    digest: bytes

    @classmethod
    def of(cls, data: bytes | memoryview, codec: int = RAW, version: int = 1) -> CID:
        """CID of ``data`` hashed with sha2-256."""
        return cls(version, codec, hashlib.sha256(data).digest())

    @property
    def multihash(self) -> bytes:
        return bytes([SHA2_256, 32]) + self.digest

    def to_bytes(self) -> bytes:
        """Binary CID (as stored in dag-pb links and CAR sections)."""
        if self.version == 0:
            return self.multihash
        return varint_encode(1) + varint_encode(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return base58.b58encode(self.multihash).decode("ascii")
        return "b" + base64.b32encode(self.to_bytes()).decode("ascii").lower().rstrip("=")

    def __repr__(self) -> str:
        return f"CID({self})"

    @classmethod
    def decode(cls, text: str) -> CID:
        """Parse a textual CID (``Qm…`` v0 or base32 ``b…`` v1); ``CIDError`` if invalid."""
        if not isinstance(text, str) or not text:
            raise CIDError("empty CID")
        if len(text) == 46 and text.startswith("Qm"):
            try:
                raw = base58.b58decode(text)
            except ValueError as exc:
                raise CIDError(f"bad base58 in CIDv0 {text!r}") from exc
            return cls._from_multihash(0, DAG_PB, raw)
        if text[0] != "b":
            raise CIDError(f"unsupported multibase in CID {text[:12]!r} (expected base32 'b…' or CIDv0 'Qm…')")
        body = text[1:].upper()
        try:
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        except (ValueError, base64.binascii.Error) as exc:  # type: ignore[attr-defined]
            raise CIDError(f"bad base32 in CID {text[:20]!r}") from exc
        return cls.from_bytes(raw)

    @classmethod
    def from_bytes(cls, raw: bytes) -> CID:
        """Parse a binary CID (v0 multihash or v1); ``CIDError`` if invalid or trailing bytes."""
        cid, end = cls.read(raw, 0)
        if end != len(raw):
            raise CIDError("trailing bytes after CID")
        return cid

    @classmethod
    def read(cls, raw: bytes | memoryview, pos: int) -> tuple[CID, int]:
        """Read a binary CID at ``pos``; returns ``(cid, next_pos)``."""
        if len(raw) - pos >= 34 and raw[pos] == SHA2_256 and raw[pos + 1] == 32:
            return cls(0, DAG_PB, bytes(raw[pos + 2 : pos + 34])), pos + 34
        version, pos = varint_decode(raw, pos)
        if version != 1:
            raise CIDError(f"unsupported CID version {version}")
        codec, pos = varint_decode(raw, pos)
        mh_code, pos = varint_decode(raw, pos)
        mh_len, pos = varint_decode(raw, pos)
        if mh_code != SHA2_256 or mh_len != 32 or len(raw) < pos + 32:
            raise CIDError("only sha2-256 multihashes are supported")
        return cls(1, codec, bytes(raw[pos : pos + 32])), pos + 32

    @classmethod
    def _from_multihash(cls, version: int, codec: int, mh: bytes) -> CID:
        if len(mh) != 34 or mh[0] != SHA2_256 or mh[1] != 32:
            raise CIDError("only sha2-256 multihashes are supported")
        return cls(version, codec, mh[2:])

    def verify(self, data: bytes | memoryview) -> bool:
        """True iff sha2-256(``data``) is this CID's digest."""
        return hashlib.sha256(data).digest() == self.digest
