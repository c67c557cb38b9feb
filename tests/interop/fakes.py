"""Small loopback servers for interop tests: a BitTorrent HTTP tracker (BEP 3) that
hands out fixed peers, and an OSP peer API that serves records and torrents but points
BitTorrent at another client."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def bencode(value: object) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(type(value))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(host: str, routes: Callable[[str], tuple[int, str, bytes]]) -> Iterator[str]:
    """Serve ``routes(path) -> (status, content_type, body)`` on ``host``; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            status, ctype, body = routes(self.path)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextmanager
def tracker(host: str, peers: list[tuple[str, int]]) -> Iterator[str]:
    """A tracker whose every announce answers ``peers``; yields the announce URL."""
    body = bencode({"interval": 60, "peers": [{"ip": ip, "port": port} for ip, port in peers]})
    with serve(host, lambda path: (200, "text/plain", body)) as url:
        yield f"{url}/announce"


@contextmanager
def osp_peer(host: str, record: dict, torrent: bytes, bt_port: int) -> Iterator[str]:  # type: ignore[type-arg]
    """An OSP peer API serving one record and its torrent, whose BitTorrent is at ``bt_port``."""
    rid = record["id"]

    def routes(path: str) -> tuple[int, str, bytes]:
        if path == "/osp/v0/node":
            return 200, "application/json", json.dumps({"bittorrent": {"port": bt_port}}).encode()
        if path == f"/osp/v0/tracks/{rid}":
            return 200, "application/ld+json", json.dumps(record).encode()
        if path == f"/osp/v0/tracks/{rid}/torrent":
            return 200, "application/x-bittorrent", torrent
        return 404, "application/json", b"{}"

    with serve(host, routes) as url:
        yield url


def _skip(data: bytes, i: int) -> int:
    """Index just past the bencoded value that starts at ``data[i]``."""
    c = data[i:i + 1]
    if c == b"i":
        return data.index(b"e", i) + 1
    if c in (b"l", b"d"):
        i += 1
        while data[i:i + 1] != b"e":
            i = _skip(data, i)
        return i + 1
    colon = data.index(b":", i)
    return colon + 1 + int(data[i:colon])


def with_outer_fields(metainfo: bytes, fields: dict[str, object]) -> bytes:
    """``metainfo`` with its ``info`` dict (and BEP 52 ``piece layers``) kept byte for byte
    (same infohash) and every other top-level key replaced by ``fields`` — what a hostile
    peer can do to a torrent."""
    i, kept = 1, []
    while metainfo[i:i + 1] != b"e":
        key_end = _skip(metainfo, i)
        value_end = _skip(metainfo, key_end)
        if metainfo[i:key_end] in (b"4:info", b"12:piece layers"):
            kept.append((metainfo[i:key_end], metainfo[key_end:value_end]))
        i = value_end
    items = sorted([(bencode(k), bencode(v)) for k, v in fields.items()] + kept, key=lambda kv: kv[0].split(b":", 1)[1])
    return b"d" + b"".join(k + v for k, v in items) + b"e"
