"""Magnet links for OSP tracks (BEP 9 ``xt=urn:btih``, BEP 52 ``xt=urn:btmh``).

A track magnet is ``magnet:?xt=urn:btih:<40 hex>[&xt=urn:btmh:1220<64 hex>]&dn=<name>&xl=<bytes>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from osp.core.errors import CallerError

_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class Magnet:
    """Parsed magnet: hex v1 ``infohash``, hex v2 ``infohash_v2`` or ``None``, ``name``, ``size`` bytes."""

    infohash: str
    infohash_v2: str | None
    name: str | None
    size: int | None

    def __str__(self) -> str:
        parts = [f"xt=urn:btih:{self.infohash}"]
        if self.infohash_v2:
            parts.append(f"xt=urn:btmh:1220{self.infohash_v2}")
        if self.name:
            parts.append("dn=" + quote(self.name, safe=""))
        if self.size is not None:
            parts.append(f"xl={self.size}")
        return "magnet:?" + "&".join(parts)


def parse_magnet(text: str) -> Magnet:
    """Parse a magnet URI; ``CallerError`` if it has no v1 ``urn:btih`` hex infohash."""
    parts = urlsplit(text)
    if parts.scheme != "magnet":
        raise CallerError(f"not a magnet link: {text[:60]!r}")
    v1 = v2 = name = None
    size = None
    for key, value in parse_qsl(parts.query):
        if key == "xt" and value.startswith("urn:btih:") and _HEX40.match(value[9:]):
            v1 = value[9:].lower()
        elif key == "xt" and value.startswith("urn:btmh:1220") and len(value) == 13 + 64:
            v2 = value[13:].lower()
        elif key == "dn":
            name = value
        elif key == "xl" and value.isascii() and value.isdigit():
            size = int(value)
    if v1 is None:
        raise CallerError("the magnet has no v1 infohash (xt=urn:btih:<40 hex>)")
    return Magnet(v1, v2, name, size)
