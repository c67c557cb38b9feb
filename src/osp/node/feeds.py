"""Artist feeds (spec §9 "Feeds"; BEP 44 mutable items pointing at a catalog torrent, the
BEP 46 idea): publish ours, follow other artists'.

Publishing (``publish_feed``, ``put_feed``: ``osp.node.feed_publish``, re-exported here):
our published records become a catalog torrent, seeded, and a BEP 44 mutable item under
our did:key points at it.  Items expire on real DHT nodes (about 2 h): ``FeedService``
re-puts ours every ``REPUT_INTERVAL`` seconds, and after each publish.

Following (``follow``/``unfollow``/``following``; the poller in ``FeedService``): every
``Settings.feed_poll_interval`` seconds each followed artist's item is fetched
(``Engine.dht_get_mutable``) and judged (``judge_item``: signature, value, and
``FeedGuard`` against the highest ``seq`` accepted so far, persisted: a follower never
goes back below it; an older item is ignored and logged once per seq, the held seq
polled again silently).  A newer item's catalog is fetched by magnet (BEP 9) into ``<data-dir>/feeds/<z6Mk…>/`` within ``CATALOG_DEADLINE``
seconds, held at the metadata (nothing downloaded) until its size is checked against
``MAX_CATALOG_BYTES``; every record is verified against the artist's did
(``catalog_decode_all``: another author's record inside is dropped unverified), the Track
Records are stored (``Library.known_records``) and the social records too (spec §10,
``SocialService.store``: the newest playlist version wins, tombstones apply), and the
catalog is seeded on, so it stays
reachable while the artist is offline.  A catalog refused as invalid is remembered
(per artist and infohash, for the run) and not downloaded again.  Up to
``POLL_WORKERS`` follows are polled at a time, each catalog download with its own
deadline, so one that never arrives does not hold up the others.  A follow with
``audio`` also fetches each new track (``Node.fetch``, holders found through the DHT),
``AUDIO_WORKERS`` at a time.

Every peer is hostile: nothing from the DHT is used before its signature verifies, and
nothing from a catalog before its record verifies against the followed did.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osp.core.errors import CallerError, IntegrityError, OspError, PeerError
from osp.discovery.feed import CATALOG_FILE as CATALOG_FILE  # re-exported (tests name the catalog file)
from osp.discovery.feed import (
    FEED_SALT,
    MAX_CATALOG_BYTES,
    FeedGuard,
    FeedValue,
    catalog_decode_all,
    verify_item,
)
from osp.discovery.keys import rendezvous_key
from osp.distribution.engine import parse_metainfo
from osp.distribution.events import MutableItem
from osp.identity.didkey import DidKeyError, public_key_from_bare_did, public_key_from_did
from osp.library.store import CatalogRow, FollowRow
from osp.node.feed_publish import FeedPublished, drop_catalog, feed_dir, publish_feed
from osp.node.feed_publish import catalog_torrent as catalog_torrent  # re-exported, as put_feed
from osp.node.feed_publish import put_feed as put_feed
from osp.records.track import VerifiedTrack

if TYPE_CHECKING:
    from osp.node.core import Node

log = logging.getLogger("osp.feeds")

CATALOG_DEADLINE = 60.0  #: seconds a catalog download (metadata + bytes) may take
REPUT_INTERVAL = 1800.0  #: seconds between two puts of our item (DHT nodes drop items after ~2 h)
REPUT_RETRY = 15.0  #: seconds before a failed put is tried again (e.g. the DHT is still empty)
MAX_HOLDERS_DIALLED = 8  #: artist-key holders asked for their BitTorrent address per catalog download
AUDIO_WORKERS = 2  #: tracks of followed artists fetched at a time
AUDIO_DEADLINE = 600.0  #: seconds one followed track's download may take
POLL_WORKERS = 3  #: follows polled at a time (each catalog download has its own ``CATALOG_DEADLINE``)
MAX_REJECTED = 1024  #: refused catalogs remembered (oldest forgotten first)


# -- paths and DIDs --------------------------------------------------------------------------


def check_did(did: str) -> str:
    """``did`` stripped, if it is an Ed25519 did:key; ``CallerError`` (exit 2) otherwise."""
    did = did.strip() if isinstance(did, str) else ""
    try:
        public_key_from_bare_did(did)
    except DidKeyError as exc:
        raise CallerError(f"not an artist's did:key ({exc}): give did:key:z6Mk…") from exc
    return did


# -- the pure decision -----------------------------------------------------------------------


def judge_item(public_key: bytes, highest_seq: int | None, item: MutableItem, now: float) -> FeedValue | str:
    """The followed artist's item, judged: its ``FeedValue`` if it is to be acted on, else
    why not (a string).  Pure: signature (BEP 44 signing bytes under ``FEED_SALT``), the
    value's form, then ``FeedGuard`` (``seq`` not above ``highest_seq``: a replay or a
    rollback; value ``seq`` not the item's; expired)."""
    if item.public != public_key or item.salt != FEED_SALT:
        return "an item under another key or salt"
    if not verify_item(public_key, FEED_SALT, item.seq, item.value, item.signature):
        return "the item's signature does not verify"
    try:
        value = FeedValue.decode(item.value)
    except IntegrityError as exc:
        return f"malformed feed value: {exc.message}"
    verdict = FeedGuard().accept(highest_seq, item.seq, value, now)
    return value if verdict is True else str(verdict)


