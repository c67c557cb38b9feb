"""Typed node settings: one object, passed in, never a global.

Every field is documented in ``Settings``'s docstring; ``tests/unit/test_settings.py``
checks the docs list them all.  The CLI builds a ``Settings`` from flags and the
environment (``OSP_DATA_DIR``); tests build one directly.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from osp.core.errors import CallerError

DEFAULT_LISTEN = ("0.0.0.0", 6881)
DEFAULT_SHARE = ("0.0.0.0", 8789)  #: share pages and the WebTorrent tracker: a browser-facing origin of its own
DEFAULT_HTTP = ("0.0.0.0", 8787)  #: the read-only public face, like BitTorrent's 0.0.0.0:6881 (design.md §4)
DEFAULT_CONTROL = ("127.0.0.1", 8788)
DEFAULT_CACHE_SIZE = 4 * 1024**3  #: 4 GiB of fetched tracks

_SIZE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?:(?P<unit>[kKmMgGtT])(?P<suffix>iB|B)?)?")
_UNITS = {"k": 1, "m": 2, "g": 3, "t": 4}


def default_data_dir() -> Path:
    """``$OSP_DATA_DIR`` or the platform's user data dir (``platformdirs``)."""
    env = os.environ.get("OSP_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("osp-node", appauthor=False))


def parse_hostport(text: str, *, what: str = "address") -> tuple[str, int]:
    """Parse ``HOST:PORT`` (``[v6]:PORT`` for IPv6) into ``(host, port)``.

    Raises ``CallerError`` on a missing or out-of-range port.
    """
    host, sep, port_s = text.rpartition(":")
    if not sep or not (port_s.isascii() and port_s.isdigit()):
        raise CallerError(f"{what} must be HOST:PORT, got {text!r}")
    port = int(port_s)
    if not 0 <= port <= 65535:
        raise CallerError(f"{what} port out of range: {port}")
    host = host.strip("[]") or "0.0.0.0"
    return host, port


def parse_size(text: str, *, what: str = "size") -> int:
    """Parse a byte count the GNU coreutils way: plain bytes (``1048576``), or a number with
    a unit ``k``/``K``, ``M``, ``G``, ``T`` (powers of 1024: ``4G`` = 4 GiB, ``500M``, ``750k``;
    also spelled ``KiB``…); a trailing ``B`` means powers of 1000 (``4GB`` = 4·10⁹ bytes).
    Fractions are allowed (``1.5G``) and rounded down to whole bytes.

    Raises ``CallerError`` on anything else (empty, negative, an unknown unit).
    """
    m = _SIZE.fullmatch(text.strip())
    prefix = f"{what}: " if what else ""
    if m is None:
        raise CallerError(f"{prefix}{text!r} is not a size: give bytes, or a number with k, M, G or T (4G, 500M, 750k)")
    unit, suffix = m.group("unit"), m.group("suffix")
    base = 1000 if suffix == "B" else 1024
    factor = base ** _UNITS[unit.lower()] if unit else 1
    if not unit and "." in m.group("num"):
        raise CallerError(f"{prefix}{text!r} is not a whole number of bytes (fractions need a unit: 1.5G)")
    return int(Decimal(m.group("num")) * factor)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and any 127.0.0.0/8 or ::1 literal (bracketed or not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_base_url(text: str, *, what: str, example: str, appended: str) -> SplitResult:
    """``text`` split (``urlsplit``) if it is a base URL ``http(s)://host[:port][/path]``
    with no query or fragment (``appended`` is added to it); ``CallerError`` (exit 2)
    naming ``what``, with ``example``, otherwise."""
    raw = text.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallerError(f"{what} must be an http(s) URL such as {example}, not {raw[:80]!r}")
    try:
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise CallerError(f"{what} has a bad port: {raw[:80]!r}") from exc
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise CallerError(f"{what} must not have a query or fragment ({appended} is appended to it): {raw[:80]!r}")
    return parts


def parse_gateway_url(text: str, *, what: str = "--gateway", allow_private: bool = True) -> str:
    """An IPFS gateway base URL the user configured, without a trailing slash.

    Accepts ``http(s)://host[:port][/path]``; ``CallerError`` (exit 2) for another scheme,
    a missing host, a bad port, credentials (``user:pass@``: they would be sent to every
    peer we hand the URL to as a web seed), a query or a fragment (``{url}/ipfs/{cid}`` is
    appended to it).  With ``allow_private=False`` a host that is a loopback, private or
    otherwise non-global IP literal is refused too (names are checked by the egress guard
    at each request, design.md §4 "Outbound requests").
    """
    raw = text.strip()
    parts = split_base_url(raw, what=what, example="https://gateway.example", appended="/ipfs/CID")
    if parts.username is not None or parts.password is not None:
        raise CallerError(f"{what} must not carry credentials (user:password@): {parts.hostname}")
    if not allow_private:
        try:
            addr = ipaddress.ip_address(parts.hostname or "")
        except ValueError:
            addr = None
        if addr is not None and (not addr.is_global or addr.is_multicast):
            raise CallerError(f"{what} {raw[:80]} is a non-global address: add --allow-private-peers to use it")
    return raw.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """Everything a node or command needs to know; immutable.

    Fields:
        data_dir: the node's data directory (identity, library, media, torrents).
        listen: BitTorrent listen ``(host, port)``; port 0 picks a free port.
        http: peer-facing HTTP listener ``(host, port)`` (records, gateway); port 0 picks one.
        control: loopback control listener ``(host, port)`` (API, /stream/); port 0 picks one.
        share: the share listener ``(host, port)``: share pages that play a track in any
            browser over WebTorrent, and the node's WebTorrent (WebSocket) tracker; an
            origin of its own, apart from the peer and control listeners (design.md §4);
            port 0 picks one.
        webtorrent: bridge BitTorrent and WebTorrent (default on; ``osp node
            --no-webtorrent``): the node's libtorrent announces every torrent it holds
            (published, fetched, resumed at start) to the node's own WebTorrent tracker on
            the share listener (``ws://<share host>:<port>/announce``, added at run time,
            never stored in a torrent), so browsers on a share page get pieces from it over
            WebRTC.  Off: the tracker still serves browsers, libtorrent does not join it.
        public_url: base URL peers use to reach ``http`` (web seeds); ``None`` derives it.
        share_public_url: base URL browsers elsewhere reach the share listener at (the
            share links the node hands out: ``<share_public_url>/t/<id>``); ``None``: the
            scheme and host of ``public_url`` with the share listener's port, else the
            listener's own URL (which only this machine reaches when it binds 0.0.0.0).
        dht: join the Mainline DHT (BEP 5).
        bootstrap: DHT nodes ``(host, port)`` to seed the routing table with.
        allow_private_peers: let the egress guard and libtorrent reach loopback and
            private addresses (test networks on 127.0.0.N); off in production.
        upload_rate_limit: seeding cap in bytes/s, 0 for none (applies to local peers too).
        download_rate_limit: download cap in bytes/s, 0 for none.
        hybrid_torrents: make BEP 52 hybrid v1+v2 torrents instead of v1-only.
        cid_profile: UnixFS import profile for new tracks (see ``osp.content.unixfs``).
        passphrase: optional passphrase that encrypts the identity key.
        request_deadline: seconds one outbound HTTP request (a record, torrent or
            gateway block from a peer) may take in all, headers and body; past it the
            request fails with ``PeerError``.
        gateways: extra IPFS trustless gateway base URLs (``parse_gateway_url``), in the
            order they are tried.  At each fetch the ones answering a ``Range`` probe on
            ``{gateway}/ipfs/{cid}`` become extra web seeds of that transfer only (never
            stored nor served); when BitTorrent cannot start or stalls they are the
            verified block-by-block fallback.  Every request goes through the egress guard.
        cache_size: bytes of fetched tracks (library ``origin == "fetched"``) the node
            keeps and seeds (default 4 GiB); past it the least recently played are
            evicted (``osp.node.cache``).  The user's own published tracks never count.
            0 keeps nothing fetched once it is no longer playing or transferring.
        feed_poll_interval: seconds between two polls of each followed artist's feed
            (BEP 44 mutable item, spec §9 feeds; default 300); tests use a few seconds.
        announce_cap: most distinct DHT rendezvous keys the node announces (priority order
            of ``osp.discovery.announce.plan``: artists, track ids and infohashes, tags,
            title words); ``None``: ``osp.discovery.announce.DEFAULT_CAP``.
        announce_rate: announces per second at most (token bucket, burst 32); ``None``:
            ``osp.discovery.announce.DEFAULT_RATE``.  Each key is re-announced every
            ``ANNOUNCE_INTERVAL`` (30 min), so at rest the cost is cap / 1800 announces/s.
        port_mapping: ask the home router to forward the BitTorrent port (UPnP IGD and
            NAT-PMP, libtorrent's); ``None`` (the default): on, except in test mode
            (``allow_private_peers``); ``True``/``False`` force it on/off (``osp node
            --port-mapping/--no-port-mapping``).  ``maps_ports`` is the decision.
        track_jobs: run the AI-music layer's per-track work (acoustic fingerprint, audio
            analysis, C2PA check; ``osp.node.trackjobs``) in the background for every
            track published or fetched.  ``osp node`` turns it on (``--no-analysis``: off);
            a library-level ``Node`` (tools, tests) leaves it off and may call
            ``node.jobs.run_pending()`` itself.
    """

    data_dir: Path = field(default_factory=default_data_dir)
    listen: tuple[str, int] = DEFAULT_LISTEN
    http: tuple[str, int] = DEFAULT_HTTP
    control: tuple[str, int] = DEFAULT_CONTROL
    share: tuple[str, int] = DEFAULT_SHARE
    webtorrent: bool = True
    public_url: str | None = None
    share_public_url: str | None = None
    dht: bool = True
    bootstrap: tuple[tuple[str, int], ...] = ()
    allow_private_peers: bool = False
    upload_rate_limit: int = 0
    download_rate_limit: int = 0
    hybrid_torrents: bool = False
    cid_profile: str = "unixfs-v1-2025"
    passphrase: bytes | None = field(default=None, repr=False)
    request_deadline: float = 30.0
    gateways: tuple[str, ...] = ()
    cache_size: int = DEFAULT_CACHE_SIZE
    feed_poll_interval: float = 300.0
    announce_cap: int | None = None
    announce_rate: float | None = None
    port_mapping: bool | None = None
    track_jobs: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "gateways", tuple(parse_gateway_url(g) for g in self.gateways))
        if not is_loopback_host(self.control[0]):
            raise CallerError(f"the control listener must bind a loopback address, not {self.control[0]!r}")
        if not self.feed_poll_interval > 0:
            raise CallerError(f"the feed poll interval must be a positive number of seconds, not {self.feed_poll_interval}")
        if self.cache_size < 0:
            raise CallerError(f"the cache size must be 0 or more bytes, not {self.cache_size}")

    def replace(self, **changes: object) -> Settings:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def maps_ports(self) -> bool:
        """Whether the engine maps its port on the router (``port_mapping``, resolved)."""
        return not self.allow_private_peers if self.port_mapping is None else self.port_mapping

    # Paths inside the data directory (design.md §4).
    @property
    def identity_dir(self) -> Path:
        return self.data_dir / "identity"

    @property
    def library_path(self) -> Path:
        return self.data_dir / "library.sqlite3"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def token_path(self) -> Path:
        return self.data_dir / "api-token"

    @property
    def node_file(self) -> Path:
        """Written by a running node: its pid and listener URLs (``node.json``)."""
        return self.data_dir / "node.json"

    @property
    def dht_state_path(self) -> Path:
        """The DHT's node id and routing table, saved by a running node (``osp.node.network``)."""
        return self.data_dir / "dht-state"
