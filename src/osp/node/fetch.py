"""Fetching a track from the network: resolve → torrent → download → verify CID → store → seed.

A ``Transfer`` runs in its own thread and exposes a ``TransferState`` snapshot.  Its
lifecycle (a state machine as a table; any state may go to ``failed``):

=============  ==========================================================
state          what happens / next
=============  ==========================================================
resolving      record fetched and verified → ``downloading`` (or ``complete``
               at once when the library already holds the track or its file)
checking       a resumed transfer: libtorrent checks the partial file (or
               trusts its resume data) and keeps every verified piece
               → ``downloading``
downloading    libtorrent fetches pieces (rarest-first, deadlines for streams);
               all pieces → ``verifying``; no progress for ``stall_timeout``
               → ``failed`` (naming corrupt peers if hash checks failed)
verifying      UnixFS CID of the finished file must equal the record's
               ``cid`` (and its size) → ``complete``; else the file is
               deleted → ``failed`` with ``IntegrityError(check="cid")``
complete       stored in the library and seeded
cancelled      ``cancel()``: torrent removed, partial file deleted
stopped        ``stop()`` (the node closes): the partial file and the
               persisted row stay, the next start resumes it
=============  ==========================================================

Persistence: ``start()`` stores the transfer (record, torrent, peers) in the library's
``transfers`` table; ``stop()`` pauses the torrent so the resume data the node saves as it
closes is exact (the next start seeds no re-hash).  After a crash there is no resume
data and libtorrent re-checks the partial file, keeping every verified piece.  ``complete``, ``cancelled`` and ``failed`` drop the row; ``stopped`` keeps
it.  A node that starts re-adds every persisted transfer (``Node.resume_transfers``).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from osp.content.unixfs import Block, UnixfsImporter, get_profile, read_chunks
from osp.core.errors import IntegrityError, OspError, PeerError
from osp.distribution.engine import Engine, parse_metainfo, v1_piece_hashes, with_web_seeds
from osp.distribution.events import Event, HashFailed, PeerBanned, TorrentFailed, TorrentFinished
from osp.distribution.pieces import piece_length_for
from osp.distribution.schedule import http_bulk, probe_pieces
from osp.distribution.webseed import WebSeeds
from osp.library.store import FileRow, Library
from osp.node.publish import PARTIAL_DIR, file_name
from osp.records.track import VerifiedTrack

PROBE_FOCUS = 5.0  #: seconds at most that BitTorrent fetches only the probe pieces and read windows


class _Interrupted(Exception):
    """Internal: ``stop()`` or ``cancel()`` ended the download loop."""


def safe_error(exc: Exception) -> dict[str, Any]:
    """The JSON error of an unexpected exception, without local paths (it goes to clients)."""
    if isinstance(exc, OSError):
        return {"error": "internal", "message": f"local disk error: {exc.strerror or type(exc).__name__}"}
    return {"error": "internal", "message": type(exc).__name__}


#: States of a transfer still running (the table above); the others are ends.
ACTIVE_STATES = frozenset({"resolving", "checking", "downloading", "verifying"})


@dataclass(frozen=True)
class TransferState:
    """Snapshot of a transfer; sizes in bytes, ``rate`` in bytes/s."""

    track_id: str
    infohash: str
    title: str
    state: str
    done: int
    total: int
    rate: int
    peers: int
    hash_failures: int
    error: dict[str, Any] | None
    download_seconds: float | None = None  #: torrent added → every piece verified
    verify_seconds: float | None = None  #: CID re-import of the finished file
    sources: dict[str, int] | None = None  #: connected sources: ``{"bittorrent": n, "webSeeds": n}``
    verified: int = 0  #: bytes of pieces that passed their hash check (``done`` counts partial pieces)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.track_id,
            "infohash": self.infohash,
            "title": self.title,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "rate": self.rate,
            "peers": self.peers,
            "hashFailures": self.hash_failures,
            "error": self.error,
            "downloadSeconds": self.download_seconds,
            "verifySeconds": self.verify_seconds,
            "sources": self.sources or {"bittorrent": 0, "webSeeds": 0},
            "verified": self.verified,
        }


def verify_file(path: Path, track: VerifiedTrack) -> list[Block]:
    """Re-import ``path`` with the record's profile; ``IntegrityError(check="cid"|"size")``
    unless it is exactly the bytes the record names.  Returns the DAG's blocks."""
    record = track.record
    size = path.stat().st_size
    if size != record["size"]:
        raise IntegrityError(f"downloaded {size} bytes, the record says {record['size']}", check="size")
    prof = get_profile(record["cidProfile"])
    importer = UnixfsImporter(prof)
    blocks: list[Block] = []
    with open(path, "rb", buffering=0) as f:
        for chunk in read_chunks(f, 1024 * 1024):
            blocks.extend(importer.feed(chunk))
    root, tail = importer.finish()
    if str(root) != record["cid"]:
        raise IntegrityError(
            f"the downloaded bytes have CID {root}, but the signed record says {record['cid']}: "
            "a peer served other content; the file was discarded",
            check="cid",
        )
    return blocks + tail