# -- following -------------------------------------------------------------------------------


def follow(node: Node, did: str, audio: bool | None = None) -> FollowRow:
    """Follow the artist ``did`` (``CallerError`` on junk or our own did); following again
    only changes ``audio`` (``None`` keeps it, and makes a running poller check at once).  A running poller checks the new follow at once.  With a usable
    identity key the follow is also a signed Follow record (spec §10), public in our feed:
    others' webs of trust grow from it."""
    did = check_did(did)
    own = node.library.meta("did")
    if own is not None and own == did:
        raise CallerError("that is this node's own identity: its feed is published, not followed")
    row = node.library.add_follow(did, audio=audio, now=node.clock())
    node.social.follow_signed(did)  # the public Follow record (spec §10), when our key is usable
    if node.feeds.running:
        node.feeds.poll_soon()
    return row


def unfollow(node: Node, did: str) -> bool:
    """Stop following ``did``: its known records are forgotten and its catalog is no
    longer seeded (tracks already fetched stay in the library); our signed Follow of it is
    retracted.  ``NotFoundError`` if not followed."""
    did = check_did(did)
    old = node.library.remove_follow(did)
    if old is not None:
        drop_catalog(node, old)
    node.social.unfollow_signed(did)  # our Follow records of ``did`` retracted (Tombstones)
    node.discovery.refresh()
    return True


def following(node: Node) -> list[dict[str, Any]]:
    """The follows as JSON objects: ``did``, ``audio``, ``seq`` (highest accepted, or
    ``None``), ``catalog`` (infohash or ``None``), ``tracks`` (records known from it),
    ``followedAt``/``checkedAt`` (Unix seconds or ``None``), ``error``, ``nextCheckAt``
    (``checkedAt`` + ``feed_poll_interval``; ``None`` before the first check)."""
    return [
        {"did": f.did, "audio": f.audio, "seq": f.highest_seq, "catalog": f.catalog,
         "tracks": node.library.known_record_count(f.did), "followedAt": f.followed_at,
         "checkedAt": f.checked_at, "error": f.error,
         "nextCheckAt": None if f.checked_at is None else f.checked_at + node.settings.feed_poll_interval}
        for f in node.library.follows()
    ]


@dataclass(frozen=True)
class PollResult:
    """One poll of a follow: ``did``; ``seq`` of the item seen (``None``: none found);
    ``accepted``: it was newer and acted on; ``new_records`` stored; ``reason`` it was
    ignored or failed (``None`` when accepted)."""

    did: str
    seq: int | None
    accepted: bool
    new_records: int = 0
    reason: str | None = None


