"""HTTP client for another node's peer API (``/osp/v0/...``) — everything it returns is
untrusted and capped in size; the caller verifies records and torrents.

Errors: ``PeerError`` when the peer cannot be reached or answers outside the protocol,
``NotFoundError`` for a 404.  The egress guard (``check_destination``) refuses
non-global addresses unless private peers are allowed (design.md §4 "Outbound
requests"); URLs the local user typed are trusted as given.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx

from osp.core.errors import NotFoundError, PeerError
from osp.records.canonical import strict_loads

MAX_RECORD = 64 * 1024
MAX_TORRENT = 4 * 1024 * 1024
MAX_LISTING = 16 * 1024 * 1024


def check_destination(url: str, *, allow_private: bool) -> None:
    """``PeerError`` unless every address ``url``'s host resolves to is global (or private is allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PeerError(f"not an http(s) URL: {url[:80]!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise PeerError(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global:
            raise PeerError(f"refusing to contact non-global address {addr} ({parts.hostname})")


class PeerClient:
    """A peer node's HTTP API at ``base_url`` (e.g. ``http://127.0.0.2:8787``)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, allow_private: bool = True) -> None:
        check_destination(base_url, allow_private=allow_private)
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": "osp-node/0.1"})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    def get_bytes(self, path: str, limit: int, accept: str = "*/*") -> bytes:
        """GET ``path`` and return at most ``limit`` bytes; errors as the module says."""
        url = self.base_url + path
        try:
            with self._client.stream("GET", url, headers={"Accept": accept}) as resp:
                if resp.status_code == 404:
                    raise NotFoundError(f"{url}: not found on that peer")
                if resp.status_code != 200:
                    raise PeerError(f"{url}: peer answered HTTP {resp.status_code}")
                out = bytearray()
                for chunk in resp.iter_bytes():
                    out += chunk
                    if len(out) > limit:
                        raise PeerError(f"{url}: answer larger than {limit} bytes")
                return bytes(out)
        except httpx.HTTPError as exc:
            raise PeerError(f"cannot reach peer {self.base_url}: {exc}") from exc

    def get_json(self, path: str, limit: int) -> Any:
        return strict_loads(self.get_bytes(path, limit, "application/json"), max_bytes=limit, max_depth=32)

    def node_info(self) -> dict[str, Any]:
        """``GET /osp/v0/node``: the peer's version, BitTorrent port, DID (unverified)."""
        info = self.get_json("/osp/v0/node", MAX_RECORD)
        if not isinstance(info, dict):
            raise PeerError(f"{self.base_url}: /osp/v0/node is not a JSON object")
        return info

    def bittorrent_address(self) -> tuple[str, int]:
        """``(host, port)`` where the peer accepts BitTorrent connections."""
        bt = self.node_info().get("bittorrent")
        port = bt.get("port") if isinstance(bt, dict) else None
        if not isinstance(port, int) or not 0 < port < 65536:
            raise PeerError(f"{self.base_url}: no BitTorrent port in /osp/v0/node")
        return self.host, port

    def record(self, track_id: str) -> bytes:
        """Raw bytes of a signed record (verify before use)."""
        return self.get_bytes(f"/osp/v0/tracks/{quote(track_id, safe=':')}", MAX_RECORD, "application/ld+json")

    def torrent(self, track_id: str) -> bytes:
        """Bencoded torrent of a track (check its infohash against the record)."""
        return self.get_bytes(f"/osp/v0/tracks/{quote(track_id, safe=':')}/torrent", MAX_TORRENT, "application/x-bittorrent")

    def find_by_infohash(self, infohash: str) -> list[Any]:
        """Records the peer lists for a v1 infohash (unverified)."""
        listing = self.get_json(f"/osp/v0/tracks?infohash={infohash}", MAX_LISTING)
        tracks = listing.get("tracks") if isinstance(listing, dict) else None
        return tracks if isinstance(tracks, list) else []
