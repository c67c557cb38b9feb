"""HTTP client for another node's peer API (``/osp/v0/...``) — everything it returns is
untrusted and capped in size; the caller verifies records and torrents.

Egress guard (design.md §4 "Outbound requests"): every connection resolves the host,
refuses non-global addresses (loopback, link-local incl. 169.254.169.254, RFC 1918,
CGNAT, ULA, multicast) unless ``allow_private`` is set, and connects to the address it
checked (no second DNS answer, no redirects, no proxies from the environment).  The
guard is on by default; a node passes ``Settings.allow_private_peers``, and the CLI
turns that on for a loopback or private URL the local user typed.

Deadline: each request (``get_bytes``) must complete within ``deadline`` seconds in
all, headers and body together — httpx's own ``timeout`` applies per read, so a peer
sending one byte now and then could otherwise hold a request open for ever.

Errors: ``PeerError`` when the peer cannot be reached, is refused by the guard, misses
the deadline or answers outside the protocol; ``RemoteNotFoundError`` for a 404 (the
peer's answer, exit code 4); ``CallerError`` from ``typed_base_url`` for a URL the local
user typed that is not ``http(s)://host[:port]``.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any, Self
from urllib.parse import quote, urlencode, urlsplit

import httpcore
import httpx

from osp.core.errors import IntegrityError, PeerError, RemoteNotFoundError
from osp.core.settings import split_base_url
from osp.records.canonical import strict_loads

MAX_RECORD = 64 * 1024
MAX_TORRENT = 4 * 1024 * 1024
MAX_LISTING = 16 * 1024 * 1024
MAX_SEARCH = 512 * 1024  #: bytes of one ``/osp/v0/search`` answer (``osp.discovery.search.MAX_RESPONSE_BYTES``)
MAX_SEARCH_RESULTS = 50  #: records in one answer (``osp.discovery.search.MAX_RESULTS_PER_PEER``)
DEFAULT_DEADLINE = 30.0  #: seconds a whole request (connect, headers, body) may take


def typed_base_url(text: str, *, what: str = "--peer") -> str:
    """A base URL the local user typed (``--peer``, ``--gateway``), without a trailing
    slash; ``CallerError`` (exit 2) unless it is ``http(s)://host[:port][/path]`` (a query
    or fragment is refused: ``/osp/v0/…`` and ``/ipfs/…`` are appended to the URL)."""
    split_base_url(text, what=what, example="http://127.0.0.2:8787", appended="/osp/v0/… or /ipfs/…")
    return text.strip().rstrip("/")


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use prefix


def is_public_address(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for a global unicast address that does not lead back into a private network.

    Besides ``is_global`` (RFC 6890 special-purpose registries), an IPv6 address that
    embeds an IPv4 address — IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
    ``::a.b.c.d`` (deprecated, RFC 4291 §2.5.5.1), 6to4 ``2002:wwxx:yyzz::/48``
    (RFC 3056) and NAT64 ``64:ff9b::/96`` (RFC 6052) — is public only if that IPv4
    address is; the NAT64 local-use prefix (RFC 8215) never is.
    """
    if addr.is_multicast or not addr.is_global:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        packed = addr.packed
        if addr in _NAT64_LOCAL:
            return False
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and (addr in _NAT64 or packed[:12] == bytes(12)):
            embedded = ipaddress.IPv4Address(packed[12:])
        if embedded is not None:
            return is_public_address(embedded)
    return True


