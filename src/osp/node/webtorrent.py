"""The BitTorrent ↔ WebTorrent bridge: libtorrent joins the node's own WebTorrent tracker.

With ``Settings.webtorrent`` on and a share listener bound (``Node.share_url``), every
torrent the engine holds — seeded from the library at start, published, fetched, a feed's
catalog — is announced to ``ws://<share host>:<port>/announce``, the node's tracker
(``osp.apps.web.tracker_socket``), through ``Engine.add_tracker`` at run time: the tracker
is never stored in a torrent (design.md §8: stored torrents carry only what we derive).
libtorrent's WebTorrent support (WebRTC data channels, libdatachannel) then answers the
offers browsers send through that tracker and sends its own.

``WebTorrentAnnouncer`` watches ``Engine.infohashes()`` on a thread (every ``period``
seconds, or at once after ``poke()``) and adds the tracker to each torrent it has not seen,
so no code path that adds a torrent has to remember the bridge.  A torrent removed and
added again between two looks (a fetch that ends on a file the library already had, a
seed restarted after a file check) is a new libtorrent handle without the tracker: every
``verify_every`` looks the announcer asks the engine which torrents really carry it.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from osp.core.errors import OspError
from osp.distribution.engine import Engine

__all__ = ["WebTorrentAnnouncer", "tracker_url"]


def tracker_url(share_url: str) -> str:
    """``ws://host:port/announce`` of the share listener at ``share_url`` (``http://host:port``;
    ``https`` gives ``wss``)."""
    parts = urlsplit(share_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/announce"


class WebTorrentAnnouncer:
    """Adds ``url`` (the node's WebTorrent tracker) to every torrent in ``engine``.

    ``start()`` runs it on a daemon thread; ``close()`` stops it.  ``announced`` holds the
    hex infohashes given the tracker so far (a removed torrent is forgotten, so one added
    again gets the tracker again).
    """

    def __init__(self, engine: Engine, url: str, *, period: float = 1.0, verify_every: int = 10) -> None:
        self.engine = engine
        self.url = url
        self.period = period
        self.verify_every = verify_every
        self._looks = 0
        self.announced: set[str] = set()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="osp-webtorrent", daemon=True)

    def start(self) -> None:
        self.sweep()
        self._thread.start()

    def poke(self) -> None:
        """Look for new torrents now (after adding one)."""
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def sweep(self, *, verify: bool = False) -> int:
        """Add the tracker to each torrent not yet given it; returns how many got it.
        ``verify``: also to each that lost it (asks the engine for every torrent's trackers)."""
        held = set(self.engine.infohashes())
        self.announced &= held
        if verify:
            self.announced = {ih for ih in self.announced if self._carries(ih)}
        added = 0
        for infohash in sorted(held - self.announced):
            try:
                self.engine.add_tracker(infohash, self.url)
            except OspError:
                continue  # removed meanwhile: the next sweep sees
            self.announced.add(infohash)
            added += 1
        return added

    def _carries(self, infohash: str) -> bool:
        try:
            return self.url in self.engine.sources(infohash)[0]
        except OspError:
            return False

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.period)
            self._wake.clear()
            if self._closed.is_set():
                return
            self._looks += 1
            try:
                self.sweep(verify=self._looks % self.verify_every == 0)
            except OspError:
                continue
