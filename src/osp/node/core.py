"""The composition root: builds the node's components from ``Settings``.

``Node`` owns the library, the keystore and (once ``start_engine`` is called) the
BitTorrent engine; the HTTP faces in ``osp.apps`` and the CLI are two front ends on it.
Tests can start any subset: a library-only node publishes and lists, a node with an
engine seeds, fetches and streams.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from osp.core.errors import CallerError, NotFoundError, OspError, RemoteError
from osp.core.settings import Settings
from osp.discovery.search import BadPeers
from osp.distribution.engine import Engine, rebuild_torrent
from osp.distribution.events import EngineConfig, Event, PieceFinished, ResumeDataSaved, TorrentFailed, TorrentFinished
from osp.distribution.peer_client import PeerClient, typed_base_url
from osp.distribution.peer_client import prepare as prepare_tls
from osp.distribution.ratelimit import TokenBucket
from osp.distribution.schedule import probe_pieces
from osp.distribution.streaming import PieceWaiter, Reads, StreamSource
from osp.identity.keys import SigningKey
from osp.identity.keystore import Keystore
from osp.library.analysis import Analyses
from osp.library.cache import CacheUsage
from osp.library.store import FileRow, Library, TrackRow, file_state
from osp.node import resolve as resolving
from osp.node.analysis import AnalysisStep, SimilarIndex
from osp.node.ask import PeerAnswers
from osp.node.cache import OpenStreams, cache_usage, enforce_quota
from osp.node.credentials import C2paStep, PublishCredential, c2pa_store
from osp.node.discovery import LOOKUP_TIMEOUT, Discovery
from osp.node.feeds import FeedService
from osp.node.fetch import Transfer, TransferState
from osp.node.fingerprints import FingerprintStep
from osp.node.fingerprints import forget as forget_fingerprint
from osp.node.gateway_fetch import fetch_from_gateway
from osp.node.gateways import add_gateway_seeds, gateway_fallback
from osp.node.network import DhtStateSaver, http_port_to_map, load_dht_state
from osp.node.publish import (
    PARTIAL_DIR,
    Published,
    TrackMetadata,
    publish_file,
    remove_orphans,
    web_seed_url,
)
from osp.node.recommend import RecommendService, gate_source
from osp.node.search import SearchGate, VerifiedCache, record_index_keys
from osp.node.social import SocialService
from osp.node.streams import stream_source
from osp.node.trackjobs import TrackJobs, TrackStep
from osp.node.trust import TrustService
from osp.node.webtorrent import WebTorrentAnnouncer, tracker_url
from osp.records.track import ID_PREFIX, VerifiedTrack, verify_track
from osp.records.track import prepare as prepare_records
from osp.social.gate import judge


class Node:
    """One OSP node over ``settings.data_dir``.  Close with ``close()``.

    ``clock()`` gives Unix seconds (``time.time``; tests pass a manual clock): it stamps
    when a track was fetched or last began streaming, for the cache quota."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.streams = OpenStreams()  #: ``/stream/`` responses reading now, per track
        self._cache_lock = threading.Lock()
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # what you hold and fetched is yours to show
        self.library = Library(settings.library_path, indexer=record_index_keys)  # fills the search index
        self.keystore = Keystore(settings.identity_dir)
        self.engine: Engine | None = None
        self.http_url: str | None = None  #: set by the HTTP runner once the peer listener is bound
        self.share_url: str | None = None  #: set by the HTTP runner once the share listener is bound
        self.transfers: dict[str, Transfer] = {}
        self.waiter = PieceWaiter()
        self._ask_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="osp-ask-ahead")
        self._late_answers: list[PeerAnswers] = []  #: asks still waiting on a slow node (ended by ``close``)
        self.reads = Reads()
        self._key: SigningKey | None = None
        self._resume_lock = threading.Condition()
        self._resume_pending: set[str] = set()
        self._publish_lock = threading.Lock()
        #: caps HTTP uploads (gateway, web seed) like libtorrent caps BitTorrent ones
        self.upload_bucket = TokenBucket(settings.upload_rate_limit) if settings.upload_rate_limit else None
        self.feeds = FeedService(self)  #: artist feeds: ours put, follows polled (threads start with the engine)
        self.bad_peers = BadPeers(clock)  #: peers that answered forged, off-topic or oversized data (for a while)
        self.discovery = Discovery(self)  #: DHT announcing and holder lookups (started with the engine)
        self.social = SocialService(self)  #: social records: ours signed and spread, peers' verified (spec §10)
        self.search_gate = SearchGate()  #: admits peers' searches (2 at once, per-IP rate): a flood gets 503
        self.verified_records = VerifiedCache()  #: records verified in searches, by hash of their bytes
        self._dht_saver: DhtStateSaver | None = None  #: keeps ``<data-dir>/dht-state`` (started with the engine)
        #: gives every torrent the node's WebTorrent tracker (started with the engine when
        #: ``settings.webtorrent`` and a share listener is bound: ``osp.node.webtorrent``)
        self.webtorrent: WebTorrentAnnouncer | None = None
        #: acoustic fingerprints and near-duplicates of every track (``osp.node.fingerprints``)
        self.fingerprints = FingerprintStep()
        #: the AI-music layer's per-track work (issue 10), in this order: the cheap re-upload check first
        steps: list[TrackStep] = [self.fingerprints, C2paStep(), AnalysisStep()]
        self.similar = SimilarIndex(Analyses(self.library))  #: "more like this" over the analysis vectors
        #: fingerprint, analysis and C2PA check of every track, in the background (started with the engine)
        self.jobs = TrackJobs(self, steps)
        self.library.on_track_added = lambda _id: self.jobs.poke()
        #: the listener's web of trust and quality gate (``osp.node.trust``; worker starts with the engine)
        self.trust = TrustService(self)
        #: recommendations ("for you", "more like this"): refit in the background (``osp.node.recommend``)
        self.recommend = RecommendService(self)
        self.recommend.trust_source = gate_source(self.trust.view, self.trust.gate, judge)  # weighted, gated

    # -- identity ---------------------------------------------------------------

    def signing_key(self) -> SigningKey:
        """The node's identity key (loaded once; ``KeystoreError`` if missing or locked)."""
        if self._key is None:
            self._key = self.keystore.load(self.settings.passphrase)
            if self.library.meta("did") != self._key.did:
                self.library.set_meta("did", self._key.did)
        return self._key

    # -- engine -------------------------------------------------------------------

    @property
    def public_url(self) -> str | None:
        """Base URL of this node's gateway as peers see it (web seeds point here)."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        return self.http_url

    @property
    def public_share_url(self) -> str | None:
        """Base URL of this node's share listener as browsers elsewhere see it (share links):
        ``Settings.share_public_url``, else ``public_url``'s scheme and host with the share
        port, else the bound share listener's URL; ``None`` without a share listener."""
        if self.share_url is None:
            return None
        if self.settings.share_public_url:
            return self.settings.share_public_url.rstrip("/")
        if self.settings.public_url:
            public, port = urlsplit(self.settings.public_url), urlsplit(self.share_url).port
            host = f"[{public.hostname}]" if public.hostname and ":" in public.hostname else public.hostname
            return f"{public.scheme}://{host}:{port}"
        return self.share_url

    def start_engine(self) -> Engine:
        """Start libtorrent and seed every torrent in the library (resume data: no re-hash)."""
        if self.engine is not None:
            return self.engine
        remove_orphans(self.library, self.settings.media_dir)
        prepare_records()  # the first play request must not pay for the schema validator
        prepare_tls()  # nor for the TLS context every outbound client shares
        s = self.settings
        self.engine = Engine(
            EngineConfig(
                listen=s.listen,
                dht=s.dht,
                bootstrap=s.bootstrap,
                local_network=s.allow_private_peers,
                upload_rate_limit=s.upload_rate_limit,
                download_rate_limit=s.download_rate_limit,
                port_mapping=s.maps_ports,
                dht_state=load_dht_state(s.dht_state_path) if s.dht else None,
            )
        )
        self.engine.subscribe(self._on_event)
        http_port = http_port_to_map(self.http_url, s.http[0])
        if s.maps_ports and http_port:  # records, search and web seed reachable through the router too
            self.engine.map_port(http_port)
        if s.dht:
            self._dht_saver = DhtStateSaver(self._dht_state, s.dht_state_path)
            self._dht_saver.start()
        states = self.check_files()
        self.enforce_cache()  # a smaller --cache-size takes effect at start-up, before seeding
        files = {f.cid: f for f in self.library.files()}
        # Versions before issue 6 stored a peer's torrent as received: rebuild those once.
        # (What is seeded and served is rebuilt by ``_seedable`` every time anyway.)
        clean_stored = self.library.meta("stored-torrents") != "rebuilt"
        for row in self.library.torrents():
            metainfo = row.metainfo
            if clean_stored:
                metainfo = rebuild_torrent(row.metainfo)
                if metainfo != row.metainfo:
                    self.library.replace_metainfo(row.infohash, metainfo)
            if states.get(row.cid) != "ok":
                continue  # missing or changed by hand: never seed it (osp ls says so)
            self._seed(metainfo, row.cid, resume=row.resume, file=files.get(row.cid))
        if clean_stored:
            self.library.set_meta("stored-torrents", "rebuilt")
        self.resume_transfers()
        if s.webtorrent and self.share_url:  # browsers meet libtorrent at the node's own tracker
            self.webtorrent = WebTorrentAnnouncer(self.engine, tracker_url(self.share_url))
            self.webtorrent.start()
        self.feeds.start()  # seeds the catalogs held, puts our feed, polls the follows
        self.trust.start()  # recomputes trust off the request path when the social graph changes
        if s.track_jobs:
            self.jobs.start()  # catches up with every track not yet fingerprinted or analysed
        self.recommend.start()  # the first fit, then refits as signals change (osp.node.recommend)
        if s.dht and self.http_url:  # a node with a peer listener announces what it holds
            self.discovery.start()
        return self.engine

    def _dht_state(self) -> bytes | None:
        """The DHT state to save, or ``None`` while the routing table is empty (keep the old file)."""
        engine = self.engine
        if engine is None or engine.reachability().dht_nodes == 0:
            return None
        return engine.dht_state()

    def check_files(self) -> dict[str, str]:
        """Cheap check of every stored file (exists, size): marks each ``ok``, ``missing``
        or ``changed`` in the library and returns ``{cid: state}``.  A file that comes back
        with its size is ``ok`` again (and seeded at the next start)."""
        states = {}
        for f in self.library.files():
            states[f.cid] = file_state(self.settings.data_dir / f.path, f.size)
            if states[f.cid] != f.state:
                self.library.set_file_state(f.cid, states[f.cid])
        return states

    def file_missing(self, cid: str, corrupt: bool = False) -> bool:
        """Re-check the file ``cid`` (a read came up short or failed); if it is gone or
        changed — or ``corrupt``: a block read from it failed its hash — mark it and stop
        seeding every torrent of it.  True if it is unusable."""
        f = self.library.file(cid)
        if f is None:
            return True
        state = "changed" if corrupt else file_state(self.settings.data_dir / f.path, f.size)
        if state == "ok":
            return False
        self.library.set_file_state(cid, state)
        if self.engine is not None:
            for t in self.library.torrents():
                if t.cid == cid:
                    self.engine.remove(t.infohash)
        return True

    def resume_transfers(self) -> list[Transfer]:
        """Re-add every persisted transfer (interrupted by Ctrl-C, a crash or a restart):
        libtorrent keeps each verified piece of its partial file.  Rows whose record no
        longer verifies are dropped."""
        engine = self.engine
        if engine is None:
            self.start_engine()  # which resumes them
            return [t for t in self.transfers.values() if t.state.state in ("checking", "downloading")]
        resumed = []
        for row in self.library.transfer_rows():
            if row.track_id in self.transfers or self.library.track(row.track_id) is not None:
                continue
            try:
                track = verify_track(row.record)
                transfer = Transfer(track, row.metainfo, engine=engine, library=self.library,
                                    media_dir=self.settings.media_dir, peers=row.peers, on_complete=self._transfer_done,
                                    allow_private=self.settings.allow_private_peers,
                                    deadline=self.settings.request_deadline,
                                    fallback=gateway_fallback(self, track) if self.settings.gateways else None)
            except OspError:
                self.library.drop_transfer(row.infohash)
                continue
            self.transfers[track.id] = transfer
            self._start(transfer)
            resumed.append(transfer)
        return resumed

    def _start(self, transfer: Transfer) -> None:
        """Start a transfer; every stream of it keeps the pieces players probe urgent; the
        configured gateways that serve Range join its web seeds (probed in the background)."""
        self.reads.pin(transfer.info.infohash, tuple(probe_pieces(transfer.info.size, transfer.info.piece_length)))
        transfer.start()
        if self.settings.gateways:
            threading.Thread(target=add_gateway_seeds, args=(self, transfer), daemon=True,
                             name=f"osp-gw-seeds-{transfer.info.infohash[:8]}").start()

    def _seed(self, metainfo: bytes, cid: str, resume: bytes | None = None, file: FileRow | None = None) -> None:
        """Seed a library torrent from the file the library stores for ``cid`` (``file``, when
        the caller has it), under the library's name for it (never the torrent's, design.md
        §4 "Parsing untrusted input")."""
        f = file or self.library.file(cid)
        if f is None or self.engine is None:
            return
        path = self.settings.data_dir / f.path
        # dht=False: the announcer announces library infohashes within its budget (osp.node.discovery)
        self.engine.add(self._seedable(metainfo, cid), path.parent, resume=resume, seed_mode=True, file_name=path.name,
                        dht=False)

    def _seedable(self, metainfo: bytes, cid: str) -> bytes:
        """``metainfo`` rebuilt from its info dict, with this node's gateway as the only web seed."""
        url = self.public_url
        return rebuild_torrent(metainfo, web_seeds=[web_seed_url(url, cid)] if url else [])

    def _peer(self, url: str, deadline: float | None = None) -> PeerClient:
        """A client for a peer URL, behind the egress guard (design.md §4 "Outbound requests");
        ``deadline``: seconds for each request (default ``settings.request_deadline``)."""
        return PeerClient(url, allow_private=self.settings.allow_private_peers,
                          deadline=self.settings.request_deadline if deadline is None else deadline)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, (PieceFinished, TorrentFinished)):
            self.waiter.notify()
        elif isinstance(event, TorrentFailed):
            seeded = self.library.torrent(event.infohash)
            if seeded is not None and event.infohash not in {t.info.infohash for t in self.transfers.values()}:
                self.file_missing(seeded.cid)  # a seeded file was removed or changed by hand
        elif isinstance(event, ResumeDataSaved):
            if self.library.torrent(event.infohash) is not None:
                self.library.save_resume(event.infohash, event.data)
            else:
                self.library.save_transfer_resume(event.infohash, event.data)
            with self._resume_lock:
                self._resume_pending.discard(event.infohash)
                self._resume_lock.notify_all()

    def save_resume_data(self, timeout: float = 10.0) -> int:
        """Save resume data of every library torrent that changed, and wait until it is
        stored (at most ``timeout`` seconds); returns how many were saved."""
        if self.engine is None:
            return 0
        with self._resume_lock:
            unsaved = [t.infohash for t in self.library.torrents() if t.resume is None]
            asked = [ih for ih in self.engine.request_resume_data(always=unsaved)
                     if self.library.torrent(ih) is not None or self.library.transfer(ih) is not None]
            self._resume_pending.update(asked)
            self._resume_lock.wait_for(lambda: not self._resume_pending, timeout)
            self._resume_pending.clear()
        return len(asked)

    def close(self) -> None:
        """Stop running transfers (they resume at the next start), save resume data, stop
        the engine and close the library."""
        for transfer in list(self.transfers.values()):
            transfer.stop()
        self._ask_pool.shutdown(wait=False, cancel_futures=True)
        for answers in self._late_answers:
            answers.abandon()  # a node that hangs must not hold up the exit
        self.jobs.close()
        self.trust.close()
        self.recommend.close()
        self.feeds.close()
        self.discovery.close()
        if self.webtorrent is not None:
            self.webtorrent.close()  # before the engine stops
            self.webtorrent = None
        if self._dht_saver is not None:
            self._dht_saver.close()  # saves the routing table one last time, before the engine stops
            self._dht_saver = None
        if self.engine is not None:
            try:
                self.save_resume_data()
            finally:
                self.engine.close()
                self.engine = None
        self.library.close()

    # -- publish --------------------------------------------------------------------

    def publish(
        self,
        path: Path,
        meta: TrackMetadata,
        *,
        hybrid: bool | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Published:
        """Publish one audio file and, when the engine runs, seed it at once.

        ``hybrid`` makes a BEP 52 v1+v2 torrent (default: ``settings.hybrid_torrents``).
        """
        with self._publish_lock:
            result = publish_file(
                path,
                meta,
                key=self.signing_key(),
                library=self.library,
                media_dir=self.settings.media_dir,
                profile=self.settings.cid_profile,
                hybrid=self.settings.hybrid_torrents if hybrid is None else hybrid,
                on_bytes=on_bytes,
                c2pa=PublishCredential(c2pa_store(self.settings.data_dir), sign=meta.c2pa_sign,
                                       allow_invalid=meta.allow_invalid_c2pa),
            )
        if self.engine is not None:
            cid = result.track.record["cid"]
            self._seed(result.metainfo, cid)
            self.engine.request_resume_data(result.infohash, always=[result.infohash])
            if result.created:
                self.feeds.publish_soon()  # the catalog and feed item follow, in the background
            if self.webtorrent is not None:
                self.webtorrent.poke()
        self.discovery.refresh()
        return result

    # -- library views ----------------------------------------------------------------

    def tracks(self, limit: int = 10_000, offset: int = 0) -> list[TrackRow]:
        return self.library.tracks(limit, offset)

    def local_track(self, track_id: str) -> VerifiedTrack | None:
        row = self.library.track(track_id)
        return verify_track(row.record) if row else None

    def metainfo_for(self, track_id: str) -> bytes:
        """The track's torrent with this node's web seed in ``url-list``; ``NotFoundError``."""
        row = self.library.track(track_id)
        torrent = self.library.torrent(row.infohash) if row else None
        if row is None or torrent is None:
            raise NotFoundError(f"no track {track_id} here")
        return self._seedable(torrent.metainfo, row.cid)

    # -- resolve / fetch ------------------------------------------------------------

    def resolve(self, ref: str, peer: str | None = None) -> VerifiedTrack:
        """Find and verify a record.  ``ref``: a track id, a magnet, a record file path, or
        a peer URL of a record; ``peer``: a node's base URL to ask (``osp.node.resolve``).

        Raises ``NotFoundError`` (not here, no ``peer`` given), ``CallerError`` (``peer``
        is not an http(s) URL), ``RemoteNotFoundError`` (the peer has no such track),
        ``PeerError`` or ``IntegrityError`` (forged/tampered).
        """
        return resolving.resolve(self, ref, peer)

    def _resolve_holders(self, track_id: str, holders: Sequence[str]) -> tuple[VerifiedTrack, list[str]]:
        """``track_id``'s record from DHT-named ``holders``, with one more lookup when all
        fail; returns it and the holders it came from (``resolve.resolve_holders``)."""
        return resolving.resolve_holders(self, track_id, holders)

    def _resolve_remote(self, track_id: str, peer: str, deadline: float | None = None) -> VerifiedTrack:
        return resolving.resolve_remote(self, track_id, peer, deadline)

    def dht_holders(self, track_id: str, timeout: float = LOOKUP_TIMEOUT) -> list[str]:
        """Peer URLs announced on the DHT under ``track_id``'s rendezvous key (spec §9;
        starts the engine; at most ``timeout`` seconds).  ``NotFoundError`` when the DHT is
        off or unreachable, or no holder was found (``resolve.dht_holders``)."""
        return resolving.dht_holders(self, track_id, timeout)

    def fetch(self, ref: str, peer: str | Sequence[str] | None = None, *, stall_timeout: float = 60.0) -> Transfer:
        """Start downloading a track (resolve, torrent, peers); returns the running ``Transfer``.

        ``peer``: base URL(s) of nodes that have it (duplicates dropped); the record comes from
        the first that answers with a valid one (``ask.first_that_answers``), the torrent from
        the first that has it, and every one is dialled over BitTorrent and used
        as a web seed; the torrent and addresses are asked while the record is verified
        (``ask.ask_peers``).  A track already in the library returns a transfer that is
        complete at once.
        """
        transfer = resolving.start_fetch(self, ref, peer, stall_timeout)
        if self.webtorrent is not None:
            self.webtorrent.poke()
        return transfer

    def fetch_from_gateway(self, ref: str, gateway: str, peer: str | None = None) -> VerifiedTrack:
        """Resolve ``ref`` and fetch its bytes from an IPFS trustless ``gateway``, verifying
        every block; stores the track and seeds it.

        A record file or record URL needs no ``peer``.  A track id or magnet is resolved
        through ``peer``, else the library, else ``gateway`` itself if it is an OSP node; a
        plain IPFS gateway holds no signed records, so then ``CallerError`` says to add
        ``--peer`` (or give the record file or URL).
        """
        gateway = typed_base_url(gateway, what="--gateway")
        if peer is None and ref.strip().startswith((ID_PREFIX, "magnet:")):
            try:
                track = self.resolve(ref)
            except NotFoundError:
                try:
                    track = self.resolve(ref, gateway)
                except RemoteError as exc:
                    raise CallerError(
                        f"cannot resolve {ref.strip()[:60]} from the gateway {gateway} ({exc.message}): an IPFS "
                        "gateway holds no signed records; add --peer URL of a node that has it, or give the "
                        "record file or record URL"
                    ) from exc
        else:
            track = self.resolve(ref, peer)
        if self.library.track(track.id) is None:
            infohash, metainfo = fetch_from_gateway(
                track, gateway, library=self.library, media_dir=self.settings.media_dir,
                allow_private=self.settings.allow_private_peers, deadline=self.settings.request_deadline,
            )
            if self.engine is not None:
                self._seed(metainfo, track.record["cid"])
                self.engine.request_resume_data(infohash)
            self.library.set_last_played(track.id, self.clock())
            self.enforce_cache(spare=track.id)
            self.discovery.refresh()
        return track

    def _connect(self, transfer: Transfer, address: tuple[str, int]) -> None:
        """Dial a BitTorrent ``address`` for a transfer that may have ended meanwhile (best effort)."""
        if self.engine is not None and not transfer.done.is_set():
            try:
                self.engine.connect_peer(transfer.info.infohash, address)
            except OspError:
                pass

    def _dial(self, transfer: Transfer, peer: str) -> None:
        """Connect a running transfer to the BitTorrent address ``peer``'s node gives (best effort)."""
        try:
            with self._peer(peer) as client:
                address = client.bittorrent_address()
            if self.engine is not None:
                self.engine.connect_peer(transfer.info.infohash, address)
        except OspError:
            pass

    def cancel(self, track_id: str) -> TransferState:
        """Cancel a download: stop it, delete its partial file, drop its row.

        Works on a running transfer and on one persisted by an earlier run (no engine
        needed).  ``NotFoundError`` when there is no unfinished transfer of ``track_id``."""
        transfer = self.transfers.get(track_id)
        if transfer is not None and transfer.cancel():
            return transfer.state
        for row in self.library.transfer_rows():
            if row.track_id == track_id:
                if self.engine is not None:
                    self.engine.remove(row.infohash, delete_files=True)
                shutil.rmtree(self.settings.media_dir / PARTIAL_DIR / row.infohash, ignore_errors=True)
                self.library.drop_transfer(row.infohash)
                track = verify_track(row.record)
                return TransferState(track.id, row.infohash, track.record["title"], "cancelled", 0,
                                     int(track.record["size"]), 0, 0, 0, None)
        raise NotFoundError(f"no unfinished transfer of {track_id}")

    def remove(self, track_id: str, *, keep_file: bool = False) -> dict[str, Any]:
        """Remove a track from the library: stop seeding it, drop its row, torrent, resume
        data, blocks and file row in one transaction, then delete the file unless
        ``keep_file`` (moved to ``<data-dir>/removed/``) or another track uses it.

        Returns ``{"id", "title", "fileDeleted", "keptAt", "sharedFile", "published"}``;
        ``NotFoundError`` if the track is not here."""
        transfer = self.transfers.pop(track_id, None)
        if transfer is not None:
            transfer.cancel()
        row = self.library.track(track_id)
        if row is None:
            raise NotFoundError(f"no track {track_id} in the library")
        if self.engine is not None and len(self.library.tracks_by_infohash(row.infohash)) == 1:
            self.engine.remove(row.infohash)  # stop seeding first: libtorrent lets go of the file
        removed = self.library.remove_track(track_id)
        if removed is None:
            raise NotFoundError(f"no track {track_id} in the library")
        forget_fingerprint(self, track_id)
        kept_at: str | None = None
        deleted = False
        shared = removed.path is not None and any(f.path == removed.path for f in self.library.files())
        if removed.file_dropped and removed.path and not shared:  # never a file another track's row references
            path = self.settings.data_dir / removed.path
            if keep_file and path.exists():
                target = self.settings.data_dir / "removed" / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                path.replace(target)
                kept_at = str(target)
            elif not keep_file and path.exists():
                path.unlink(missing_ok=True)
                deleted = True
        self.waiter.notify()
        self.discovery.refresh()
        return {"id": track_id, "title": row.title, "fileDeleted": deleted, "keptAt": kept_at,
                "sharedFile": not removed.file_dropped or shared, "published": row.origin == "published"}

    def _transfer_done(self, transfer: Transfer) -> None:
        self.reads.forget(transfer.info.infohash)
        if transfer.state.state == "complete" and self.engine is not None:
            self.engine.request_resume_data(transfer.info.infohash)  # it seeds on from media/
            self.waiter.notify()
        if transfer.state.state == "complete":
            self.library.set_last_played(transfer.track.id, self.clock())
            self.enforce_cache(spare=transfer.track.id)
            self.discovery.refresh()

    # -- cache quota (Settings.cache_size) ----------------------------------------------

    def enforce_cache(self, spare: str | None = None) -> list[str]:
        """Evict fetched tracks, least recently played first, until they fit
        ``settings.cache_size`` (``osp.node.cache``); never one transferring or streaming,
        nor ``spare``.  Returns the evicted track ids.  Runs at start-up and after every
        completed fetch."""
        with self._cache_lock:
            return enforce_quota(self, spare)

    def cache_usage(self) -> CacheUsage:
        """Bytes of fetched tracks held, against ``settings.cache_size``."""
        return cache_usage(self)

    def transfer_states(self) -> list[TransferState]:
        """Transfers of this run, then persisted ones not running here (state ``stopped``)."""
        states = [t.state for t in self.transfers.values()]
        running = {t.track_id for t in states}
        for row in self.library.transfer_rows():
            if row.track_id not in running:
                record = verify_track(row.record).record
                states.append(TransferState(row.track_id, row.infohash, record["title"], "stopped", 0,
                                            int(record["size"]), 0, 0, 0, None))
        return states

    # -- streaming ------------------------------------------------------------------

    def stream_source(self, track_id: str) -> StreamSource:
        """Bytes of a track for ``/stream/``: from the library, or from a running transfer.

        Each call stamps the track's ``last_played`` with ``clock()``; while its ``read``
        runs the track counts as streaming (never evicted by the cache quota)."""
        source = stream_source(self, track_id)
        self.library.set_last_played(track_id, self.clock())  # a transfer's track: stamped when it completes
        return self.streams.counted(source, track_id)

    def node_info(self) -> dict[str, Any]:
        """What ``GET /osp/v0/node`` says about this node."""
        from osp import __version__

        info: dict[str, Any] = {"software": "osp-node", "version": __version__, "protocol": "osp/0.1"}
        if self.engine is not None:
            info["bittorrent"] = {"port": self.engine.listen_port}
        did = self.library.meta("did")
        if did:
            info["did"] = did
        info["tracks"] = self.library.track_count(available=True)  # what peers can get here
        return info