_STORE_LOCK = threading.Lock()


class Transfer:
    """Download of one verified track; start with ``start()``, read ``state``.

    The torrent ``metainfo`` must match the record before anything is downloaded, else
    ``IntegrityError`` with ``check`` ``infohash`` (not the record's magnet), ``size`` (not
    the record's size) or ``piece-length`` (not ``piece_length_for(size)``, OSP v0.1's
    piece-length rule: identical audio gives one swarm, and no piece is too large to stream).
    """

    def __init__(
        self,
        track: VerifiedTrack,
        metainfo: bytes,
        *,
        engine: Engine,
        library: Library,
        media_dir: Path,
        peers: list[tuple[str, int]],
        stall_timeout: float = 60.0,
        on_complete: Callable[[Transfer], None] | None = None,
        allow_private: bool = False,
        deadline: float = 30.0,
        fallback: Callable[[OspError], None] | None = None,
    ) -> None:
        self.track = track
        #: when BitTorrent fails or stalls: fetch, verify and store the track another way
        #: (the configured gateways, ``Node``); called with the reason, raises ``OspError``
        self.fallback = fallback
        self.metainfo = metainfo
        self.engine = engine
        self.library = library
        self.media_dir = media_dir
        self.partial_dir = media_dir / PARTIAL_DIR / track.infohash  # this transfer's own: nothing else writes here
        self.file_name = file_name(track)  # our name, never the torrent's (design.md §4 "Parsing untrusted input")
        self.peers = peers
        self.stall_timeout = stall_timeout
        self.on_complete = on_complete
        mi = parse_metainfo(metainfo)
        if mi.infohash != track.infohash:
            raise IntegrityError(
                f"the torrent's infohash {mi.infohash} is not the record's {track.infohash}", check="infohash"
            )
        if mi.size != track.record["size"]:
            raise IntegrityError(f"the torrent holds {mi.size} bytes, the record says {track.record['size']}", check="size")
        if mi.piece_length != piece_length_for(mi.size):  # one swarm per audio file; no unstreamable pieces
            raise IntegrityError(
                f"the torrent's piece length is {mi.piece_length} bytes; OSP v0.1 requires "
                f"{piece_length_for(mi.size)} for {mi.size} bytes", check="piece-length"
            )
        self.info = mi
        # The torrent's web seeds are fetched by the node itself (``webseed``), in the order
        # reads need them; libtorrent gets the torrent without them (its web-seed client
        # asks for >= 1 MiB at a time: a seek would wait behind it).
        self.webseeds = WebSeeds(engine, mi.infohash, mi.web_seeds, v1_piece_hashes(metainfo), mi.size,
                                 mi.piece_length, allow_private=allow_private, deadline=deadline,
                                 on_hash_failure=self._web_seed_failed)
        self._state = TransferState(track.id, mi.infohash, track.record["title"], "downloading", 0, mi.size, 0, 0, 0, None)
        self._lock = threading.Lock()
        self._hash_failures = 0
        self._banned: list[str] = []
        self._failure: str | None = None
        self._finished = threading.Event()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"osp-fetch-{mi.infohash[:8]}", daemon=True)
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._unsubscribe: Callable[[], None] = lambda: None
        self._probe: list[int] = []  #: probe pieces still awaited (``_anticipate_player``)

    @property
    def state(self) -> TransferState:
        with self._lock:
            return self._state

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)

    def on_event(self, event: Event) -> None:
        """Engine subscriber: count corrupt pieces and bans for this torrent."""
        if getattr(event, "infohash", None) != self.info.infohash:
            return
        if isinstance(event, HashFailed):
            self._hash_failures += 1
            self.webseeds.rejected(event.piece)
        elif isinstance(event, PeerBanned):
            self._banned.append(event.peer)
        elif isinstance(event, TorrentFailed):
            self._failure = event.message.replace(str(self.media_dir.parent), "<data-dir>")  # no local paths to clients
            self._finished.set()
        elif isinstance(event, TorrentFinished):
            self._finished.set()

    def _web_seed_failed(self, url: str) -> None:
        self._hash_failures += 1
        self._banned.append(url)

    def mark_complete(self) -> None:
        """For a track the library already holds: complete without downloading."""
        self._set(state="complete", done=self.info.size, verified=self.info.size)
        self.done.set()

    def start(self) -> None:
        """Persist the transfer, add the torrent to the engine (with the resume data of an
        earlier run, else libtorrent checks any partial file) and download in a thread."""
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        earlier = self.library.transfer(self.info.infohash)
        self.library.save_transfer(self.track, self.metainfo, self.peers)
        if earlier is not None or (self.partial_dir / self.file_name).exists():
            self._set(state="checking")
        self._unsubscribe = self.engine.subscribe(self.on_event)
        # rarest-first, not sequential: what a stream reads comes first by deadlines (the probe
        # pieces, each read's window); listeners of one track then hold different pieces to
        # trade instead of all wanting the next one from the seeder
        self.engine.add(with_web_seeds(self.metainfo, []), self.partial_dir, peers=self.peers,
                        resume=earlier.resume if earlier else None, file_name=self.file_name)
        self._anticipate_player(focus=self.state.state != "checking")  # a resumed file is checked first: no focus
        self.webseeds.start()
        self._thread.start()

    def _anticipate_player(self, *, focus: bool = True) -> None:
        """Ask every source at once for what every player reads before it plays
        (``schedule.probe_pieces``: the first piece, the tail, the head), and nothing else
        over BitTorrent until they are here (``Engine.focus``; reads add their windows):
        the rest of the download would otherwise queue at the seeder in front of them."""
        ih = self.info.infohash
        pieces = [p for p in probe_pieces(self.info.size, self.info.piece_length) if not self.engine.have_piece(ih, p)]
        if pieces and focus:
            self._probe = pieces
            self.engine.focus(ih, pieces)
        self.engine.prioritize(ih, [(p, i) for i, p in enumerate(pieces)], preempt=True)
        self.webseeds.want(pieces)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop downloading but keep the partial file and the persisted row (node shutdown);
        the torrent is paused so that the resume data saved next lists every piece."""
        self._stop.set()
        self._finished.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self.state.state == "stopped":
            self.engine.pause(self.info.infohash)

    def cancel(self, timeout: float = 30.0) -> bool:
        """Stop the download, remove the torrent, delete the partial file and drop the row.

        Returns False when the transfer had already ended (complete or failed)."""
        if self.done.is_set() or not self._thread.is_alive() or self.state.state in ("complete", "failed"):
            return False  # ended (its thread may still be in ``on_complete``: never wait for it here)
        self._cancel.set()
        self._finished.set()
        self._thread.join(timeout)
        return self.state.state == "cancelled"

    def _discard(self) -> None:
        """Remove the torrent and its partial file, forget the row."""
        self.engine.remove(self.info.infohash, delete_files=True)
        shutil.rmtree(self.partial_dir, ignore_errors=True)
        self.library.drop_transfer(self.info.infohash)

    def wait(self, timeout: float | None = None) -> TransferState:
        self.done.wait(timeout)
        return self.state

    def _run(self) -> None:
        try:
            started = time.monotonic()
            try:
                self._download()
            except OspError as exc:
                if self.fallback is None:
                    raise
                self._fall_back(exc)
                return
            self.engine.flush(self.info.infohash)  # the CID check must read what libtorrent verified
            downloaded = time.monotonic()
            self._set(state="verifying", download_seconds=round(downloaded - started, 4))
            path = self.partial_dir / self.file_name
            try:
                blocks = verify_file(path, self.track)
            except IntegrityError:
                self.engine.remove(self.info.infohash, delete_files=True)
                shutil.rmtree(self.partial_dir, ignore_errors=True)
                raise
            self._set(verify_seconds=round(time.monotonic() - downloaded, 4))
            self._store(path, blocks)
            self._set(state="complete", done=self.info.size, verified=self.info.size)
        except _Interrupted:
            if self._cancel.is_set():
                self._discard()
                self._set(state="cancelled", rate=0, peers=0)
            else:
                self._set(state="stopped", rate=0, peers=0)
        except OspError as exc:
            self._set(state="failed", error=exc.to_json())
            self._abandon()
        except Exception as exc:  # never lose the reason of a background failure, never leak a path
            self._set(state="failed", error=safe_error(exc))
            self._abandon()
        finally:
            self.webseeds.stop()
            self._unsubscribe()
            try:
                if self.on_complete:  # before ``done``: a waiter sees the node's follow-up (cache quota) done
                    self.on_complete(self)
            finally:
                self.done.set()

    def _fall_back(self, reason: OspError) -> None:
        """BitTorrent gave up (``reason``): drop the torrent and its partial file, then let
        ``fallback`` fetch, verify and store the track; ``complete`` when it did."""
        self._discard()
        self._set(state="downloading", rate=0, peers=0, sources={"bittorrent": 0, "webSeeds": 0, "gateways": 1})
        assert self.fallback is not None
        self.fallback(reason)
        self._set(state="complete", done=self.info.size, verified=self.info.size, sources=None)

    def _abandon(self) -> None:
        """After a failure: no torrent may stay in the engine under this transfer's file name
        (a later transfer of the same infohash, e.g. the honest record of a torrent a hostile
        one copied, would find it and wait for a file that never comes), so it goes with its
        partial file and row."""
        try:
            self._discard()
        except Exception:  # the engine or library may be closing; start-up removes what is left
            pass

    def _download(self) -> None:
        ih = self.info.infohash
        last_done, last_change = -1, time.monotonic()
        last_peer = started = last_change
        while True:
            if self._stop.is_set() or self._cancel.is_set():
                raise _Interrupted()
            st = self.engine.status(ih)
            sources = self.engine.connected_sources(ih)
            sources["webSeeds"] = len(self.webseeds.usable())
            now = time.monotonic()
            if sources["bittorrent"]:
                last_peer = now
            self.webseeds.swarm = sources["bittorrent"]
            if self._probe and (now - started > PROBE_FOCUS or all(self.engine.have_piece(ih, p) for p in self._probe)):
                self._probe = []
                self.engine.focus(ih, None)  # the probe is here: the swarm fetches the rest
            self.webseeds.bulk = http_bulk(now, sources["bittorrent"], last_peer)
            self._set(done=st.total_done, rate=st.download_rate, peers=st.num_peers, hash_failures=self._hash_failures,
                      state="checking" if st.state == "checking" else "downloading",
                      sources=sources, verified=st.verified)
            if self._failure:
                raise PeerError(f"download failed: {self._failure}")
            if st.state in ("finished", "seeding") and st.verified >= self.info.size:  # not "wanted": see focus
                return
            if st.total_done != last_done:
                last_done, last_change = st.total_done, now
            elif now - last_change > self.stall_timeout:
                if self._hash_failures:
                    banned = f"; banned {', '.join(self._banned)}" if self._banned else ""
                    raise IntegrityError(
                        f"peers sent corrupt data ({self._hash_failures} pieces failed their hash check{banned}) "
                        f"and no honest source remained after {self.stall_timeout:.0f} s",
                        check="piece-hash",
                    )
                raise PeerError(
                    f"no progress for {self.stall_timeout:.0f} s ({st.total_done} of {st.total_wanted} bytes, "
                    f"{st.num_peers} peers): no reachable peer has this track"
                )
            if self._finished.wait(0.2):  # woken at once by TorrentFinished, stop() or cancel(); else a progress tick
                self._finished.clear()  # their flags persist; a "finished" focus (probe pieces only) is no end

    def _store(self, path: Path, blocks: list[Block]) -> None:
        """Move the verified file into the library as ``media/<cid><ext>`` while the torrent
        keeps seeding (so a stream reading from it never sees the torrent disappear), then
        commit the row.

        A library file is never adopted nor written through: when the library already holds
        this CID (another record or torrent of the same audio: the same verified bytes), that
        file is kept, the partial is dropped and the torrent seeds from the kept file.  A file
        at the destination that is no verified library file (a leftover, or changed by
        hand) is replaced."""
        ih, data_dir = self.info.infohash, self.media_dir.parent
        with _STORE_LOCK:  # two transfers of one CID (v1 and hybrid torrents) never race for its name
            stored = self.library.intact_file(self.track.record["cid"], data_dir)
            if stored is not None:
                kept = data_dir / stored.path
                self.engine.remove(ih)  # then seed from the kept file: its bytes are this CID's
                self.engine.add(self.metainfo, kept.parent, seed_mode=True, file_name=kept.name)
                row = stored
            else:
                final = self.media_dir / self.file_name
                final.unlink(missing_ok=True)
                self.engine.move_storage(ih, self.media_dir)
                row = FileRow(self.track.record["cid"], str(final.relative_to(data_dir)), self.info.size,
                              self.track.record["cidProfile"])
            if not self.library.add_track(self.track, file=row, blocks=blocks, infohash=ih, metainfo=self.metainfo,
                                          origin="fetched"):
                self.library.put_file(row)  # the track was here with its file missing: repaired
        shutil.rmtree(self.partial_dir, ignore_errors=True)
