"""The node's place on the network: the saved DHT state and the reachability report.

DHT state (issue 8 "Bootstrap and configuration"): the DHT's node id and routing table
(``Engine.dht_state()``, bencoded) are kept in ``<data-dir>/dht-state`` so a restart
rejoins through the nodes it knew instead of the bootstrap routers only.  The file is
written atomically (a temporary file, then ``os.replace``) every ``DHT_STATE_INTERVAL``
seconds by ``DhtStateSaver``'s thread and once more at close; it is only a cache, so a
missing, unreadable, oversized or junk file is ignored (the engine starts afresh).

Reachability (issue 8 "Reachability"): ``reachability_report`` is what ``osp node``'s
start-up lines, ``GET /api/node``, ``GET /api/status`` and ``osp status`` show.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from osp.core.settings import is_loopback_host

if TYPE_CHECKING:
    from osp.node.core import Node

__all__ = ["DHT_STATE_INTERVAL", "MAX_DHT_STATE", "DhtStateSaver", "announce_ports", "http_port_to_map",
           "load_dht_state", "reachability_report",
           "save_dht_state"]

DHT_STATE_INTERVAL = 300.0  #: seconds between two saves of the DHT state by a running node
MAX_DHT_STATE = 1024 * 1024  #: bytes; a bigger file is not ours (a few hundred nodes take ~10 KiB)


def load_dht_state(path: Path) -> bytes | None:
    """The saved DHT state at ``path``, or ``None`` if there is none, it cannot be read, or
    it is over ``MAX_DHT_STATE`` bytes (junk content is left to ``Engine``, which ignores it)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_DHT_STATE + 1)
    except OSError:
        return None
    return data if 0 < len(data) <= MAX_DHT_STATE else None


def save_dht_state(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``path.tmp`` created exclusively, never through a
    link, mode 0600, then renamed over ``path``).  Raises ``OSError``."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class DhtStateSaver:
    """Saves ``state()`` to ``path`` every ``interval`` seconds on a daemon thread, and once
    more at ``close()``.  ``state()`` returns the bytes to save, or ``None`` to keep the file
    as it is (an empty routing table must not overwrite a useful one).  Errors writing the
    file are swallowed: the state is a cache."""

    def __init__(self, state: Callable[[], bytes | None], path: Path, interval: float = DHT_STATE_INTERVAL) -> None:
        self._state = state
        self.path = path
        self.interval = interval
        self.saves = 0  #: files written so far
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the periodic saves (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="osp-dht-state", daemon=True)
            self._thread.start()

    def save(self) -> bool:
        """Save now; ``True`` if the file was written."""
        with self._lock:
            try:
                data = self._state()
                if not data:
                    return False
                save_dht_state(self.path, data)
            except (OSError, RuntimeError):
                return False
            self.saves += 1
            return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.save()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread (waits ``timeout`` s at most) and save one last time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.save()


def reachability_report(node: Node) -> dict[str, Any] | None:
    """How peers can reach ``node`` (``None`` before its engine runs), as JSON::

        {"bittorrentPort": 6881, "bittorrentFallbackFrom": null | 6881 (the configured port was
         taken), "httpPort": 8787 | null, "externalAddress": "203.0.113.7" | null (unknown yet:
         no DHT node or peer told us), "portMapping": "off" | "pending" | "mapped" | "failed",
         "mappedPort": 6881 | null, "httpMapping": "off" | "pending" | "mapped" | "failed" (the
         peer HTTP port's own UPnP / NAT-PMP mapping, ``http_port_to_map``), "httpMappedPort":
         8787 | null (the router's outside port for it), "dhtNodes": 12}
    """
    engine = node.engine
    if engine is None:
        return None
    r = engine.reachability()
    http_port = urlsplit(node.http_url).port if node.http_url else None
    return {
        "bittorrentPort": r.bittorrent_port,
        "bittorrentFallbackFrom": node.settings.listen[1] if engine.listen_fallback else None,
        "httpPort": http_port,
        "externalAddress": r.external_ip,
        "portMapping": r.port_mapping,
        "mappedPort": r.mapped_port,
        "httpMapping": r.http_mapping,
        "httpMappedPort": r.http_mapped_port,
        "dhtNodes": r.dht_nodes,
    }


def http_port_to_map(http_url: str | None, bind_host: str | None = None) -> int | None:
    """The peer HTTP port to ask the router for (``Engine.map_port``), or ``None`` when there
    is no peer listener or it listens on loopback only (the router could not reach it).
    ``bind_host``: the address the listener is bound to (``Settings.http[0]``), which decides
    instead of the URL's host (an unspecified ``0.0.0.0`` bind has a loopback ``http_url``)."""
    if not http_url:
        return None
    parts = urlsplit(http_url)
    if is_loopback_host(parts.hostname or "" if bind_host is None else bind_host):
        return None
    return parts.port


def peer_listener_hidden(node: Node) -> bool:
    """``True`` when other machines cannot reach ``node``'s peer listener: it is bound to a
    loopback address (``--http 127.0.0.1:…``) while the node is not on a loopback test network
    (``allow_private_peers``) and has no ``public_url`` (a reverse proxy in front).  Such a
    node announces no HTTP keys on the DHT: seekers would dial a port nobody answers on."""
    s = node.settings
    return is_loopback_host(s.http[0]) and not s.allow_private_peers and not s.public_url


def announce_ports(node: Node) -> tuple[int | None, int | None]:
    """``(http, bittorrent)`` ports to announce in the DHT (BEP 5 ``announce_peer``): the
    router's outside ports when UPnP / NAT-PMP mapped ours (a peer dials the router, whose
    outside port may differ from ours), else the bound ports; ``None`` when that listener
    does not run or is hidden on loopback (``peer_listener_hidden``)."""
    engine = node.engine
    http = urlsplit(node.http_url).port if node.http_url and not peer_listener_hidden(node) else None
    if engine is None:
        return http, None
    r = engine.reachability()
    if http is not None and r.http_mapping == "mapped" and r.http_mapped_port:
        http = r.http_mapped_port
    bittorrent = r.mapped_port if r.port_mapping == "mapped" and r.mapped_port else r.bittorrent_port
    return http, bittorrent
