"""The BitTorrent engine's session: one ``libtorrent.session``, its torrents and its alerts.

Part of ``osp.distribution.engine``, the only package that imports ``libtorrent``.
``Engine`` names torrents by hex v1 infohash, turns libtorrent alerts into the frozen
dataclass events of ``osp.distribution.events`` (dispatched by type to subscribers from
one alert thread) and libtorrent errors into ``OspError`` subclasses.  Its DHT and
reachability calls live in ``engine/dht.py`` (``DhtMixin``), torrent files in
``engine/metainfo.py``.

Implements, through libtorrent 2.1: BEP 3 (peer protocol), BEP 5 (DHT), BEP 9 (magnet
metadata), BEP 19 (web seeds), BEP 52 (v2/hybrid torrents).  Settings follow the
measurements in design.md §4 (uTP off and several connections per IP on test
networks; auto-managed and paused cleared so every torrent seeds at once; resume data
saved with ``save_info_dict``).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import libtorrent as lt

from osp.core.errors import CallerError, CorruptDataError, NotFoundError
from osp.distribution.engine.dht import DhtMixin
from osp.distribution.engine.metainfo import _bdecode, rebuild_torrent
from osp.distribution.events import (
    CacheFlushed,
    EngineConfig,
    Event,
    HashFailed,
    PeerBanned,
    PeerInfo,
    PieceFinished,
    PieceRead,
    ResumeDataSaved,
    StorageMoved,
    TorrentDeleted,
    TorrentFailed,
    TorrentFinished,
    TorrentStatus,
)

__all__ = ["Engine"]


def _verified_bytes(st: Any, piece_len: int) -> int:
    """Bytes of the pieces a ``torrent_status`` has (the last piece may be short)."""
    pieces = st.pieces
    size = int(st.total_wanted)
    if not pieces or not piece_len:
        return size if st.is_seeding or st.is_finished else 0
    have = sum(1 for p in pieces if p)
    total = have * piece_len
    if pieces[-1]:
        total -= len(pieces) * piece_len - size
    return max(0, min(total, size))


_STATES = {
    "checking_files": "checking",
    "checking_resume_data": "checking",
    "downloading_metadata": "downloading-metadata",
    "downloading": "downloading",
    "finished": "finished",
    "seeding": "seeding",
}


#: ``peer_info.source`` flags, by the names ``PeerInfo.sources`` uses
_PEER_SOURCES = ("pex", "tracker", "dht", "lsd", "resume_data")


class Engine(DhtMixin):
    """One libtorrent session.  Thread-safe; call ``close()`` when done.

    Subscribers registered with ``subscribe`` are called from the alert thread with
    each ``Event``; they must not block.  The DHT and reachability calls (``dht_*``,
    ``reachability``, ``map_port``) come from ``DhtMixin`` (``engine/dht.py``).
    """

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        host, port = config.listen
        iface = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        pack = {
            "listen_interfaces": iface,
            "enable_dht": config.dht,
            "enable_lsd": False,
            "enable_upnp": config.port_mapping,
            "enable_natpmp": config.port_mapping,
            "alert_mask": int(
                lt.alert.category_t.error_notification
                | lt.alert.category_t.status_notification
                | lt.alert.category_t.dht_notification
                | lt.alert.category_t.dht_operation_notification
                | lt.alert.category_t.port_mapping_notification
                | lt.alert.category_t.storage_notification
                | lt.alert.category_t.piece_progress_notification
                | lt.alert.category_t.peer_notification
            ),
            "alert_queue_size": 10_000,
            "ssrf_mitigation": True,
            "no_connect_privileged_ports": not config.local_network,
            "webtorrent_stun_server": "",
            "active_downloads": -1,
            "active_seeds": -1,
            "active_limit": -1,
            "active_checking": 4,
            "allow_multiple_connections_per_ip": True,
            "upload_rate_limit": config.upload_rate_limit,
            "download_rate_limit": config.download_rate_limit,
            "ignore_limits_on_local_network": False,
            "user_agent": "osp-node/0.1 libtorrent/2.1.1",
            "peer_fingerprint": "-OS0100-",
            # Peer exchange (BEP 11, ut_pex, on by default) names only connected peers: keep a
            # finished listener connected to its seeder (until libtorrent's 10-minute
            # inactivity timeout), so the seeder can introduce the next listener to it.
            "close_redundant_connections": False,
        }
        if config.local_network:
            pack.update(
                {
                    "enable_outgoing_utp": False,
                    "enable_incoming_utp": False,
                    "dht_restrict_routing_ips": False,
                    "dht_restrict_search_ips": False,
                    "dht_enforce_node_id": False,
                    "dht_prefer_verified_node_ids": False,
                    "dht_ignore_dark_internet": False,
                    "dht_block_ratelimit": 100_000,
                    "dht_upload_rate_limit": 1_000_000,  # bytes/s: many nodes on one host
                }
            )
        if config.bootstrap or config.local_network:
            pack["dht_bootstrap_nodes"] = ",".join(f"{h}:{p}" for h, p in config.bootstrap)
        try:
            self._session = _new_session(pack, config.dht_state)
        except RuntimeError as exc:
            raise CallerError(f"cannot start the BitTorrent session on {iface}: {exc}") from exc
        #: the configured port was taken: listening on another one instead (``listen_port``;
        #: libtorrent first tries the next 10 ports, then we ask for any free one)
        self.listen_fallback = False
        if port != 0 and not self._listening():
            fallback = f"[{host}]:0" if ":" in host else f"{host}:0"
            self._session.apply_settings({"listen_interfaces": fallback})
            self._listening()
        self.listen_fallback = port != 0 and self.listen_port != port
        self._init_dht()
        self._handles: dict[str, lt.torrent_handle] = {}
        self._subscribers: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._alert_loop, name="osp-engine-alerts", daemon=True)
        self._thread.start()

    # -- session ---------------------------------------------------------------

    @property
    def listen_port(self) -> int:
        """The bound BitTorrent port (resolves port 0)."""
        return int(self._session.listen_port())

    def _listening(self, timeout: float = 2.0) -> bool:
        """Wait until libtorrent has bound a port (it binds on its network thread)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._session.listen_port() != 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def set_upload_limit(self, rate: int) -> None:
        """Cap BitTorrent uploads at ``rate`` bytes/s (0: none); see ``ratelimit.UploadBudget``."""
        self._session.apply_settings({"upload_rate_limit": max(0, int(rate))})

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback`` for every event; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def close(self) -> None:
        """Stop the alert thread and the session (does not save resume data)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._thread.join(timeout=5)
        self._session.pause()
        del self._session

    # -- torrents --------------------------------------------------------------

    def add(
        self,
        metainfo: bytes,
        save_path: Path,
        *,
        resume: bytes | None = None,
        seed_mode: bool = False,
        sequential: bool = False,
        peers: Sequence[tuple[str, int]] = (),
        file_name: str | None = None,
        dht: bool = True,
    ) -> str:
        """Add a torrent; returns its hex v1 infohash.  Adding one that is here is a no-op.

        ``resume``: resume data from ``ResumeDataSaved`` (no re-hash on restart); its
        trackers, web seeds and DHT nodes are dropped (only ``metainfo``'s are used), and
        resume data of another torrent is ignored;
        ``seed_mode``: trust the file on disk without hashing (only after our own CID
        check); ``sequential``: fetch pieces in order (fastest stream start from a slow
        peer, design.md §4); ``peers``: ``(host, port)`` to dial at once; ``file_name``: our
        name for its one file (the info dict's is a peer's choice, design.md §4; renaming
        is local: the infohash stays); ``dht=False``: libtorrent neither announces the
        torrent in the DHT nor looks its peers up there (library seeds: the node's announcer
        announces them within its message budget, ``dht_announce``).
        """
        try:
            atp = lt.read_resume_data(resume) if resume else None
            ti = lt.torrent_info(_bdecode(metainfo))
            if atp is not None and str(atp.info_hashes.v1) == str(ti.info_hashes().v1):
                # Resume data keeps the trackers, web seeds and DHT nodes of the session that
                # saved it (maybe a peer's, design.md §8 "Egress"): only ``metainfo``'s count.
                atp.ti = ti
                atp.trackers, atp.tracker_tiers, atp.url_seeds, atp.http_seeds, atp.dht_nodes = [], [], [], [], []
                atp.flags &= ~lt.torrent_flags.override_trackers & ~lt.torrent_flags.override_web_seeds
            else:
                atp, resume = lt.add_torrent_params(), None
                atp.ti = ti
        except (RuntimeError, TypeError, ValueError) as exc:
            raise CorruptDataError(f"cannot load torrent: {exc}") from exc
        atp.save_path = str(save_path)
        if file_name is not None:
            if not file_name or "/" in file_name or "\\" in file_name or file_name in (".", ".."):
                raise CallerError(f"not a plain file name: {file_name!r}")
            atp.renamed_files = {0: file_name}
        flags = atp.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
        if seed_mode and not resume:
            flags |= lt.torrent_flags.seed_mode
        if sequential:
            flags |= lt.torrent_flags.sequential_download
        if not dht:
            flags |= lt.torrent_flags.disable_dht
        atp.flags = flags
        infohash = str(atp.ti.info_hashes().v1)
        with self._lock:
            if infohash in self._handles:
                handle = self._handles[infohash]
            else:
                handle = self._session.add_torrent(atp)
                self._handles[infohash] = handle
        for peer in peers:
            handle.connect_peer(peer)
        return infohash

    def add_magnet(self, infohash: str, save_path: Path, *, peers: Sequence[tuple[str, int]] = (),
                   file_name: str | None = None, hold: bool = False) -> str:
        """Add a torrent known only by its hex v1 ``infohash``: libtorrent fetches the info
        dictionary from peers (BEP 9) found by ``peers`` and a DHT ``get_peers`` (BEP 5) and
        checks it against the infohash.  No trackers nor web seeds (egress, design.md §8);
        ``file_name`` as in ``add``.  Returns the infohash; ``CallerError`` if it is not 40 hex
        digits; adding one that is here is a no-op.  ``metainfo`` gives the torrent once known.

        ``hold``: fetch the metadata only: every file gets priority 0 when it arrives
        (libtorrent ``default_dont_download``), so no piece is requested nor written until
        ``release`` — the caller checks the size in ``metainfo`` first (a peer-chosen
        torrent may be any size).  While held, ``status`` reports ``total_wanted`` 0.
        """
        if len(infohash) != 40 or any(c not in "0123456789abcdef" for c in infohash):
            raise CallerError(f"not a hex v1 infohash: {infohash!r}")
        atp = lt.parse_magnet_uri(f"magnet:?xt=urn:btih:{infohash}")
        atp.save_path = str(save_path)
        if file_name is not None:
            if not file_name or "/" in file_name or "\\" in file_name or file_name in (".", ".."):
                raise CallerError(f"not a plain file name: {file_name!r}")
            atp.renamed_files = {0: file_name}
        atp.flags = atp.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
        if hold:
            atp.flags |= lt.torrent_flags.default_dont_download
        with self._lock:
            handle = self._handles.get(infohash)
            if handle is None:
                handle = self._session.add_torrent(atp)
                self._handles[infohash] = handle
        for peer in peers:
            handle.connect_peer(peer)
        return infohash

    def release(self, infohash: str) -> None:
        """Let a torrent added with ``add_magnet(hold=True)`` download: every file back to
        the default priority (4).  ``CallerError`` before its metadata is here (nothing to
        release yet), ``NotFoundError`` if it is not here."""
        handle = self._handle(infohash)
        ti = handle.torrent_file()
        if ti is None:
            raise CallerError(f"the torrent {infohash} has no metadata yet: check it before releasing it")
        handle.prioritize_files([4] * ti.num_files())

    def metainfo(self, infohash: str) -> bytes | None:
        """The torrent (its info dictionary alone, ``rebuild_torrent``) once libtorrent has its
        metadata; ``None`` before; ``NotFoundError`` if it is not here."""
        ti = self._handle(infohash).torrent_file()
        if ti is None:
            return None
        info = bytes(ti.info_section())
        if not info:
            return None
        return rebuild_torrent(b"d4:info" + info + b"e")

    def remove(self, infohash: str, *, delete_files: bool = False, timeout: float = 10.0) -> None:
        """Remove a torrent from the session; with ``delete_files``, delete its files and
        return once libtorrent has (or after ``timeout`` s): no later write recreates them."""
        with self._lock:
            handle = self._handles.pop(infohash, None)
        if handle is not None and delete_files:
            self._await(lambda e: isinstance(e, TorrentDeleted) and e.infohash == infohash,
                        lambda: self._session.remove_torrent(handle, lt.session.delete_files), timeout)
        elif handle is not None:
            self._session.remove_torrent(handle)

    def _handle(self, infohash: str) -> lt.torrent_handle:
        with self._lock:
            handle = self._handles.get(infohash)
        if handle is None or not handle.is_valid():
            raise NotFoundError(f"no torrent {infohash} in the session")
        return handle

    def has_torrent(self, infohash: str) -> bool:
        with self._lock:
            return infohash in self._handles

    def infohashes(self) -> list[str]:
        with self._lock:
            return list(self._handles)

    def connect_peer(self, infohash: str, peer: tuple[str, int]) -> None:
        """Dial ``peer`` for the torrent (e.g. the address a ``--peer`` node gave)."""
        self._handle(infohash).connect_peer(peer)

    def add_tracker(self, infohash: str, url: str) -> None:
        """Announce the torrent to ``url`` too (``http(s)://``, ``udp://``, or a WebTorrent
        ``ws(s)://`` tracker, where browsers meet libtorrent over WebRTC)."""
        handle = self._handle(infohash)
        handle.add_tracker({"url": url, "tier": 0})
        handle.force_reannounce()

    def sources(self, infohash: str) -> tuple[list[str], list[str]]:
        """``(trackers, web_seeds)`` the session uses for the torrent: tracker URLs, then
        BEP 19 ``url-list`` and BEP 17 ``httpseeds`` URLs; ``NotFoundError`` if not here."""
        handle = self._handle(infohash)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            trackers = [str(t["url"]) for t in handle.trackers()]
            seeds = sorted(str(u) for u in handle.url_seeds()) + sorted(str(u) for u in handle.http_seeds())
        return trackers, seeds

    def status(self, infohash: str) -> TorrentStatus:
        handle = self._handle(infohash)
        st = handle.status()
        ti = handle.torrent_file()
        err = st.errc.message() if st.errc.value() else None
        return TorrentStatus(
            infohash=infohash,
            name=st.name,
            state=_STATES.get(str(st.state), str(st.state)),
            progress=float(st.progress),
            total_done=int(st.total_wanted_done),
            total_wanted=int(st.total_wanted),
            download_rate=int(st.download_payload_rate),
            upload_rate=int(st.upload_payload_rate),
            num_peers=int(st.num_peers),
            num_seeds=int(st.num_seeds),
            total_uploaded=int(st.all_time_upload),
            error=err,
            verified=_verified_bytes(st, ti.piece_length() if ti is not None else 0),
        )

    def pause(self, infohash: str) -> None:
        """Pause a torrent (no more pieces, nothing uploaded); no-op if it is not here."""
        with self._lock:
            handle = self._handles.get(infohash)
        if handle is not None and handle.is_valid():
            handle.unset_flags(lt.torrent_flags.auto_managed)
            handle.pause()

    def connected_sources(self, infohash: str) -> dict[str, int]:
        """Connected sources of a torrent by kind: ``{"bittorrent": n, "webSeeds": n}``
        (BEP 19 web seeds and BEP 17 HTTP seeds count as web seeds)."""
        peers = self._handle(infohash).get_peer_info()
        web = sum(1 for p in peers if p.connection_type in (lt.peer_info.web_seed, lt.peer_info.http_seed))
        return {"bittorrent": len(peers) - web, "webSeeds": web}
    def peers(self, infohash: str) -> list[PeerInfo]:
        """BitTorrent peers connected for the torrent now (BEP 19/17 web seeds left out);
        ``NotFoundError`` if it is not here."""
        found = []
        for p in self._handle(infohash).get_peer_info():
            if p.connection_type in (lt.peer_info.web_seed, lt.peer_info.http_seed):
                continue
            sources = frozenset(name for name in _PEER_SOURCES if int(p.source) & int(getattr(lt.peer_info, name)))
            found.append(PeerInfo(str(p.ip[0]), int(p.ip[1]), bool(int(p.flags) & int(lt.peer_info.outgoing_connection)),
                                  sources, bool(int(p.flags) & int(lt.peer_info.seed)), int(p.total_download),
                                  int(p.total_upload)))
        return found

    def totals(self) -> tuple[int, int, int]:
        """``(upload_rate, download_rate, peers)`` over every torrent of the session: BitTorrent
        payload bytes/s (HTTP served by our listeners is not in it) and connected peers."""
        with self._lock:
            handles = list(self._handles.values())
        up = down = peers = 0
        for handle in handles:
            if not handle.is_valid():
                continue
            st = handle.status()
            up += int(st.upload_payload_rate)
            down += int(st.download_payload_rate)
            peers += int(st.num_peers)
        return up, down, peers

    def have_piece(self, infohash: str, piece: int) -> bool:
        return bool(self._handle(infohash).have_piece(piece))

    def prioritize(self, infohash: str, pieces: Sequence[tuple[int, int]], *, preempt: bool = False) -> None:
        """Give ``pieces`` (``(piece, deadline_ms)``) libtorrent piece deadlines (time-critical
        pieces: top priority, requested from the fastest peers, re-requested when late).

        ``preempt``: first drop every earlier deadline of the torrent, so that setting the
        first new one makes libtorrent cancel the requests queued at peers for any other
        piece (``torrent::cancel_non_critical``): the new range does not wait behind the
        read-ahead already requested (``schedule`` rule 1).
        """
        handle = self._handle(infohash)
        if preempt:
            handle.clear_piece_deadlines()
        for piece, deadline in pieces:
            if not handle.have_piece(piece):
                handle.set_piece_deadline(piece, deadline)

    def focus(self, infohash: str, pieces: Collection[int] | None) -> None:
        """Download only ``pieces`` (and pieces given deadlines later) for now: every other
        piece gets priority 0; ``None`` ends the focus (pieces at 0 go back to the default
        priority 4).  A stream's first pieces then do not queue at the seeder behind the
        rest of the download."""
        handle = self._handle(infohash)
        current = list(handle.get_piece_priorities())
        if pieces is None:
            wanted = [4 if p == 0 else p for p in current]
        else:
            keep = set(pieces)
            wanted = [p if i in keep else 0 for i, p in enumerate(current)]
        if wanted != current:
            handle.prioritize_pieces(wanted)

    def add_piece(self, infohash: str, piece: int, data: bytes) -> None:
        """Hand libtorrent a piece fetched elsewhere (a web seed over HTTP) that the caller has
        checked against the piece hash; libtorrent checks it again (``PieceFinished`` or
        ``HashFailed`` follow) and it replaces any blocks peers had sent for that piece."""
        self._handle(infohash).add_piece(piece, data, lt.torrent_handle.overwrite_existing)

    def _await(self, matches: Callable[[Event], bool], start: Callable[[], None], timeout: float) -> Event | None:
        """Subscribe, call ``start``, and return the first event ``matches`` accepts (or ``None``)."""
        box: list[Event] = []
        done = threading.Event()

        def on(event: Event) -> None:
            if not done.is_set() and matches(event):
                box.append(event)
                done.set()

        unsubscribe = self.subscribe(on)
        try:
            start()
            done.wait(timeout)
        finally:
            unsubscribe()
        return box[0] if box else None

    def flush(self, infohash: str, timeout: float = 30.0) -> None:
        """Write every buffered block of the torrent to its file (libtorrent keeps a write
        cache: a file read right after ``TorrentFinished`` may not see the last blocks)."""
        handle = self._handle(infohash)
        event = self._await(lambda e: isinstance(e, CacheFlushed) and e.infohash == infohash,
                            handle.flush_cache, timeout)
        if event is None:
            raise CorruptDataError(f"libtorrent did not flush {infohash} to disk within {timeout:.0f} s")

    def move_storage(self, infohash: str, directory: Path, timeout: float = 60.0) -> None:
        """Move the torrent's file into ``directory`` while it keeps seeding.  A file already
        at the destination is never adopted nor written through (``fail_if_exist``: the move
        fails); the caller checks the destination first.  ``CorruptDataError`` on failure."""
        handle = self._handle(infohash)
        event = self._await(lambda e: isinstance(e, StorageMoved) and e.infohash == infohash,
                            lambda: handle.move_storage(str(directory), lt.move_flags_t.fail_if_exist), timeout)
        if not isinstance(event, StorageMoved):
            raise CorruptDataError(f"moving {infohash} to {directory.name}/ did not finish within {timeout:.0f} s")
        if event.error:
            raise CorruptDataError(f"cannot move {infohash} to {directory.name}/ (libtorrent: storage move failed)")

    def read_piece(self, infohash: str, piece: int, timeout: float = 30.0) -> bytes:
        """The bytes of a piece the torrent has (verified), read through libtorrent's cache."""
        handle = self._handle(infohash)
        event = self._await(lambda e: isinstance(e, PieceRead) and e.infohash == infohash and e.piece == piece,
                            lambda: handle.read_piece(piece), timeout)
        if not isinstance(event, PieceRead):
            raise CorruptDataError(f"libtorrent did not read piece {piece} of {infohash} within {timeout:.0f} s")
        if event.error:
            raise CorruptDataError(f"cannot read piece {piece} of {infohash}: {event.error}")
        return event.data

    def request_resume_data(self, infohash: str | None = None, *, always: Iterable[str] = ()) -> list[str]:
        """Ask libtorrent for resume data of torrents whose state changed since the last
        save, and of those in ``always`` whatever libtorrent thinks (a torrent added a
        moment ago may not be flagged yet); ``ResumeDataSaved`` events follow.  Returns the
        infohashes asked for."""
        forced = set(always)
        with self._lock:
            items = [(infohash, self._handles[infohash])] if infohash in self._handles else []
            if infohash is None:
                items = list(self._handles.items())
        asked = []
        for ih, handle in items:
            if handle.is_valid() and (ih in forced or handle.need_save_resume_data()):
                handle.save_resume_data(lt.torrent_handle.save_info_dict | lt.torrent_handle.flush_disk_cache)
                asked.append(ih)
        return asked

    # -- alerts ----------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._reach.feed(event)
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # a subscriber's bug must not kill the alert thread
                pass

    def _alert_loop(self) -> None:
        session = self._session
        while not self._closed.is_set():
            if session.wait_for_alert(100) is None:
                continue
            for alert in session.pop_alerts():
                event = self._translate(alert)
                if event is not None:
                    self._emit(event)

    @staticmethod
    def _infohash(alert: lt.alert) -> str:
        try:
            return str(alert.handle.info_hashes().v1)  # type: ignore[attr-defined]
        except (RuntimeError, AttributeError):
            return ""

    def _translate(self, alert: lt.alert) -> Event | None:
        if isinstance(alert, lt.piece_finished_alert):
            return PieceFinished(self._infohash(alert), int(alert.piece_index))
        if isinstance(alert, lt.torrent_finished_alert):
            return TorrentFinished(self._infohash(alert))
        if isinstance(alert, lt.hash_failed_alert):
            return HashFailed(self._infohash(alert), int(alert.piece_index))
        if isinstance(alert, lt.peer_ban_alert):
            ep = alert.endpoint
            return PeerBanned(self._infohash(alert), f"{ep[0]}:{ep[1]}")
        if isinstance(alert, lt.save_resume_data_alert):
            return ResumeDataSaved(self._infohash(alert), bytes(lt.write_resume_data_buf(alert.params)))
        if isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert)):
            return TorrentFailed(self._infohash(alert), alert.message())
        if isinstance(alert, lt.storage_moved_alert):
            return StorageMoved(self._infohash(alert), None)
        if isinstance(alert, lt.storage_moved_failed_alert):
            return StorageMoved(self._infohash(alert), alert.message())
        if isinstance(alert, (lt.torrent_deleted_alert, lt.torrent_delete_failed_alert)):
            failed = isinstance(alert, lt.torrent_delete_failed_alert)
            return TorrentDeleted(str(alert.info_hashes.v1), alert.message() if failed else None)
        if isinstance(alert, lt.cache_flushed_alert):
            return CacheFlushed(self._infohash(alert))
        dht = self._translate_session(alert)
        if dht is not None:
            return dht
        if isinstance(alert, lt.read_piece_alert):
            failed = alert.error.value() != 0
            return PieceRead(self._infohash(alert), int(alert.piece), b"" if failed else bytes(alert.buffer),
                             alert.error.message() if failed else None)
        return None


def _new_session(pack: dict[str, Any], dht_state: bytes | None) -> lt.session:
    """A session with ``pack``'s settings and, if given and readable, the DHT state of an
    earlier run (junk state is ignored: it is only a cache of DHT nodes)."""
    if dht_state:
        try:
            params = lt.read_session_params(dht_state, lt.save_state_flags_t.save_dht_state)
        except (RuntimeError, TypeError, ValueError):
            params = None
        if params is not None:
            params.settings = pack  # type: ignore[assignment]  # the binding converts the dict
            return lt.session(params)
    session: lt.session = lt.session(pack)  # type: ignore[call-overload]
    return session
