"""Asking the nodes the user named for what a fetch needs, all at once.

A play request needs the signed record, the torrent and each node's BitTorrent address.
Asked one after the other that is three round trips before the first piece is even
requested; here the torrent and the addresses are asked in parallel with the record (the
caller verifies the record meanwhile), from every named node at once.  Everything a peer
answers is untrusted: the record is verified and taken from the first node that gives a
valid one (``first_that_answers``), the torrent is checked against the verified record
(``check``, given by the caller: a hostile node that answers another torrent does not stop
the fetch, the next node is asked) and again by ``Transfer``; the addresses are only
dialled.  A node that is slow or hangs holds up nothing: its address is dialled when it
comes (``PeerAnswers.late``), and a closing node ends what is still asked (``abandon``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from osp.core.errors import IntegrityError, OspError, PeerError, RemoteError
from osp.distribution.engine import parse_metainfo
from osp.distribution.peer_client import PeerClient
from osp.records.track import VerifiedTrack

T = TypeVar("T")

#: Seconds to wait, once the torrent is known, for the addresses still being asked.
ADDRESS_GRACE = 0.5


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
    check), the BitTorrent addresses known in time, ``late``: the address requests still
    running (a node that is slow or hangs; ``dial_late``), and ``errors`` per node URL."""

    torrent: bytes | None = None
    addresses: list[tuple[str, int]] = field(default_factory=list)
    late: list[Future[tuple[str, int] | None]] = field(default_factory=list)
    errors: dict[str, RemoteError] = field(default_factory=dict)
    clients: list[PeerClient] = field(default_factory=list)  #: every client opened, to ``abandon``

    def error(self) -> RemoteError:
        """The error to report when no node gave the torrent (the first node's)."""
        if self.errors:
            return next(iter(self.errors.values()))
        return PeerError("no node was asked")

    def pending(self) -> bool:
        """True while a late request is still running."""
        return any(not f.done() for f in self.late)

    def abandon(self) -> None:
        """End every request still running (the node closes): each fails at once."""
        for c in list(self.clients):
            c.close()

    def dial_late(self, dial: Callable[[tuple[str, int]], None]) -> None:
        """Call ``dial(address)`` for each late address as it arrives (on the asking thread;
        at once for one already there).  ``dial`` must not raise."""
        for pending in self.late:
            pending.add_done_callback(lambda f: _dial_result(f, dial))


def _dial_result(done: Future[tuple[str, int] | None], dial: Callable[[tuple[str, int]], None]) -> None:
    found = None if done.cancelled() or done.exception() is not None else done.result()
    if found is not None:
        dial(found)


def ask_peers(track_id: str, peers: Sequence[str], client: Callable[[str], PeerClient],
              check: Callable[[bytes], None] = lambda _torrent: None, *, grace: float = ADDRESS_GRACE) -> PeerAnswers:
    """Ask every node in ``peers`` (base URLs) for its BitTorrent address and the first two
    for the torrent of ``track_id``, in parallel.  Returns once a torrent passed ``check``
    (or no node gave one) and every address has answered or ``grace`` seconds have passed
    since: a node that hangs delays the start by ``grace`` at most, not by the request
    deadline; its address is left in ``late``.  ``check(torrent)`` raises ``OspError`` for a
    torrent that is not the track's: that node's answer counts as its error and the next
    node is asked.  Never raises ``OspError``."""
    answers = PeerAnswers()

    def opened(url: str) -> PeerClient:
        c = client(url)
        answers.clients.append(c)
        return c

    def address(url: str) -> tuple[str, int] | None:
        try:
            with opened(url) as c:
                return c.bittorrent_address()
        except OspError:
            return None

    def torrent(url: str) -> bytes:
        with opened(url) as c:
            data = c.torrent(track_id)
        check(data)
        return data

    # not a ``with`` block: its exit would wait for a hanging node's requests (each ends by
    # the client's deadline, or at once by ``abandon``, on its own thread)
    pool = ThreadPoolExecutor(max_workers=min(16, len(peers) + 2) or 1, thread_name_prefix="osp-ask")
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
        wait(addresses, timeout=grace)
        for asked in addresses:
            if not asked.done():
                answers.late.append(asked)
                continue
            found = asked.result()
            if found is not None and found not in answers.addresses:
                answers.addresses.append(found)
    finally:
        pool.shutdown(wait=False)
    return answers


def first_that_answers(peers: Sequence[str], attempt: Callable[[str], T]) -> T:
    """``attempt(url)`` for each node in ``peers`` (base URLs, at least one) in order until one
    succeeds: a node that is down, lacks the track or sends a forged record does not stop the
    others from being asked (``osp get --peer DOWN --peer UP``).

    Returns the first success.  When every node fails, raises the first node's
    ``RemoteError`` (its class, so its exit code) with the others' messages appended.
    Errors other than ``RemoteError`` (a caller error) propagate at once.
    """
    failures: list[tuple[str, RemoteError]] = []
    for url in peers:
        try:
            return attempt(url)
        except RemoteError as exc:
            failures.append((url, exc))
    if not failures:
        raise PeerError("no node was asked")
    first = failures[0][1]
    if len(failures) > 1:
        first.message += "; also tried " + "; ".join(f"{url}: {exc.message}" for url, exc in failures[1:])
        first.args = (first.message,)
    raise first


def first_valid(peers: Sequence[str], attempt: Callable[[str], T], *, deadline: float, workers: int = 8,
                on_unreachable: Callable[[str], None] = lambda _url: None) -> T:
    """``attempt(url)`` for the nodes in ``peers`` (base URLs, at least one) in parallel (at
    most ``workers`` at once); the first success wins and the rest are left to end by their
    own request deadline (their threads are not joined).  ``deadline``: seconds for all.

    A node that fails with ``PeerError`` (down, too slow: its client's deadline passed) or
    has not answered by ``deadline`` is passed to ``on_unreachable`` (remember it briefly).
    When none succeeds, raises the first failure's ``RemoteError`` (its class, so its exit
    code) with the others' messages appended, as ``first_that_answers``.  Errors other than
    ``RemoteError`` (a caller error) propagate at once."""
    if not peers:
        raise PeerError("no node was asked")
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(peers))), thread_name_prefix="osp-first")
    futures = {pool.submit(attempt, url): url for url in peers}
    end = time.monotonic() + deadline
    failures: list[tuple[str, RemoteError]] = []
    try:
        while futures:
            done, _ = wait(futures, timeout=max(0.0, end - time.monotonic()), return_when=FIRST_COMPLETED)
            if not done:
                break
            for fut in done:
                url = futures.pop(fut)
                try:
                    return fut.result()
                except PeerError as exc:
                    on_unreachable(url)
                    failures.append((url, exc))
                except RemoteError as exc:
                    failures.append((url, exc))
        for url in futures.values():
            on_unreachable(url)
            failures.append((url, PeerError(f"{url} did not answer within {deadline:g} s")))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    first = failures[0][1]
    if len(failures) > 1:
        first.message += "; also tried " + "; ".join(f"{url}: {exc.message}" for url, exc in failures[1:])
        first.args = (first.message,)
    raise first