def _download_catalog(node: Node, did: str, infohash: str, deadline: float) -> tuple[bytes, bytes, Path]:
    """``(data, metainfo, path)`` of catalog ``infohash`` fetched by magnet into the
    artist's feed folder; ``PeerError`` past ``deadline`` (monotonic), ``IntegrityError``
    for a torrent that is not one catalog file of at most ``MAX_CATALOG_BYTES`` (checked
    on the metadata while the download is held: not one piece is fetched before) or one
    already in the session (another artist's catalog or a track's torrent: a hostile feed
    may name any infohash; it is left untouched)."""
    engine = node.engine
    if engine is None:
        raise CallerError("the engine is not running")
    if engine.has_torrent(infohash):
        raise IntegrityError(f"the catalog {infohash} is a torrent this node holds already", check="catalog")
    folder = feed_dir(node.settings.data_dir, did)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{infohash}.ndjson"
    ih = engine.add_magnet(infohash, folder, file_name=path.name, hold=True)
    threading.Thread(target=_dial_artist_holders, args=(node, did, ih), daemon=True,
                     name=f"osp-feed-holders-{ih[:8]}").start()
    size: int | None = None
    try:
        while True:
            if size is None:
                metainfo = engine.metainfo(ih)
                if metainfo is not None:
                    size = parse_metainfo(metainfo).size
                    if size > MAX_CATALOG_BYTES:
                        raise IntegrityError(f"the catalog {ih} is {size} bytes, over {MAX_CATALOG_BYTES}", check="size")
                    engine.release(ih)  # the size is fine: now let its pieces come
            if size is not None:
                status = engine.status(ih)
                if status.total_wanted == size and status.total_done >= size:  # released and complete
                    break
            if time.monotonic() > deadline:
                raise PeerError(f"the catalog {ih} did not arrive within {CATALOG_DEADLINE:.0f} s (no peer has it?)")
            if node.feeds.stopping.wait(0.2):
                raise PeerError("the node is stopping")
        engine.flush(ih)  # the last piece is on disk before we read the file
        metainfo = engine.metainfo(ih)
        if metainfo is None or not path.is_file() or path.stat().st_size > MAX_CATALOG_BYTES:
            raise IntegrityError(f"the catalog {ih} is not one file of at most {MAX_CATALOG_BYTES} bytes", check="size")
        return path.read_bytes(), metainfo, path
    except BaseException:
        try:
            engine.remove(ih, delete_files=True)
        except OspError:
            pass
        path.unlink(missing_ok=True)
        raise


def _dial_artist_holders(node: Node, did: str, infohash: str) -> None:
    """Connect the catalog download ``infohash`` to the nodes announced under the artist's
    rendezvous key: the artist and its followers (who hold its catalog, spec §9.2) — they
    are found even before libtorrent's own DHT announces of the catalog reach us.  Best
    effort: each peer URL goes through the egress guard (``PeerClient``)."""
    try:
        urls = node.discovery.holders(rendezvous_key("artist", did))
    except OspError:
        return
    for url in urls[:MAX_HOLDERS_DIALLED]:
        engine = node.engine
        if engine is None or node.feeds.stopping.is_set() or not engine.has_torrent(infohash):
            return
        try:
            with node._peer(url) as client:
                address = client.bittorrent_address()
            engine.connect_peer(infohash, address)
        except OspError:
            continue


