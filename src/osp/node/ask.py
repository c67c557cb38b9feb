"""Asking the nodes the user named for what a fetch needs, all at once.

A play request needs the signed record, the torrent and each node's BitTorrent address.
Asked one after the other that is three round trips before the first piece is even
requested; here the torrent and the addresses are asked in parallel with the record (the
caller verifies the record meanwhile), from every named node at once.  Everything a peer
answers is untrusted: the torrent is checked against the verified record (``check``,
given by the caller: a hostile node that answers another torrent does not stop the fetch,
the next node is asked) and again by ``Transfer``; the addresses are only dialled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from osp.core.errors import IntegrityError, OspError, PeerError, RemoteError
from osp.distribution.engine import parse_metainfo
from osp.distribution.peer_client import PeerClient
from osp.records.track import VerifiedTrack


def check_torrent(track: VerifiedTrack, torrent: bytes) -> None:
    """``IntegrityError(check="infohash")`` unless ``torrent``'s v1 infohash is the verified
    record's (the infohash fixes the info dict: size, piece length, piece hashes);
    ``CorruptDataError`` if it is no torrent."""
    infohash = parse_metainfo(torrent).infohash
    if infohash != track.infohash:
        raise IntegrityError(f"the node answered the torrent {infohash}, not the record's {track.infohash}",
                             check="infohash")


@dataclass
class PeerAnswers:
    """What the named nodes said: the torrent (from the first that had one that passed the
    check), the BitTorrent addresses known when it came, ``late``: the answers still on
    their way (``Future`` of an address or ``None``; dial them when they come), and
    ``errors`` per node URL."""

    torrent: bytes | None = None
    addresses: list[tuple[str, int]] = field(default_factory=list)
    late: list[Future[tuple[str, int] | None]] = field(default_factory=list)
    errors: dict[str, RemoteError] = field(default_factory=dict)

    def error(self) -> RemoteError:
        """The error to report when no node gave the torrent (the first node's)."""
        if self.errors:
            return next(iter(self.errors.values()))
        return PeerError("no node was asked")


def ask_peers(track_id: str, peers: Sequence[str], client: Callable[[str], PeerClient],
              check: Callable[[bytes], None] = lambda _torrent: None) -> PeerAnswers:
    """Ask every node in ``peers`` (base URLs) for its BitTorrent address and the first two
    for the torrent of ``track_id``, in parallel; returns as soon as a torrent passed
    ``check`` (or every node failed to give one): one slow node never holds up the fetch,
    its address comes later in ``late``.  ``check(torrent)`` raises ``OspError`` for a
    torrent that is not the track's (e.g. another infohash than the verified record's):
    that node's answer counts as its error and the next node is asked.  Each request is
    bounded by the client's deadline.  Never raises ``OspError``."""
    answers = PeerAnswers()

    def address(url: str) -> tuple[str, int] | None:
        try:
            with client(url) as c:
                return c.bittorrent_address()
        except OspError:
            return None

    def torrent(url: str) -> bytes:
        with client(url) as c:
            data = c.torrent(track_id)
        check(data)
        return data

    pool = ThreadPoolExecutor(max_workers=min(10, len(peers) + 2) or 1, thread_name_prefix="osp-ask")
    try:
        addresses = [pool.submit(address, url) for url in peers]
        pending = {pool.submit(torrent, url): url for url in peers[:2]}
        rest = list(peers[2:])
        while pending and answers.torrent is None:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                url = pending.pop(fut)
                try:
                    data = fut.result()
                except RemoteError as exc:
                    answers.errors[url] = exc
                except OspError as exc:
                    answers.errors[url] = PeerError(str(exc))
                else:
                    if answers.torrent is None:
                        answers.torrent = data
                if answers.torrent is None and rest:
                    nxt = rest.pop(0)
                    pending[pool.submit(torrent, nxt)] = nxt
        for asked in addresses:
            if asked.done():
                found = asked.result()
                if found is not None and found not in answers.addresses:
                    answers.addresses.append(found)
            else:
                answers.late.append(asked)
    finally:
        pool.shutdown(wait=False)  # what is still asked finishes within its deadline, in the background
    return answers
