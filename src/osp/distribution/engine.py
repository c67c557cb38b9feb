"""The BitTorrent engine: the ONLY module that imports ``libtorrent``.

It owns one ``libtorrent.session`` and translates everything the rest of the node needs
into plain Python: torrents are named by hex v1 infohash, libtorrent alerts become the
frozen dataclass events of ``osp.distribution.events`` (dispatched by type to subscribers from one alert
thread), and libtorrent errors become ``OspError`` subclasses.

Implements, through libtorrent 2.1: BEP 3 (peer protocol), BEP 5 (DHT), BEP 9 (magnet
metadata), BEP 19 (web seeds), BEP 52 (v2/hybrid torrents).  Settings follow the
measurements in design.md §4 (uTP off and several connections per IP on test
networks; auto-managed and paused cleared so every torrent seeds at once; resume data
saved with ``save_info_dict``).
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import libtorrent as lt

from osp.core.errors import CallerError, CorruptDataError, NotFoundError, PeerError
from osp.distribution.dht import MAX_MUTABLE_VALUE, MutableLookup, PeersLookup, ReachabilityState
from osp.distribution.events import (
    CacheFlushed,
    DhtLookups,
    DhtPeers,
    EngineConfig,
    Event,
    ExternalAddress,
    HashFailed,
    ListenFailed,
    Metainfo,
    MutableItem,
    MutablePut,
    PeerBanned,
    PeerInfo,
    PieceFinished,
    PieceRead,
    PortMapFailed,
    PortMapped,
    Reachability,
    ResumeDataSaved,
    SessionStats,
    StorageMoved,
    TorrentDeleted,
    TorrentFailed,
    TorrentFinished,
    TorrentStatus,
)
from osp.distribution.pieces import piece_length_for

# --- metainfo ----------------------------------------------------------------


def parse_metainfo(data: bytes) -> Metainfo:
    """Parse bencoded torrent bytes; ``CorruptDataError`` if libtorrent rejects them.

    Only single-file torrents are OSP tracks; others raise ``CallerError``.
    """
    try:
        ti = lt.torrent_info(_bdecode(data))
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CorruptDataError(f"not a valid torrent: {exc}") from exc
    if ti.num_files() != 1:
        raise CallerError("an OSP track torrent holds exactly one file")
    hashes = ti.info_hashes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # files()/web_seeds(): no replacement in the binding
        name = ti.files().file_path(0)
        seeds = tuple(ws["url"] for ws in ti.web_seeds())
    return Metainfo(
        infohash=str(hashes.v1),
        infohash_v2=str(hashes.v2) if hashes.has_v2() else None,
        name=name,
        size=ti.total_size(),
        piece_length=ti.piece_length(),
        num_pieces=ti.num_pieces(),
        web_seeds=seeds,
    )


def _bdecode(data: bytes) -> Any:
    """``lt.bdecode`` typed loosely (the stubs give a union); ``None`` for junk."""
    return lt.bdecode(data)


def _quiet(factory: Callable[[], lt.create_torrent]) -> lt.create_torrent:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return factory()


def make_v1_torrent(name: str, size: int, piece_hashes: Sequence[bytes], web_seeds: Sequence[str] = ()) -> bytes:
    """A v1 single-file torrent from precomputed SHA-1 piece hashes, one per piece of
    ``piece_length_for(size)`` bytes (OSP v0.1's piece-length rule, ``distribution.pieces``).

    BEP 3 metainfo; ``web_seeds`` become the BEP 19 ``url-list``.  Creation date and
    creator are left out so the bytes depend only on the content.  ``ValueError`` when
    the number of hashes is not the number of pieces; ``CallerError`` for ``size`` 0.
    """
    if size <= 0:
        raise CallerError("an empty file has no torrent")
    fs = lt.file_storage()
    fs.add_file(name, size)
    ct = _quiet(lambda: lt.create_torrent(fs, piece_length_for(size), lt.create_torrent.v1_only))
    if ct.num_pieces() != len(piece_hashes):
        raise ValueError(f"{len(piece_hashes)} piece hashes for {ct.num_pieces()} pieces")
    for index, digest in enumerate(piece_hashes):
        ct.set_hash(index, digest)
    return rebuild_torrent(bytes(lt.bencode(ct.generate())), web_seeds=web_seeds)


def make_hybrid_torrent(path: Path, web_seeds: Sequence[str] = ()) -> bytes:
    """A BEP 52 hybrid (v1+v2) single-file torrent of the file at ``path`` (reads it); like
    ``make_v1_torrent``, with ``piece_length_for(size)`` pieces, without creation date or creator."""
    size = path.stat().st_size
    if size <= 0:
        raise CallerError("an empty file has no torrent")
    fs = lt.file_storage()
    fs.add_file(path.name, size)
    ct = _quiet(lambda: lt.create_torrent(fs, piece_length_for(size)))
    lt.set_piece_hashes(ct, str(path.parent))
    return rebuild_torrent(bytes(lt.bencode(ct.generate())), web_seeds=web_seeds)


def rebuild_torrent(metainfo: bytes, *, trackers: Sequence[str] = (), web_seeds: Sequence[str] = ()) -> bytes:
    """A torrent made of ``metainfo``'s info dictionary alone, plus trackers and web seeds
    that we chose; everything else a peer put in it is dropped.

    A peer's ``.torrent`` may carry ``announce``, ``announce-list``, ``url-list``,
    ``httpseeds`` and ``nodes``: libtorrent contacts all of them (its ``ssrf_mitigation``
    stops only query strings and non-``/announce`` tracker paths), so a hostile peer could
    steer our engine at any host (design.md §4 "Outbound requests", §8 "Egress").  The
    info dictionary's bytes are kept verbatim, so the v1 (and v2) infohash is unchanged;
    for BEP 52 hybrid/v2 torrents the ``piece layers`` of the torrent's file are kept (they
    sit outside the info dict but libtorrent checks them against its ``pieces root``).

    ``trackers`` become ``announce`` + ``announce-list`` (one tier each, in order);
    ``web_seeds`` the BEP 19 ``url-list``.  Output is deterministic for given inputs.
    Raises ``CorruptDataError`` if libtorrent rejects ``metainfo``.
    """
    ti = _torrent_info(metainfo)
    info = bytes(ti.info_section())
    fields: dict[bytes, Any] = {}
    if trackers:
        fields[b"announce"] = trackers[0].encode()
        fields[b"announce-list"] = [[t.encode()] for t in trackers]
    if web_seeds:
        fields[b"url-list"] = [u.encode() for u in web_seeds]
    decoded = _bdecode(metainfo)
    layers = decoded.get(b"piece layers") if isinstance(decoded, dict) else None
    if isinstance(layers, dict) and ti.info_hashes().has_v2():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # files(): no replacement in the binding
            files = ti.files()
        roots = {bytes(files.root(i).to_bytes()) for i in range(files.num_files())}
        kept = {k: v for k, v in layers.items() if k in roots and isinstance(v, bytes)}
        if kept:
            fields[b"piece layers"] = kept
    parts = [b"d"]
    for key in sorted([*fields, b"info"]):
        parts.append(b"%d:%s" % (len(key), key))
        parts.append(info if key == b"info" else bytes(lt.bencode(fields[key])))
    parts.append(b"e")
    rebuilt = b"".join(parts)
    again = _torrent_info(rebuilt).info_hashes()
    if str(again.v1) != str(ti.info_hashes().v1) or str(again.v2) != str(ti.info_hashes().v2):
        raise CorruptDataError("the rebuilt torrent's infohash differs from the original's")
    return rebuilt


def v1_piece_hashes(metainfo: bytes) -> list[bytes]:
    """The 20-byte SHA-1 of each piece (BEP 3 ``pieces``) of a v1 or hybrid torrent, in order;
    ``CorruptDataError`` if libtorrent rejects ``metainfo``."""
    ti = _torrent_info(metainfo)
    return [bytes(ti.hash_for_piece(i)) for i in range(ti.num_pieces())]


def _torrent_info(metainfo: bytes) -> lt.torrent_info:
    try:
        return lt.torrent_info(_bdecode(metainfo))
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CorruptDataError(f"not a valid torrent: {exc}") from exc


def with_web_seeds(metainfo: bytes, web_seeds: Sequence[str]) -> bytes:
    """``metainfo`` with its ``url-list`` replaced (outside the info dict: same infohash)."""
    decoded: Any = lt.bdecode(metainfo)
    key = b"url-list" if b"info" in decoded else "url-list"
    if web_seeds:
        decoded[key] = [u.encode() if isinstance(key, bytes) else u for u in web_seeds]
    else:
        decoded.pop(key, None)
    return bytes(lt.bencode(decoded))


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


# --- engine ------------------------------------------------------------------


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


class Engine:
    """One libtorrent session.  Thread-safe; call ``close()`` when done.

    Subscribers registered with ``subscribe`` are called from the alert thread with
    each ``Event``; they must not block.
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
        for h, p in [*config.bootstrap, *_state_nodes(config.dht_state)]:
            self._session.add_dht_node((h, p))
        self._reach = ReachabilityState(config.port_mapping)
        self._stats_lock = threading.Lock()
        self._stats_posted = 0  # post_dht_stats calls so far (answers arrive in this order)
        self._stats_seen = 0  # DhtLookups events so far
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

    def reachability(self) -> Reachability:
        """Ports, external address (``ExternalAddress`` votes), port mapping state and DHT
        routing table size, now."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # status(): the replacement is asynchronous
            nodes = int(self._session.status().dht_nodes)
        return self._reach.snapshot(self.listen_port, nodes)

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
                   file_name: str | None = None) -> str:
        """Add a torrent known only by its hex v1 ``infohash``: libtorrent fetches the info
        dictionary from peers (BEP 9) found by ``peers`` and a DHT ``get_peers`` (BEP 5) and
        checks it against the infohash.  No trackers nor web seeds (egress, design.md §8);
        ``file_name`` as in ``add``.  Returns the infohash; ``CallerError`` if it is not 40 hex
        digits; adding one that is here is a no-op.  ``metainfo`` gives the torrent once known.
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
        with self._lock:
            handle = self._handles.get(infohash)
            if handle is None:
                handle = self._session.add_torrent(atp)
                self._handles[infohash] = handle
        for peer in peers:
            handle.connect_peer(peer)
        return infohash

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

    def request_resume_data(self, infohash: str | None = None) -> list[str]:
        """Ask libtorrent for resume data of torrents whose state changed since the last
        save (``ResumeDataSaved`` events follow); returns the infohashes asked for."""
        with self._lock:
            items = [(infohash, self._handles[infohash])] if infohash in self._handles else []
            if infohash is None:
                items = list(self._handles.items())
        asked = []
        for ih, handle in items:
            if handle.is_valid() and handle.need_save_resume_data():
                handle.save_resume_data(lt.torrent_handle.save_info_dict | lt.torrent_handle.flush_disk_cache)
                asked.append(ih)
        return asked

    # -- DHT (BEP 5, BEP 44) ----------------------------------------------------

    def dht_announce(self, key: bytes, port: int) -> None:
        """Announce (BEP 5 ``announce_peer``) that we hold ``key`` (20 bytes: an infohash or a
        rendezvous key) and serve it on ``port`` (1..65535; our HTTP port for rendezvous keys).
        Fire and forget: libtorrent runs a ``get_peers`` lookup, then announces to the 8
        closest nodes, which keep it about 30 minutes.  ``CallerError`` on a bad key or port."""
        if len(key) != 20 or not 0 < port < 65536:
            raise CallerError("a DHT announce needs a 20-byte key and a port in 1..65535")
        self._session.dht_announce(lt.sha1_hash(key), port, 0)

    def _post_dht_stats(self) -> int:
        """Ask for a ``DhtLookups`` snapshot; returns the ``index`` its answer will carry."""
        with self._stats_lock:
            self._stats_posted += 1
            self._session.post_dht_stats()
            return self._stats_posted

    def dht_get_peers(self, key: bytes, timeout: float = 10.0, *, settle: float = 1.0,
                      on_peers: Callable[[list[tuple[str, int]]], None] | None = None) -> list[tuple[str, int]]:
        """The peers announced under ``key`` (BEP 5 ``get_peers``), as ``(ip, port)`` (IPv4 or
        IPv6), deduplicated, in arrival order.  Unverified hints: any DHT node can lie.

        Blocks until the lookup ends (libtorrent has no "done" alert: ended means its DHT
        stats, polled every 50 ms, show no ``get_peers`` lookup running, which on a busy node
        may be only at the deadline; a lookup also waits for slow or dead nodes), or, once
        peers were found, ``settle`` s pass with no new one, or ``timeout`` s pass; then
        returns what it found (an empty list if nothing; at once when the DHT is off or
        knows no node).  ``on_peers``
        is called from the engine's alert thread with each batch of new peers (it must not
        block).  Lookups of the same or different keys may run at once from several threads.
        """
        if len(key) != 20:
            raise CallerError("a DHT key is 20 bytes")
        lookup: PeersLookup | None = None
        done = threading.Event()
        early: list[Event] = []
        guard = threading.Lock()
        last_new = [0.0]

        def on(event: Event) -> None:
            with guard:
                if lookup is None:
                    early.append(event)
                    return
                new = lookup.feed(event)
                if new:
                    last_new[0] = time.monotonic()
                if lookup.done:
                    done.set()
            if new and on_peers is not None:
                on_peers(new)

        unsubscribe = self.subscribe(on)
        try:
            self._session.dht_get_peers(lt.sha1_hash(key))
            index = self._post_dht_stats()
            with guard:
                lookup = PeersLookup(key, index)
                backlog, early[:] = list(early), []
            for event in backlog:
                on(event)
            deadline = time.monotonic() + timeout
            while not done.is_set():
                now = time.monotonic()
                if now >= deadline or (last_new[0] and now - last_new[0] >= settle):
                    break
                if done.wait(min(0.05, deadline - now)):
                    break
                self._post_dht_stats()
        finally:
            unsubscribe()
        with guard:
            return list(lookup.peers)

    def dht_put_mutable(self, secret: bytes, public: bytes, salt: bytes, value: bytes,
                        timeout: float = 20.0) -> int:
        """Store ``value`` as a BEP 44 mutable item under ``(public, salt)``; returns its ``seq``.

        ``secret`` is libtorrent's 64-byte *expanded* Ed25519 secret (SHA-512 of the seed,
        clamped: ``discovery.feed.expanded_secret``), ``public`` the 32-byte key.  The
        value is stored as a bencoded byte string (``v`` = ``<len>:<value>``), at most
        ``MAX_MUTABLE_VALUE`` (996) bytes.  **The caller does not choose ``seq``**: the 2.1
        binding's put first gets the item (authoritatively), then signs and stores ``seq`` =
        the highest seq it found + 1 (1 when none), so a value that must name its own seq
        (``FeedValue.seq``) is written for ``dht_get_mutable(...).seq + 1`` and the returned
        seq checked.  Raises ``PeerError`` when no DHT node stored it or nothing answered in
        ``timeout`` s, ``CallerError`` on bad sizes.
        """
        if len(secret) != 64 or len(public) != 32:
            raise CallerError("a BEP 44 put needs the 64-byte expanded secret and the 32-byte public key")
        if len(value) > MAX_MUTABLE_VALUE or len(salt) > 64:
            raise CallerError(f"a BEP 44 value is at most {MAX_MUTABLE_VALUE} bytes and a salt at most 64")
        event = self._await(lambda e: isinstance(e, MutablePut) and e.public == public and e.salt == salt,
                            lambda: self._session.dht_put_mutable_item(secret, public, value, salt), timeout)
        if not isinstance(event, MutablePut):
            raise PeerError(f"no DHT node confirmed the put within {timeout:.0f} s")
        if event.num_success == 0:
            raise PeerError("no DHT node stored the item")
        return event.seq

    def dht_get_mutable(self, public: bytes, salt: bytes, timeout: float = 10.0) -> MutableItem | None:
        """The BEP 44 mutable item under ``(public, salt)`` with the highest ``seq`` seen, or
        ``None`` if none was found.  Waits for libtorrent's authoritative answer (every close
        node heard) or ``timeout`` s, then returns the best item seen (``authoritative``
        says which).  libtorrent checked the signature; callers check it again with the salt
        they asked for (``MutableLookup`` explains why), and never trust ``seq`` to be fresh
        (BEP 44 items can be replayed).  ``CallerError`` if ``public`` is not 32 bytes.
        """
        if len(public) != 32:
            raise CallerError("a BEP 44 public key is 32 bytes")
        lookup = MutableLookup(public, salt)

        def feed(event: Event) -> bool:
            lookup.feed(event)
            return lookup.done

        self._await(feed, lambda: self._session.dht_get_mutable_item(public, salt), timeout)
        return lookup.best

    def dht_state(self) -> bytes:
        """The DHT's node id and routing table nodes, bencoded (``write_session_params_buf``
        with ``save_dht_state`` only), for ``EngineConfig.dht_state`` next time: a restart
        rejoins through the nodes it knew.  libtorrent keeps the saved node id only while it
        still fits the external address (BEP 42), and makes a new one otherwise."""
        flags = lt.save_state_flags_t.save_dht_state
        return bytes(lt.write_session_params_buf(self._session.session_state(flags), flags))

    def dht_counters(self, timeout: float = 5.0) -> tuple[int, int]:
        """``(messages in, messages out)`` of the DHT since the session started (libtorrent
        counters ``dht.dht_messages_in`` / ``dht.dht_messages_out``); ``(0, 0)`` if libtorrent
        did not answer within ``timeout`` s."""
        event = self._await(lambda e: isinstance(e, SessionStats), self._session.post_session_stats, timeout)
        if not isinstance(event, SessionStats):
            return 0, 0
        return event.values.get("dht.dht_messages_in", 0), event.values.get("dht.dht_messages_out", 0)

    def add_dht_node(self, host: str, port: int) -> None:
        """Ping a DHT node; it enters the routing table when it answers (a private DHT's
        nodes are seeded this way: a bootstrap router alone never enters routing tables)."""
        self._session.add_dht_node((host, port))

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

    def _translate_session(self, alert: lt.alert) -> Event | None:
        """DHT, reachability and session-wide alerts."""
        if isinstance(alert, lt.dht_get_peers_reply_alert):
            peers = tuple((str(ip), int(port)) for ip, port in alert.peers())
            return DhtPeers(bytes(alert.info_hash.to_bytes()), peers)
        if isinstance(alert, lt.dht_stats_alert):
            self._stats_seen += 1
            return DhtLookups(self._stats_seen, tuple(str(r["type"]) for r in alert.active_requests))
        if isinstance(alert, lt.dht_mutable_item_alert):
            item = alert.item
            if not isinstance(item, bytes):
                return None  # not a byte string: not an item we store
            # the non-authoritative alert's salt dangles in libtorrent 2.1 (see MutableLookup)
            salt = bytes(alert.salt) if alert.authoritative else b""
            return MutableItem(bytes(alert.key), salt, int(alert.seq), item, bytes(alert.signature),
                               bool(alert.authoritative))
        if isinstance(alert, lt.dht_put_alert):
            return MutablePut(bytes(alert.public_key), bytes(alert.salt), int(alert.seq), bytes(alert.signature),
                              int(alert.num_success))
        if isinstance(alert, lt.session_stats_alert):
            return SessionStats({str(k): int(v) for k, v in alert.values.items()})
        if isinstance(alert, lt.external_ip_alert):
            return ExternalAddress(str(alert.external_address))
        if isinstance(alert, lt.portmap_alert):
            return PortMapped(int(alert.external_port), _portmap_protocol(alert))
        if isinstance(alert, lt.portmap_error_alert):
            return PortMapFailed(_portmap_protocol(alert), alert.message())
        if isinstance(alert, lt.listen_failed_alert):
            return ListenFailed(f"{alert.address}:{alert.port}", alert.message())
        return None


def _portmap_protocol(alert: Any) -> str:
    """``upnp`` or ``natpmp`` for a portmap alert."""
    return "natpmp" if "natpmp" in str(getattr(alert, "map_transport", "")).lower() else "upnp"


def _state_nodes(dht_state: bytes | None, cap: int = 200) -> list[tuple[str, int]]:
    """The routing table nodes saved in ``dht_state`` (compact BEP 5 endpoints: 6 bytes for
    IPv4, 18 for IPv6), at most ``cap``.  libtorrent 2.1 does not ping them itself when the
    session starts from ``session_params`` with listen interfaces set, so we add them."""
    if not dht_state:
        return []
    try:
        decoded = _bdecode(dht_state)
    except RuntimeError:  # not bencoded
        return []
    state = decoded.get(b"dht state") if isinstance(decoded, dict) else None
    if not isinstance(state, dict):
        return []
    found: list[tuple[str, int]] = []
    for field, size, family in ((b"nodes", 6, socket.AF_INET), (b"nodes6", 18, socket.AF_INET6)):
        entries = state.get(field)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, bytes) and len(entry) == size:
                found.append((socket.inet_ntop(family, entry[:-2]), int.from_bytes(entry[-2:], "big")))
    return found[:cap]


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
