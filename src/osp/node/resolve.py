"""Resolving a track reference to a verified record (``Node.resolve``), and finding a
track's holders on the DHT (``Node.dht_holders``, spec §9).

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
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from osp.core.errors import CallerError, IntegrityError, NotFoundError, RemoteError, RemoteNotFoundError
from osp.discovery.keys import rendezvous_key
from osp.distribution.magnet import parse_magnet
from osp.distribution.peer_client import typed_base_url
from osp.node.ask import first_valid
from osp.node.discovery import (
    BOOTSTRAP_WAIT,
    HOLDER_DEADLINE,
    LOOKUP_TIMEOUT,
    RESOLVE_DEADLINE,
    RETRY_MIN,
    RETRY_SETTLE,
    SLOW_PEER_TTL,
)
from osp.records.track import ID_PREFIX, VerifiedTrack, verify_track

if TYPE_CHECKING:
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

