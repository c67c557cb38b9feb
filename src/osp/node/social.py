"""The node's social records (spec §10): making ours, taking peers', finding a track's.

``SocialService`` (``node.social``) is the thin adapter between the signed records of
``osp.records.social``, their repository ``osp.library.social.SocialRecords`` and the
network:

* ``create(kind, fields)`` builds, signs (the node's key: ``KeystoreError`` when it is
  missing or locked), verifies and stores one of our records, then asks the feed publisher
  to put our catalog again (our catalog holds our Track Records and our social records:
  ``osp.node.feed_publish``), and, for a comment, like or flag on a track, re-plans the
  announces: the node is announced under that track's rendezvous key
  (``announced_tracks``), so seekers of the track find who talks about it.
* ``ingest(records, source=…)`` verifies each record a peer sent (``verify_social``) and
  stores it (``SocialRecords.add``: newest playlist version wins, tombstones applied,
  per-author caps), at most ``IntakeBudget`` records stored per source per minute (keyed by
  the peer's IP address, IPv6 by /64, whatever its port: ``source_key``; a record
  byte for byte one we hold is not verified again).  A forged or malformed record raises
  ``IntegrityError`` for the whole batch (the caller marks the peer bad) unless ``strict``
  is off.  A followed author's catalog goes to ``store`` (``osp.node.feeds``: verified by
  ``catalog_decode_all``, bounded by the catalog's own caps).
* ``lookup(track_id, timeout)`` asks the DHT for the holders of the track's rendezvous key
  and each of them (``MAX_ASKED`` at most, picked per IP and per /24 like search) for
  ``GET /osp/v0/tracks/{id}/social`` (``MAX_ANSWER_BYTES``, ``MAX_ANSWER_RECORDS``,
  2 × ``PEER_TIMEOUT`` s each, ``LOOKUP_WORKERS`` at once, all within ``timeout``); every record must verify and be about
  that track (``osp.social.intake.on_topic``), or the peer's whole answer is dropped and the
  peer marked bad for a while; a tombstone is kept only if what it removes is about that
  track (in the answer, or held here), the others dropped.  A ``LookupReport`` passed in
  tells what it reached (DHT off or unreachable, holders asked, answers taken): ``osp
  comments --lookup`` says so.
* ``peer_answer(track_id)``: what this node serves at that route: the tombstones of records
  about the track first (ours first), then its comments, likes and flags: ours, then those of
  identities we trust, then the last received (``osp.node.social_view``: no flood pushes ours
  out), at most ``MAX_ANSWER_RECORDS`` records and ``MAX_ANSWER_BYTES`` bytes (``truncated``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from osp.core.errors import (
    CallerError,
    ConflictError,
    IntegrityError,
    KeystoreError,
    NotFoundError,
    OspError,
    PeerError,
)
from osp.discovery.keys import rendezvous_key
from osp.discovery.search import PEER_TIMEOUT
from osp.distribution.peer_client import PeerClient
from osp.library.playlists import Playlists
from osp.library.social import SocialRecords, SocialRow
from osp.library.social_links import retracted_playlist_seq
from osp.node import social_view
from osp.node.search import SearchGate
from osp.records.canonical import jcs
from osp.records.social import MAX_PLAYLIST_TRACKS, VerifiedSocial, build_social, sign_social, verify_social
from osp.records.track import ID_PREFIX
from osp.social.intake import (
    MAX_ANSWER_BYTES,
    MAX_ANSWER_RECORDS,
    TRACK_KINDS,
    IntakeBudget,
    on_topic,
    parse_answer,
)

if TYPE_CHECKING:
    from osp.node.core import Node

log = logging.getLogger("osp.social")

MAX_ASKED = 16  #: holders one lookup asks at most
MAX_ANSWER_TOMBSTONES = MAX_ANSWER_RECORDS // 4  #: tombstones a peer answer holds at most (the rest: records)
LOOKUP_WORKERS = 8  #: holders asked at once
MAX_LOOKUP_TIMEOUT = 30.0  #: seconds a lookup may be given at most
MAX_ANNOUNCED_TRACKS = 200  #: tracks our own comments, likes and flags announce us under (newest first)
MAX_TRACK_ID = 128  #: characters of a track id in a route


def now_iso(now: float) -> str:
    """``now`` (Unix seconds) as the ISO 8601 UTC date-time records carry (``…Z``, seconds)."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_track_id(track_id: object) -> str:
    """``track_id`` if it looks like a track id (``osp:track:…``, at most ``MAX_TRACK_ID``
    characters); ``CallerError`` otherwise (full checks are ``verify_social``'s)."""
    if not isinstance(track_id, str) or not track_id.startswith(ID_PREFIX) or len(track_id) > MAX_TRACK_ID:
        raise CallerError("a track id is osp:track:<CID>")
    return track_id