def handle_item(node: Node, did: str, item: MutableItem) -> PollResult:
    """Act on the feed item ``item`` of the followed ``did``: judge it (``judge_item``),
    and when it is newer fetch, verify, store and seed its catalog, raise the follow's
    ``highest_seq``, and queue the new tracks' audio when the follow asks for it.  Never
    raises ``OspError``: the outcome (and any error, stored on the follow) is returned."""
    follow_row = node.library.follow(did)
    if follow_row is None:
        return PollResult(did, item.seq, False, reason="not followed")
    now = node.clock()
    verdict = judge_item(public_key_from_did(did), follow_row.highest_seq, item, now)
    if isinstance(verdict, str):
        if follow_row.highest_seq is not None and item.seq <= follow_row.highest_seq:
            if item.seq < follow_row.highest_seq:  # an old copy (a replay or a rollback): not an error
                node.feeds.log_once(did, item.seq, verdict)
            # seq == highest: the item we already hold, polled again; nothing to say
            node.library.set_follow_checked(did, now, None)
        else:
            node.library.set_follow_checked(did, now, verdict)
        return PollResult(did, item.seq, False, reason=verdict)
    value = verdict
    if value.catalog == follow_row.catalog:
        node.library.raise_follow_seq(did, item.seq)  # the artist refreshed the same catalog
        node.library.set_follow_checked(did, now, None)
        return PollResult(did, item.seq, True)
    refused = node.feeds.rejected(did, value.catalog)
    if refused is not None:  # refused before: not downloaded nor verified again (re-puts bump the seq)
        node.library.set_follow_checked(did, now, refused)
        return PollResult(did, item.seq, False, reason=refused)
    try:
        data, metainfo, path = _download_catalog(node, did, value.catalog, time.monotonic() + CATALOG_DEADLINE)
    except IntegrityError as exc:
        return _refuse(node, did, item.seq, value.catalog, exc.message, now)
    except OspError as exc:  # not arrived (yet): tried again at the next poll
        node.library.set_follow_checked(did, now, exc.message)
        return PollResult(did, item.seq, False, reason=exc.message)
    try:
        decoded = catalog_decode_all(data, did)
    except IntegrityError as exc:
        drop_catalog(node, CatalogRow(did, value.catalog, metainfo, str(path.relative_to(node.settings.data_dir)),
                                       item.seq, 0, now))
        return _refuse(node, did, item.seq, value.catalog, exc.message, now)
    tracks = decoded.tracks
    known = {r.id for r in node.library.known_records(did)}
    row = CatalogRow(did, value.catalog, metainfo, str(path.relative_to(node.settings.data_dir)), item.seq,
                     len(tracks), now)
    old = node.library.store_catalog(row, tracks, follow=True)
    if old is not None:
        drop_catalog(node, old)
    node.discovery.refresh()  # the artist's key joins our announces (we hold its catalog now)
    # the artist's social records (spec §10): verified above; newest playlist versions win, tombstones apply
    social = node.social.store(decoded.social)
    node.library.set_follow_checked(did, now, None)
    fresh = [t for t in tracks if t.id not in known]
    log.info("feed: %s seq %d: catalog %s, %d records (%d new), %d social records (%d new)", did[:24], item.seq,
             value.catalog, len(tracks), len(fresh), len(decoded.social), social)
    if follow_row.audio:
        node.feeds.fetch_audio([t for t in tracks if node.library.track(t.id) is None])
    return PollResult(did, item.seq, True, new_records=len(fresh) + social)


def _refuse(node: Node, did: str, seq: int, catalog: str, reason: str, now: float) -> PollResult:
    """Record that ``did``'s catalog ``catalog`` is invalid: remembered, stored on the follow."""
    node.feeds.reject(did, catalog, reason)
    node.library.set_follow_checked(did, now, reason)
    log.info("feed: %s seq %d: refused the catalog %s: %s", did[:24], seq, catalog, reason)
    return PollResult(did, seq, False, reason=reason)


NO_FEED_YET = "no feed found on the DHT yet"  #: a follow's error until the artist's first valid item is seen


def poll_feed(node: Node, did: str, timeout: float = 10.0) -> PollResult:
    """Fetch ``did``'s current item from the DHT and ``handle_item`` it."""
    engine = node.engine
    if engine is None:
        raise CallerError("the engine is not running")
    try:
        item = engine.dht_get_mutable(public_key_from_did(did), FEED_SALT, timeout=timeout)
    except OspError as exc:
        node.library.set_follow_checked(did, node.clock(), exc.message)
        return PollResult(did, None, False, reason=exc.message)
    if item is None or item.seq <= 0 or not item.value:  # nothing stored: libtorrent may hand back an empty item
        node.library.set_follow_checked(did, node.clock(), NO_FEED_YET)
        return PollResult(did, None, False, reason=NO_FEED_YET)
    follow_row = node.library.follow(did)
    if (follow_row is not None and follow_row.highest_seq is None
            and not verify_item(public_key_from_did(did), FEED_SALT, item.seq, item.value, item.signature)):
        reason = f"{NO_FEED_YET} (an item that does not verify was ignored)"  # never a valid one: no feed yet
        node.library.set_follow_checked(did, node.clock(), reason)
        return PollResult(did, item.seq, False, reason=reason)
    return handle_item(node, did, item)


# -- the threads -----------------------------------------------------------------------------