def _checked_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to; ``PeerError`` if any is non-global (unless allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise PeerError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for text in addresses:
            addr = ipaddress.ip_address(text.split("%")[0])
            if not is_public_address(addr):
                raise PeerError(
                    f"refusing to contact non-global address {addr} ({host}); "
                    "a node for loopback or LAN peers needs --allow-private-peers"
                )
    if not addresses:
        raise PeerError(f"cannot resolve {host}: no address")
    return addresses


def check_destination(url: str, *, allow_private: bool) -> None:
    """``PeerError`` unless ``url`` is http(s) and every address its host resolves to is
    global (or private addresses are allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PeerError(f"not an http(s) URL: {url[:80]!r}")
    if allow_private:
        return
    _checked_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), allow_private=False)


class _Deadline(threading.local):
    """The monotonic deadline of the request this thread is running (``None``: none)."""

    at: float | None = None

    def cap(self, timeout: float | None, what: type[Exception]) -> float | None:
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise what("the request's overall deadline passed")
        return left if timeout is None else min(timeout, left)


class _GuardedStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline,
                 live: weakref.WeakSet[httpcore.NetworkStream]) -> None:
        self._inner = inner
        self._deadline = deadline
        self._live = live  #: the backend's open streams (``_GuardedBackend.interrupt``)
        live.add(inner)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadline.cap(timeout, httpcore.ConnectTimeout))
        return _GuardedStream(inner, self._deadline, self._live)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check (egress guard), connect to the checked address, within the deadline."""

    def __init__(self, *, allow_private: bool, deadline: _Deadline) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._deadline = deadline
        self._live: weakref.WeakSet[httpcore.NetworkStream] = weakref.WeakSet()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addresses = _checked_addresses(host, port, allow_private=self._allow_private)
        stream = self._inner.connect_tcp(addresses[0], port, self._deadline.cap(timeout, httpcore.ConnectTimeout),
                                         local_address, socket_options)
        return _GuardedStream(stream, self._deadline, self._live)

    def interrupt(self) -> None:
        """Shut down every socket this backend opened, from any thread: a request blocked
        reading from a peer that never answers ends at once (closing the socket alone does
        not wake a ``recv`` in another thread)."""
        for stream in list(self._live):
            sock = stream.get_extra_info("socket")
            if isinstance(sock, socket.socket):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise PeerError("unix sockets are not peers")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def prepare() -> None:
    """Build the TLS context every outbound client shares now, not in a listener's first
    request (loading the CA bundle takes 60–120 ms here)."""
    _tls()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (httpx's defaults) for every outbound request: loading the CA
    bundle costs ~60 ms, paid per client before (two clients per fetch)."""
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, *, allow_private: bool, deadline: _Deadline) -> None:
        super().__init__(verify=_tls())
        self.backend = _GuardedBackend(allow_private=allow_private, deadline=deadline)
        self._pool = httpcore.ConnectionPool(ssl_context=_tls(), network_backend=self.backend)


class PeerClient:
    """A peer node's HTTP API at ``base_url`` (e.g. ``http://127.0.0.2:8787``).

    ``timeout``: seconds per connect/read (httpx); ``deadline``: seconds a whole request
    may take (``DEFAULT_DEADLINE``); ``allow_private``: let the egress guard connect to
    non-global addresses (off by default).
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0, deadline: float = DEFAULT_DEADLINE,
                 allow_private: bool = False) -> None:
        check_destination(base_url, allow_private=allow_private)
        self.base_url = base_url.rstrip("/")
        self.deadline = deadline
        self._deadline = _Deadline()
        self._transport = _GuardedTransport(allow_private=allow_private, deadline=self._deadline)
        self._client = httpx.Client(
            timeout=min(timeout, deadline), follow_redirects=False, trust_env=False,
            headers={"User-Agent": "osp-node/0.1"}, transport=self._transport,
        )

    def close(self) -> None:
        """Close the client; a request in flight on another thread ends at once with
        ``PeerError`` (its socket is shut down), so a peer that hangs holds up no one."""
        self._transport.backend.interrupt()
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    def get_bytes(self, path: str, limit: int, accept: str = "*/*") -> bytes:
        """GET ``path`` and return at most ``limit`` bytes, all within ``deadline`` seconds;
        errors as the module says."""
        return self._get(path, limit, {"Accept": accept}, 200)

    def get_range(self, path: str, first: int, last: int, total: int) -> bytes:
        """GET bytes ``first..last`` (inclusive) of the ``total``-byte resource at ``path``
        (RFC 9110 §14): the answer must be a 206 whose ``Content-Range`` is exactly that
        range of that size, with exactly that many bytes; else ``PeerError``."""
        want = f"bytes {first}-{last}/{total}"
        return self._get(path, last - first + 1, {"Range": f"bytes={first}-{last}"}, 206,
                         content_range=want, exact=True)

    def _get(self, path: str, limit: int, headers: dict[str, str], status: int, *,
             content_range: str | None = None, exact: bool = False) -> bytes:
        url = self.base_url + path
        self._deadline.at = time.monotonic() + self.deadline
        try:
            with self._client.stream("GET", url, headers=headers) as resp:
                if resp.status_code == 404:
                    raise RemoteNotFoundError(f"{url}: not found on that peer")
                if resp.status_code != status:
                    raise PeerError(f"{url}: peer answered HTTP {resp.status_code}")
                if content_range is not None and resp.headers.get("content-range", "").strip() != content_range:
                    raise PeerError(f"{url}: answered another range than {content_range}")
                out = bytearray()
                for chunk in resp.iter_bytes():
                    out += chunk
                    if len(out) > limit:
                        raise PeerError(f"{url}: answer larger than {limit} bytes")
                if exact and len(out) != limit:
                    raise PeerError(f"{url}: answer of {len(out)} bytes, {limit} expected")
                return bytes(out)
        except httpx.HTTPError as exc:
            at = self._deadline.at
            if at is not None and time.monotonic() >= at - 0.01:
                raise PeerError(f"{url}: no complete answer within the {self.deadline:g} s deadline") from exc
            raise PeerError(f"cannot reach peer {self.base_url}: {exc}") from exc
        finally:
            self._deadline.at = None

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
        """Bencoded torrent of a track (check its infohash against the record, and add
        only ``rebuild_torrent``'s result: its trackers and web seeds are the peer's)."""
        return self.get_bytes(f"/osp/v0/tracks/{quote(track_id, safe=':')}/torrent", MAX_TORRENT, "application/x-bittorrent")

    def find_by_infohash(self, infohash: str) -> list[Any]:
        """Records the peer lists for a v1 infohash (unverified)."""
        listing = self.get_json(f"/osp/v0/tracks?infohash={infohash}", MAX_LISTING)
        tracks = listing.get("tracks") if isinstance(listing, dict) else None
        return tracks if isinstance(tracks, list) else []

    def search(self, params: Iterable[tuple[str, str]]) -> list[Any]:
        """``GET /osp/v0/search?…`` (spec §9, the query's ``Query.params()``): the records the
        peer offers, unverified (the caller verifies each and checks it matches).

        Raises ``IntegrityError`` (``check="size"``: over ``MAX_SEARCH`` bytes or
        ``MAX_SEARCH_RESULTS`` records; ``check="json"``: not ``{"results": [object…]}``) —
        a hostile or broken peer — and ``PeerError`` when it cannot be reached in time."""
        path = "/osp/v0/search?" + urlencode(list(params))
        try:
            data = self.get_bytes(path, MAX_SEARCH, "application/json")
        except PeerError as exc:
            if "answer larger than" in exc.message:
                raise IntegrityError(f"{self.base_url}: search answer over {MAX_SEARCH} bytes", check="size") from exc
            raise
        answer = strict_loads(data, max_bytes=MAX_SEARCH, max_depth=32)  # IntegrityError(check="json")
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise IntegrityError(f"{self.base_url}: search answer is not {{\"results\": [record…]}}", check="json")
        if len(results) > MAX_SEARCH_RESULTS:
            raise IntegrityError(f"{self.base_url}: {len(results)} results, at most {MAX_SEARCH_RESULTS} allowed",
                                 check="size")
        return results