def parsed_record(record: Any) -> dict[str, Any]:
    """A stored record (JSON text, bytes or an object) as a dict."""
    if isinstance(record, dict):
        return record
    value = json.loads(record)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


@dataclass
class LookupReport:
    """What one ``SocialService.lookup`` reached (filled in as it runs)."""

    dht: str = "ok"  #: ``ok``, ``off`` (no engine or DHT in this node) or ``unreachable`` (no DHT node answered)
    asked: int = 0  #: holders of the track's key asked (0: the DHT named none)
    answered: int = 0  #: holders whose answer was taken (verified, on topic)

    def to_json(self) -> dict[str, Any]:
        return {"dht": self.dht, "asked": self.asked, "answered": self.answered}


class SocialService:
    """``node.social``: see the module docstring.  Thread-safe (the repository has one
    writer; the budget has its own lock)."""

    def __init__(self, node: Node, *, monotonic: Any = time.monotonic) -> None:
        self.node = node
        self.records = SocialRecords(node.library)
        self.budget = IntakeBudget()
        self.gate = SearchGate()  #: admits peers' ``GET /osp/v0/tracks/{id}/social`` (a few at once, a rate per IP)
        self.monotonic = monotonic
        self._create_lock = threading.Lock()

    # -- ours -------------------------------------------------------------------------

    def create(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Sign and store one of our records of ``kind`` with body ``fields`` (the
        preamble's shapes: ``{"subject": …, "text": …}`` …); returns the signed record.
        A retraction (``tombstone``) of one of our playlist versions names its series and
        ``seq`` too (spec §10.2 rule 3), unless ``fields`` sets them.

        A like or follow of a subject we like or follow already returns the record held; so
        does an endorsement with the same text (one per author and subject, spec §10.3),
        while one with other text is a ``ConflictError`` naming the held one to retract.
        ``CallerError`` on bad fields or a retraction of a record that is not ours,
        ``NotFoundError`` for a retraction of a record not held, ``KeystoreError`` without a
        usable key, ``ConflictError`` when the repository refuses it (the same record held
        already, a playlist version not newer than the one held)."""
        if not isinstance(kind, str) or not isinstance(fields, dict):
            raise CallerError("a social record is a kind and an object of fields")
        key = self.node.signing_key()
        if kind == "tombstone":
            row = self._check_retract(fields.get("subject"), key.did)
            if row.kind == "playlist" and "playlist" not in fields and "seq" not in fields:
                # spec §10.2 rule 3: a follower holding another version of the series applies it
                fields = {**fields, "playlist": row.playlist, "seq": row.seq}
        if kind in ("like", "follow", "endorsement") and isinstance(fields.get("subject"), str):
            held = self.records.find(key.did, kind, fields["subject"])  # by author: no flood hides it
            if held is not None:  # once is enough: the one held (spec §10.3)
                if kind != "endorsement" or held.record.get("text") == fields.get("text"):
                    return held.record
                raise ConflictError(f"you endorse {fields['subject'][:60]} already ({held.id}); to change the "
                                    f"text, retract it first (osp retract {held.id})")
        with self._create_lock:
            now = self.node.clock()
            unsigned = build_social(kind, key.did, dict(fields))
            verified = verify_social(sign_social(unsigned, key, now_iso(now)))
            if not self.records.add(verified, own=True, now=now):
                raise ConflictError(f"the {kind} was not stored: the same record is held already, or it is an "
                                    "older playlist version or a retracted record")
        self._spread(verified)
        return verified.record

    def _check_retract(self, subject: object, did: str) -> SocialRow:
        """The held record ``subject`` that ``did`` may retract; ``CallerError`` or
        ``NotFoundError`` as ``create`` says."""
        if not isinstance(subject, str) or not subject:
            raise CallerError("retract names a record id (osp:<kind>:…)")
        row = self.records.get(subject)
        if row is None:
            raise NotFoundError(f"no record {subject[:80]} here")
        if row.author != did:
            raise CallerError("only the author of a record can retract it")
        if row.kind == "tombstone":
            raise CallerError("a tombstone cannot be retracted")
        return row

    def _spread(self, verified: VerifiedSocial) -> None:
        """After one of our records is stored: the feed (catalog) is put again, and a
        record about a track re-plans the announces."""
        if self.node.engine is not None:
            self.node.feeds.publish_soon()
        if verified.kind in TRACK_KINDS or verified.kind == "tombstone":
            self.node.discovery.refresh()

    def publish_playlist(self, playlist_id: str) -> dict[str, Any]:
        """Sign the local playlist ``playlist_id`` (``osp.library.playlists``) as a Playlist
        record: series id = the local id, ``seq`` = the last published (or retracted)
        version's + 1, title = its name.  ``NotFoundError`` for an unknown playlist; what ``create`` raises."""
        local = Playlists(self.node.library).get(playlist_id)
        if len(local.tracks) > MAX_PLAYLIST_TRACKS:
            raise CallerError(f"a published playlist holds at most {MAX_PLAYLIST_TRACKS} tracks; "
                              f"{local.name[:60]!r} has {len(local.tracks)}")
        did = self.node.signing_key().did
        held = [r.seq or 0 for r in self.records.playlists(author=did) if r.playlist == local.id]
        seq = max([*held, retracted_playlist_seq(self.node.library, did, local.id) or 0]) + 1
        return self.create("playlist", {"playlist": local.id, "seq": seq, "title": local.name,
                                        "tracks": list(local.tracks)})

    def follow_signed(self, did: str) -> dict[str, Any] | None:
        """Our signed Follow of ``did`` (the one held, or a new one); ``None`` when the node
        has no usable key (no identity yet, a locked keystore): the local follow still
        works, only the public record is missing."""
        if not self.node.keystore.exists():
            return None
        try:
            return self.create("follow", {"subject": did})
        except KeystoreError:
            return None

    def unfollow_signed(self, did: str) -> int:
        """Retract (Tombstones) our Follow records of ``did``; returns how many.  Nothing
        without a usable key."""
        me = self.node.library.meta("did")
        found = self.records.find(me, "follow", did) if me else None  # by author: no flood hides it
        held = [] if found is None else [found]
        done = 0
        for row in held:
            try:
                self.create("tombstone", {"subject": row.id})
                done += 1
            except (KeystoreError, ConflictError):
                break
        return done

    def announced_tracks(self) -> list[str]:
        """Track ids our own comments, likes and flags are about (newest first, at most
        ``MAX_ANNOUNCED_TRACKS``): the node announces itself under their rendezvous keys."""
        did = self.node.library.meta("did")
        if not did:
            return []
        out: list[str] = []
        for row in self.records.by_author(did, kinds=TRACK_KINDS, newest_first=True):
            subject = row.subject
            if isinstance(subject, str) and subject.startswith(ID_PREFIX) and subject not in out:
                out.append(subject)
                if len(out) >= MAX_ANNOUNCED_TRACKS:
                    break
        return out

    def own_records(self, max_records: int, max_bytes: int) -> list[bytes]:
        """Our social records as JCS bytes, for our catalog (``feed_publish``), newest first,
        at most ``max_records`` records and ``max_bytes`` bytes (what the catalog has room
        for beside our Track Records: the oldest are left out); tombstones included
        (followers apply them)."""
        did = self.node.library.meta("did")
        if not did:
            return []
        out: list[bytes] = []
        size = 0
        for row in self.records.by_author(did, newest_first=True):
            raw = jcs(parsed_record(row.record))
            if len(out) >= max_records or size + len(raw) + 1 > max_bytes:
                break
            out.append(raw)
            size += len(raw) + 1
        return out

    # -- peers' -----------------------------------------------------------------------

    def ingest(self, records: Iterable[Any], *, source: str, strict: bool = True, rated: bool = True) -> int:
        """Verify and store ``records`` (parsed JSON objects) from ``source`` (a peer URL or
        a followed did); returns how many were new.  At most the source's ``IntakeBudget``
        (a URL's by its IP address or IPv6 /64, not its port)
        is taken when ``rated`` (the rest is dropped unread).  ``strict``: the first record
        that does not verify raises ``IntegrityError`` (nothing of the batch is stored);
        otherwise it is skipped.  Only records stored count against the budget."""
        batch = list(records)
        if rated:
            granted = self.budget.take(source, len(batch), self.monotonic())
            if granted < len(batch):
                log.debug("social: %s sent %d records, %d taken (records per minute capped)", source[:60],
                         len(batch), granted)
            batch = batch[:granted]
        verified: list[VerifiedSocial] = []
        for record in batch:
            try:
                verified.append(self.verified(record))
            except IntegrityError:
                if strict:
                    raise
        added = self.store(verified)
        if rated:
            self.budget.give_back(source, len(batch) - added)  # only records stored count against the peer
        return added

    def verified(self, record: Any) -> VerifiedSocial:
        """``verify_social(record)``, but a record byte for byte one we hold (verified when
        stored: the same record from many holders, lookup after lookup) is not verified
        again.  ``IntegrityError`` as ``verify_social``."""
        record_id = record.get("id") if isinstance(record, dict) else None
        if isinstance(record_id, str):
            row = self.records.get(record_id)
            if row is not None:
                try:
                    if jcs(row.record) == jcs(record):
                        return VerifiedSocial(row.record)
                except Exception:  # noqa: BLE001  (not JSON-able as is: verify_social says why)
                    pass
        return verify_social(record)

    def store(self, verified: Sequence[VerifiedSocial]) -> int:
        """Store verified records in one transaction, tombstones last (so one that arrives
        with its subject removes it); returns how many were new."""
        ordered = sorted(verified, key=lambda v: v.kind == "tombstone")
        return self.records.add_many(ordered, own=False, now=self.node.clock())

    def lookup(self, track_id: str, timeout: float = 10.0, report: LookupReport | None = None) -> int:
        """Ask the holders of ``track_id``'s rendezvous key for its social records (see the
        module docstring); returns the new records stored, and fills ``report`` (what was
        reached) when given.  Never raises ``OspError`` for what peers do; 0 without an
        engine or DHT."""
        track_id = check_track_id(track_id)
        node = self.node
        report = report if report is not None else LookupReport()
        if node.engine is None or not node.settings.dht:
            report.dht = "off"
            return 0
        timeout = max(0.1, min(float(timeout), MAX_LOOKUP_TIMEOUT))
        deadline = self.monotonic() + timeout
        if not node.discovery.wait_for_nodes(min(3.0, timeout)):
            report.dht = "unreachable"
            return 0
        key = rendezvous_key("track", track_id)
        try:
            candidates = node.discovery.holder_candidates(key, max(0.1, deadline - self.monotonic()))
        except OspError:
            report.dht = "unreachable"
            return 0
        urls = node.discovery.picker(MAX_ASKED).pick(candidates)
        report.asked = len(urls)
        if not urls:
            return 0
        clients: list[PeerClient] = []
        lock = threading.Lock()
        pool = ThreadPoolExecutor(max_workers=LOOKUP_WORKERS, thread_name_prefix="osp-social-lookup")
        added = [0]

        def ask(url: str) -> None:
            left = deadline - self.monotonic()
            if left <= 0:
                return
            try:
                client = PeerClient(url, allow_private=node.settings.allow_private_peers,
                                    deadline=min(PEER_TIMEOUT * 2, left), timeout=min(PEER_TIMEOUT * 2, left))
                with lock:
                    clients.append(client)
                with client:
                    try:
                        answer = client.get_json(f"/osp/v0/tracks/{quote(track_id, safe=':')}/social",
                                                 MAX_ANSWER_BYTES)
                    except PeerError as exc:
                        if "answer larger than" in exc.message:  # PeerClient's cap: a hostile answer
                            raise IntegrityError(f"social answer over {MAX_ANSWER_BYTES} bytes", check="size") from exc
                        raise
                n = self.take_answer(track_id, answer, source=url)
                with lock:
                    added[0] += n
                    report.answered += 1
            except IntegrityError as exc:
                node.bad_peers.mark(url, exc.message)
                log.debug("social: %s answered bad records about %s: %s", url, track_id[:40], exc.message)
            except OspError:
                pass  # down, slow, or nothing here: the others answer
            except Exception:  # noqa: BLE001  (a client bug must not hang the lookup)
                log.exception("social: asking %s failed", url)

        futures = [pool.submit(ask, url) for url in urls]
        try:
            for future in futures:
                left = deadline - self.monotonic()
                if left <= 0:
                    break
                try:
                    future.result(timeout=left)
                except Exception:  # noqa: BLE001  (timeout: abandoned below)
                    break
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            with lock:
                for c in clients:
                    c.close()
        return added[0]

    def take_answer(self, track_id: str, answer: Any, *, source: str) -> int:
        """One peer's answer about ``track_id``: shape checked, every record verified and
        every one but a tombstone on topic (else ``IntegrityError``: nothing of it is
        stored); a tombstone is kept only if its subject is a comment, like or flag on the
        track in this answer or held here (``on_topic``), the others are dropped; the rest
        is stored within the source's budget; returns the new records."""
        records = parse_answer(answer)
        granted = self.budget.take(source, len(records), self.monotonic())
        verified = []
        for record in records[:granted]:
            v = self.verified(record)
            if v.kind != "tombstone" and not on_topic(v.kind, v.subject, track_id):
                raise IntegrityError(f"the record {v.id[:60]} is not about {track_id[:60]}", check="off-topic")
            verified.append(v)
        abouts = {v.id: v.subject for v in verified if v.kind != "tombstone"}
        kept = [v for v in verified if v.kind != "tombstone" or on_topic(
            v.kind, v.subject, track_id, about=abouts.get(v.subject or "") or self._held_about(v.subject))]
        added = self.store(kept)
        # only records stored count against the peer; dropped tombstones do (they were verified for nothing)
        self.budget.give_back(source, len(kept) - added)
        return added

    def _held_about(self, record_id: str | None) -> str | None:
        """The subject of the comment, like or flag ``record_id`` we hold, else ``None``."""
        row = self.records.get(record_id) if record_id else None
        return row.subject if row is not None and row.kind in TRACK_KINDS else None

    # -- views ------------------------------------------------------------------------

    def about(self, track_id: str) -> list[dict[str, Any]]:
        """The verified comments, likes and flags this node holds about ``track_id``
        (records as JSON objects, oldest first): at most ``MAX_ROWS``, our own and trusted
        identities' first, then the last received (``osp.node.social_view``: a flood cannot
        push ours out).  ``CallerError`` for a malformed track id."""
        return social_view.about(self.node, check_track_id(track_id), TRACK_KINDS)

    def tombstones_about(self, track_id: str) -> list[dict[str, Any]]:
        """The tombstones held whose subject was a record about ``track_id`` (at most
        ``MAX_ANSWER_RECORDS``: ours first, then the last received)."""
        return [parsed_record(r.record) for r in self.records.tombstones_about(
            track_id, limit=MAX_ANSWER_RECORDS, first=self.node.library.meta("did"))]

    def _answer_records(self, track_id: str) -> tuple[list[dict[str, Any]], bool]:
        """What the peer answer offers, in order: at most ``MAX_ANSWER_TOMBSTONES`` tombstones
        (ours first, then the last received), then the comments, likes and flags: ours, then
        those of identities we trust, then the last received (``social_view.pick``) — so
        neither a flood, nor retractions, nor records dated ahead can take our places in the
        answer (spec §10.5); and whether tombstones were left out."""
        first = social_view.first_authors(self.node)
        tombstones = self.records.tombstones_about(track_id, limit=MAX_ANSWER_TOMBSTONES + 1,
                                                   first=self.node.library.meta("did"))
        more = len(tombstones) > MAX_ANSWER_TOMBSTONES
        rows = social_view.pick(self.records, track_id, TRACK_KINDS, first, limit=MAX_ANSWER_RECORDS + 1)
        return [parsed_record(r.record) for r in (*tombstones[:MAX_ANSWER_TOMBSTONES], *rows)], more

    def peer_answer(self, track_id: str) -> bytes:
        """The body of ``GET /osp/v0/tracks/{id}/social`` (spec §10.5): ``{"records":
        [record…], "truncated": bool}`` (see the module docstring)."""
        track_id = check_track_id(track_id)
        records, truncated = self._answer_records(track_id)
        parts: list[bytes] = []
        size = 40
        for record in records:
            raw = jcs(record)
            if len(parts) >= MAX_ANSWER_RECORDS or size + len(raw) + 1 > MAX_ANSWER_BYTES:
                truncated = True
                break
            parts.append(raw)
            size += len(raw) + 1
        return b'{"records":[' + b",".join(parts) + b'],"truncated":' + (b"true" if truncated else b"false") + b"}"