class FeedService:
    """The node's feed threads: the publisher (our item after each publish, and every
    ``REPUT_INTERVAL``) and the poller (each follow every ``feed_poll_interval``).
    ``start`` (with the engine) reseeds every catalog held and starts both; ``close``
    stops them (bounded wait)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.stopping = threading.Event()
        self._publish_now = threading.Event()
        self._poll_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self._logged: set[tuple[str, int]] = set()
        self._audio: ThreadPoolExecutor | None = None
        self._audio_lock = threading.Lock()
        self._audio_queued: set[str] = set()
        self._fetched: set[str] = set()  #: followed tracks fetched in this run (never queued again)
        self._rejected: dict[tuple[str, str], str] = {}  #: (did, catalog infohash) -> why it was refused
        self._polling: set[str] = set()  #: follows being polled now
        self._polled: dict[str, float] = {}  #: did -> clock time its last poll ended (even one that crashed)
        self._poll_lock = threading.Lock()
        self._wake = threading.Event()  #: a poll ended: the poller looks at the follows again
        self.published: FeedPublished | None = None  #: our last successful put
        self.on_poll: Callable[[PollResult], None] | None = None  #: tests watch polls here

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self.stopping.is_set()

    def start(self) -> None:
        """Seed every catalog held (ours and follows'), then start the threads (once)."""
        node = self.node
        if self._threads or node.engine is None:
            return
        for row in node.library.catalogs():
            path = node.settings.data_dir / row.path
            if path.is_file():
                try:
                    node.engine.add(row.metainfo, path.parent, file_name=path.name)  # re-checked: no seed_mode
                except OspError as exc:
                    log.warning("feed: cannot seed the catalog %s: %s", row.infohash, exc.message)
        if not node.settings.dht:
            return
        self._audio = ThreadPoolExecutor(max_workers=AUDIO_WORKERS, thread_name_prefix="osp-feed-audio")
        self._publish_now.set()  # at start: put ours again (items expire while we are away)
        for name, target in (("osp-feed-publisher", self._publisher), ("osp-feed-poller", self._poller)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self._publish_now.set()
        self._poll_now.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        if self._audio is not None:
            self._audio.shutdown(wait=False, cancel_futures=True)

    def publish_soon(self) -> None:
        """Ask the publisher to put our feed now (after a publish); never blocks."""
        self._publish_now.set()

    def poll_soon(self) -> None:
        """Ask the poller to poll every follow now (after a follow); never blocks."""
        self._poll_now.set()
        self._wake.set()

    def reject(self, did: str, catalog: str, reason: str) -> None:
        """Remember that ``did``'s catalog ``catalog`` was refused (``reason``), for this run;
        at most ``MAX_REJECTED`` (the oldest forgotten)."""
        with self._poll_lock:
            self._rejected.pop((did, catalog), None)
            self._rejected[(did, catalog)] = reason
            while len(self._rejected) > MAX_REJECTED:
                del self._rejected[next(iter(self._rejected))]

    def rejected(self, did: str, catalog: str) -> str | None:
        """Why ``did``'s catalog ``catalog`` was refused in this run, or ``None``."""
        with self._poll_lock:
            return self._rejected.get((did, catalog))

    def log_once(self, did: str, seq: int, reason: str) -> None:
        if (did, seq) not in self._logged:
            self._logged.add((did, seq))
            log.info("feed: %s: ignored item seq %d: %s", did[:24], seq, reason)

    def fetch_audio(self, tracks: Sequence[VerifiedTrack]) -> None:
        """Queue the audio of followed artists' ``tracks`` (``AUDIO_WORKERS`` at a time)."""
        for track in tracks:
            with self._audio_lock:
                if track.id in self._audio_queued or self._audio is None:
                    continue
                self._audio_queued.add(track.id)
            try:
                self._audio.submit(self._fetch_one, track)
            except RuntimeError:  # shut down
                return

    def _missing_audio(self, did: str) -> None:
        """Queue again the tracks of an audio follow not in the library yet (their holders
        may not have been announced at the last try); not those fetched in this run (the
        cache quota may have evicted them since).  The records table holds only records
        verified when stored (``handle_item``): they are not verified again each poll."""
        library = self.node.library
        missing = []
        for known in library.known_records(did):
            if known.id in self._fetched or known.id in self._audio_queued or library.track(known.id) is not None:
                continue
            try:
                record = json.loads(known.record)
            except ValueError:
                continue
            if isinstance(record, dict):
                missing.append(VerifiedTrack(record))
        self.fetch_audio(missing)

    def _fetch_one(self, track: VerifiedTrack) -> None:
        try:
            if self.stopping.is_set() or self.node.library.track(track.id) is not None:
                return
            transfer = self.node.fetch(track.id)
            deadline = time.monotonic() + AUDIO_DEADLINE
            while not transfer.done.wait(1.0):
                if self.stopping.is_set() or time.monotonic() > deadline:
                    return
            if transfer.state.state == "complete":
                self._fetched.add(track.id)
            log.info("feed: fetched %s: %s", track.id, transfer.state.state)
        except OspError as exc:
            log.info("feed: cannot fetch %s: %s", track.id, exc.message)
        except Exception:  # the node closed under the fetch
            if not self.stopping.is_set():
                log.exception("feed: fetching %s failed", track.id)
        finally:
            with self._audio_lock:
                self._audio_queued.discard(track.id)

    def _publisher(self) -> None:
        try:
            self._publish_loop()
        except Exception:  # the library or engine closed under a put that outlived ``close``'s wait
            if not self.stopping.is_set():
                log.exception("feed: the publisher stopped")

    def _publish_loop(self) -> None:
        wait = REPUT_INTERVAL
        failing = False
        while not self.stopping.is_set():
            self._publish_now.wait(wait)
            self._publish_now.clear()
            if self.stopping.is_set():
                return
            try:
                published = publish_feed(self.node)
                if published is not None and published != self.published:
                    log.info("feed: put seq %d: catalog %s (%d records)", published.seq, published.infohash,
                             published.count)
                self.published = published or self.published
                wait, failing = REPUT_INTERVAL, False
            except OspError as exc:
                if not failing:  # once per run of failures (an empty DHT at start retries quietly)
                    log.info("feed: cannot put our feed yet (retrying every %.0f s): %s", REPUT_RETRY, exc.message)
                wait, failing = REPUT_RETRY, True
            except Exception:  # noqa: BLE001  (the thread must survive; logged with its traceback)
                if self.stopping.is_set():
                    return
                log.exception("feed: publishing failed")
                wait = REPUT_RETRY

    def _poller(self) -> None:
        try:
            self._poll_loop()
        except Exception:  # the library or engine closed under a poll that outlived ``close``'s wait
            if not self.stopping.is_set():
                log.exception("feed: the poller stopped")

    def _poll_loop(self) -> None:
        """Start the polls that are due, ``POLL_WORKERS`` at a time; a follow whose poll is
        running is not started again, and one whose poll ended is due ``interval`` later
        (whether its ``checked_at`` moved or not)."""
        interval = self.node.settings.feed_poll_interval
        pool = ThreadPoolExecutor(max_workers=POLL_WORKERS, thread_name_prefix="osp-feed-poll")
        try:
            while not self.stopping.is_set():
                self._wake.clear()
                now = self.node.clock()
                everyone = self._poll_now.is_set()  # a new follow: poll now
                self._poll_now.clear()
                next_due = now + interval
                for row in self.node.library.follows():
                    if self.stopping.is_set():
                        return
                    with self._poll_lock:
                        if row.did in self._polling:
                            continue  # its end wakes us
                        due = max(row.checked_at or 0.0, self._polled.get(row.did, 0.0)) + interval
                        start = everyone or due <= now
                        if start:
                            self._polling.add(row.did)
                    if start:
                        pool.submit(self._poll_one, row.did, row.audio)
                    else:
                        next_due = min(next_due, due)
                self._wake.wait(max(0.05, next_due - self.node.clock()))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _poll_one(self, did: str, audio: bool) -> None:
        """One follow's poll, on a pool thread: ``_poll``, ``on_poll``, its missing audio."""
        try:
            if self.stopping.is_set():
                return
            result = self._poll(did)
            if result is not None and self.on_poll is not None:
                self.on_poll(result)
            if audio and not self.stopping.is_set():
                self._missing_audio(did)
        except Exception:  # noqa: BLE001  (the library closed under it; the pool thread lives on)
            if not self.stopping.is_set():
                log.exception("feed: after polling %s", did[:24])
        finally:
            with self._poll_lock:
                self._polling.discard(did)
                self._polled[did] = self.node.clock()
            self._wake.set()

    def _poll(self, did: str) -> PollResult | None:
        try:
            return poll_feed(self.node, did)
        except Exception:  # noqa: BLE001  (the thread must survive; logged with its traceback)
            if not self.stopping.is_set():
                log.exception("feed: polling %s failed", did[:24])
            return None
