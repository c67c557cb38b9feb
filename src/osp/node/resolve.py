"""Resolving a track reference to a verified record (``Node.resolve``), finding a track's
holders on the DHT (``Node.dht_holders``, spec §9), and starting its download from the
nodes that answer (``Node.fetch``: record, torrent and BitTorrent addresses asked of the
named or DHT-found nodes; the gateways as a fallback).

Functions taking the node, as ``osp.node.cache`` and ``osp.node.gateways`` do: ``Node``
keeps thin methods that delegate here.  They call back through the node's methods
(``node._resolve_remote``, ``node.dht_holders``, ``node.discovery``), so a test can
replace one of them on a node.  Every record is verified (``verify_track``) and checked
to be the one asked for; a peer that forges or substitutes one is marked in
``node.bad_peers``; a DHT-named holder that is down or too slow is skipped for
``SLOW_PEER_TTL`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from osp.core.errors import (
    CallerError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    RemoteError,
    RemoteNotFoundError,
)
from osp.discovery.keys import rendezvous_key
from osp.distribution.engine import rebuild_torrent
from osp.distribution.magnet import parse_magnet
from osp.distribution.peer_client import typed_base_url
from osp.node.ask import PeerAnswers, ask_peers, check_torrent, first_that_answers, first_valid
from osp.node.discovery import (
    BOOTSTRAP_WAIT,
    HOLDER_DEADLINE,
    LOOKUP_TIMEOUT,
    RESOLVE_DEADLINE,
    RETRY_MIN,
    RETRY_SETTLE,
    SLOW_PEER_TTL,
)
from osp.node.fetch import Transfer
from osp.node.gateways import fetch_by_gateways, gateway_fallback
from osp.node.publish import web_seed_url
from osp.records.track import ID_PREFIX, VerifiedTrack, verify_track

if TYPE_CHECKING:
    from osp.distribution.engine import Engine
    from osp.node.core import Node


def resolve(node: Node, ref: str, peer: str | None = None) -> VerifiedTrack:
    """Find and verify a record.  ``ref``: a track id, a magnet, a record file path, or
    a peer URL of a record; ``peer``: a node's base URL to ask.

    Raises ``NotFoundError`` (not here, no ``peer`` given), ``CallerError`` (``peer``
    is not an http(s) URL), ``RemoteNotFoundError`` (the peer has no such track),
    ``PeerError`` or ``IntegrityError`` (forged/tampered).
    """
    ref = ref.strip()
    peer = typed_base_url(peer) if peer else None
    if ref.startswith(("http://", "https://")):
        parts = urlsplit(ref)
        base = f"{parts.scheme}://{parts.netloc}"
        track_id = parts.path.rstrip("/").rsplit("/", 1)[-1]
        return node._resolve_remote(track_id, base)
    if ref.startswith("magnet:"):
        infohash = parse_magnet(ref).infohash
        rows = node.library.tracks_by_infohash(infohash)
        if rows:
            return verify_track(rows[0].record)
        if not peer:
            raise NotFoundError(  # spec §9: infohashes are announced with BitTorrent ports, not HTTP ones
                f"no local track has the magnet's infohash {infohash}, and the DHT cannot resolve a magnet: "
                "its holders are announced there with their BitTorrent ports, not the HTTP ports that serve "
                "the signed Track Record an OSP track needs; give --peer URL of a node that has it, or the "
                "track id (osp:track:…) to find holders on the DHT")
        with node._peer(peer) as client:
            for candidate in client.find_by_infohash(infohash):
                track = verify_track(candidate)
                if track.infohash == infohash:
                    return track
        raise RemoteNotFoundError(f"{peer} lists no verified track with infohash {infohash}")
    if ref.startswith(ID_PREFIX):
        local = node.local_track(ref)
        if local is not None:
            return local
        known = node.library.known_record(ref)  # from a followed artist's catalog, verified again
        if known is not None:
            return verify_track(known.record)
        if not peer:
            return node._resolve_holders(ref, node.dht_holders(ref))[0]
        return node._resolve_remote(ref, peer)
    path = Path(ref).expanduser()
    if path.is_file():
        if path.stat().st_size > 64 * 1024:
            raise IntegrityError(f"{path} is too large to be a Track Record", check="json")
        return verify_track(path.read_bytes())
    if path.is_dir() or "/" in ref or path.suffix in (".json", ".jsonld"):
        raise CallerError(f"{ref}: {'a directory' if path.is_dir() else 'no such file'} "
                          "(give a track id, magnet, record file or record URL)")
    raise CallerError(f"{ref!r} is not a track id, magnet, record file or record URL")


def resolve_holders(node: Node, track_id: str, holders: Sequence[str]) -> tuple[VerifiedTrack, list[str]]:
    """The record of ``track_id`` from DHT-named ``holders``, asked in parallel (the first
    valid record wins; ``HOLDER_DEADLINE`` s each, ``RESOLVE_DEADLINE`` s in all); a
    holder that is down or too slow is skipped for ``SLOW_PEER_TTL`` s.

    A lookup that settled early may have named only dead holders: when every one fails,
    one more lookup (``RETRY_SETTLE``, without the holders that failed) runs and its new
    holders are asked, all within the same ``RESOLVE_DEADLINE``.  Returns the record and
    the holders it came from (the second lookup's, after a retry); raises the first
    round's ``RemoteError`` (the retry's outcome appended) when none gave it."""
    end = time.monotonic() + RESOLVE_DEADLINE

    def ask(urls: Sequence[str], deadline: float) -> VerifiedTrack:
        return first_valid(urls, lambda url: node._resolve_remote(track_id, url, HOLDER_DEADLINE),
                           deadline=deadline,
                           on_unreachable=lambda url: node.bad_peers.mark(url, "no answer in time", SLOW_PEER_TTL))

    try:
        return ask(holders, RESOLVE_DEADLINE), list(holders)
    except RemoteError as exc:
        failure = exc
    left = end - time.monotonic()
    if left < RETRY_MIN:
        raise failure
    started = time.monotonic()
    more = node.discovery.holders(rendezvous_key("track", track_id), min(LOOKUP_TIMEOUT, left),
                                  settle=RETRY_SETTLE, exclude=holders)
    left = end - time.monotonic()
    if not more or left <= 0:
        failure.message += (f"; a second DHT lookup ({time.monotonic() - started:.1f} s) found no other holder"
                            if not more else "; no time was left to ask the second lookup's holders")
        failure.args = (failure.message,)
        raise failure
    try:
        return ask(more, left), more
    except RemoteError as exc:
        failure.message += f"; then {len(more)} more from a second DHT lookup: {exc.message}"
        failure.args = (failure.message,)
        raise failure from exc


def resolve_remote(node: Node, track_id: str, peer: str, deadline: float | None = None) -> VerifiedTrack:
    """The record of ``track_id`` asked of ``peer`` (``deadline``: seconds per request,
    default ``settings.request_deadline``), verified and checked to be ``track_id``'s.
    Raises what ``PeerClient.record`` raises, or ``IntegrityError`` (forged or substituted:
    ``peer`` is then marked in ``node.bad_peers``)."""
    try:
        with node._peer(peer, deadline) as client:
            track = verify_track(client.record(track_id))
        if track.id != track_id:
            raise IntegrityError(f"asked {peer} for {track_id}, got the record {track.id}", check="id")
    except IntegrityError as exc:
        node.bad_peers.mark(peer, exc.message)  # a forged or substituted record: not asked again for a while
        raise
    return track


def dht_holders(node: Node, track_id: str, timeout: float = LOOKUP_TIMEOUT) -> list[str]:
    """Peer URLs announced on the DHT under ``track_id``'s rendezvous key (spec §9;
    starts the engine).  ``NotFoundError`` when the DHT is off, when its routing table is
    still empty ``BOOTSTRAP_WAIT`` s after this call ("no DHT nodes reachable"), or when the
    lookup (at most ``timeout`` seconds) found no holder."""
    if not node.settings.dht:
        raise NotFoundError(f"{track_id} is not in the local library; give --peer URL to ask a node "
                            "(the DHT is off)")
    node.start_engine()
    if not node.discovery.wait_for_nodes(BOOTSTRAP_WAIT):  # else the lookup would end at once, empty
        raise NotFoundError(f"{node.discovery.unreachable(BOOTSTRAP_WAIT)}; {track_id} is not in the local "
                            "library: give --peer URL to ask a node")
    start = time.monotonic()
    holders = node.discovery.holders(rendezvous_key("track", track_id), timeout)
    if not holders:
        raise NotFoundError(f"{track_id} is not in the local library and no holder was found on the DHT "
                            f"(the lookup ended after {time.monotonic() - start:.1f} s); give --peer URL to ask a node")
    return holders




def start_fetch(node: Node, ref: str, peer: str | Sequence[str] | None, stall_timeout: float) -> Transfer:
    """``Node.fetch``: start downloading a track (resolve, torrent, peers); returns the running
    ``Transfer``.  ``peer``: base URL(s) of nodes that have it, or none (a track id: its
    holders are found on the DHT).  Raises what ``Node.resolve`` raises, ``ConflictError``
    (another record's download holds the torrent), ``NotFoundError`` (no torrent anywhere)."""
    # the same node named twice is asked and used as a web seed once
    named = list(dict.fromkeys(typed_base_url(p) for p in ([peer] if isinstance(peer, str) else list(peer or ()))))
    engine = node.start_engine()
    from_dht = False
    if not named and ref.strip().startswith(ID_PREFIX) and node.local_track(ref.strip()) is None:
        named = node.dht_holders(ref.strip())  # the holders are the named peers; libtorrent's DHT finds more
        from_dht = node.library.known_record(ref.strip()) is None
    first = named[0] if named else None
    ahead: Future[PeerAnswers] | None = None
    verified: Future[VerifiedTrack] = Future()  # the torrents asked ahead are checked against it
    if named and ref.strip().startswith(ID_PREFIX) and node.library.track(ref.strip()) is None:
        ahead = node._ask_pool.submit(ask_peers, ref.strip(), named, node._peer,
                                      lambda t: check_torrent(verified.result(), t))
    try:
        if from_dht:
            track, found = node._resolve_holders(ref.strip(), named)  # DHT-named holders: parallel, short deadlines
            if found != named:  # the first holders all failed; a second lookup named these
                named, first, ahead = found, found[0], None
        elif len(named) > 1 and ref.strip().startswith((ID_PREFIX, "magnet:")):
            track = first_that_answers(named, lambda url: node.resolve(ref, url))  # the record: any named node
        else:
            track = node.resolve(ref, first)
    except BaseException as exc:
        verified.set_exception(exc)
        raise
    verified.set_result(track)
    existing = node.transfers.get(track.id)
    if existing is not None and existing.state.state not in ("failed", "cancelled", "stopped"):
        if named and existing.state.state in ("checking", "downloading"):
            for url in named:
                node._dial(existing, url)  # a resumed transfer: the peers may have moved since
        return existing
    reused = reuse_stored_file(node, track, engine)
    if reused is not None:
        return reused
    for other in node.transfers.values():
        if other.info.infohash == track.infohash and other.track.id != track.id and not other.done.is_set():
            raise ConflictError(  # two records claim one torrent: at most one of them is honest
                f"the torrent of {track.id} is being downloaded for another record ({other.track.id}); "
                "wait for it or `osp cancel` it first")
    peers: list[tuple[str, int]] = []
    metainfo: bytes | None = None
    answers: PeerAnswers | None = None
    row = node.library.track(track.id)
    local = row is not None and not node.file_missing(row.cid)  # a missing file is fetched again
    if local:
        metainfo = node.metainfo_for(track.id)
    elif named:
        answers = ahead.result() if ahead is not None and ref.strip() == track.id else None
        if answers is None:
            answers = ask_peers(track.id, named, node._peer, lambda t: check_torrent(track, t))
        if answers.torrent is None:
            if not node.settings.gateways:
                raise answers.error()
            return fetch_by_gateways(node, track, engine,
                                           f"cannot get the torrent from {first}: {answers.error().message}")
        # only the verified info dict is kept; the web seeds are the nodes the user named
        metainfo = rebuild_torrent(answers.torrent, web_seeds=[web_seed_url(u, track.record["cid"]) for u in named])
        peers = answers.addresses
    if metainfo is None and node.settings.gateways:
        return fetch_by_gateways(node, track, engine, "no peer to ask for the torrent")
    if metainfo is None:
        raise NotFoundError(
            f"no torrent for {track.id}: give --peer URL of a node that has it, or the track id to find "
            "holders on the DHT"
        )
    transfer = Transfer(
        track,
        metainfo,
        engine=engine,
        library=node.library,
        media_dir=node.settings.media_dir,
        peers=peers,
        stall_timeout=stall_timeout,
        on_complete=node._transfer_done,
        allow_private=node.settings.allow_private_peers,
        deadline=node.settings.request_deadline,
        fallback=gateway_fallback(node, track) if node.settings.gateways else None,
    )
    node.transfers[track.id] = transfer
    if local:
        transfer.mark_complete()
        return transfer
    node._start(transfer)
    if answers is not None and answers.late:  # a node slow to give its address is dialled when it does
        answers.dial_late(lambda address: node._connect(transfer, address))
        node._late_answers = [*(a for a in node._late_answers if a.pending()), answers]
    return transfer


def reuse_stored_file(node: Node, track: VerifiedTrack, engine: Engine) -> Transfer | None:
    """A new record for audio the library already holds (same CID and torrent): store
    the record on the stored file (checked by size; its bytes were verified against the
    CID when stored) and complete at once, without downloading.  ``None`` otherwise."""
    if node.library.track(track.id) is not None:
        return None
    torrent = node.library.torrent(track.infohash)
    stored = node.library.intact_file(track.record["cid"], node.settings.data_dir)
    if torrent is None or stored is None or torrent.cid != stored.cid:
        return None
    transfer = Transfer(track, torrent.metainfo, engine=engine, library=node.library,
                        media_dir=node.settings.media_dir, peers=[], on_complete=node._transfer_done)
    node.library.add_track(track, file=stored, blocks=[], infohash=track.infohash, metainfo=torrent.metainfo,
                           origin="fetched", played_at=node.clock())
    node.transfers[track.id] = transfer
    transfer.mark_complete()
    node.enforce_cache(spare=track.id)
    return transfer
