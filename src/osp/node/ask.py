"""Asking the nodes the user named for what a fetch needs, all at once.

A play request needs the signed record, the torrent and each node's BitTorrent address.
Asked one after the other that is three round trips before the first piece is even
requested; here the torrent and the addresses are asked in parallel with the record (the
caller verifies the record meanwhile), from every named node at once.  Everything a peer
answers is untrusted: the torrent is checked against the verified record by the caller
(``Transfer``), the addresses are only dialled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from osp.core.errors import OspError, PeerError, RemoteError
from osp.distribution.peer_client import PeerClient

T = TypeVar("T")


@dataclass
class PeerAnswers:
    """What the named nodes said: the torrent (from the first that had it) and the
    BitTorrent addresses of every node that gave one in time; ``errors`` per node URL;
    ``late``: the address requests still running when the answers were returned (a node
    that is slow or hangs), for the caller to dial when they come (``dial_late``)."""

    torrent: bytes | None = None
    addresses: list[tuple[str, int]] = field(default_factory=list)
    errors: dict[str, RemoteError] = field(default_factory=dict)
    late: list[Future[tuple[str, int] | None]] = field(default_factory=list)
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
    found = None if done.cancelled() else done.result()
    if found is not None:
        dial(found)


#: Seconds to wait, once the torrent is known, for the addresses still being asked.
ADDRESS_GRACE = 0.5


def ask_peers(track_id: str, peers: Sequence[str], client: Callable[[str], PeerClient], *,
              grace: float = ADDRESS_GRACE) -> PeerAnswers:
    """Ask every node in ``peers`` (base URLs) for its BitTorrent address and the first ones
    for the torrent of ``track_id``, in parallel.  Returns once the torrent is known (or no
    node gave it) and every address has answered or ``grace`` seconds have passed since:
    a node that hangs delays the start by ``grace`` at most, not by the request deadline;
    its address is left in ``answers.late``.  Never raises ``OspError``."""
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
            return c.torrent(track_id)

    # not a ``with`` block: its exit would wait for a hanging node's requests (each ends by
    # the client's deadline on its own thread)
    pool = ThreadPoolExecutor(max_workers=min(16, 2 * len(peers)) or 1, thread_name_prefix="osp-ask")
    try:
        addresses = [pool.submit(address, url) for url in peers]
        torrents: list[tuple[str, Future[bytes]]] = [(url, pool.submit(torrent, url)) for url in peers[:2]]
        for url, pending in torrents:
            try:
                answers.torrent = pending.result()
                break
            except RemoteError as exc:
                answers.errors[url] = exc
            except OspError as exc:
                answers.errors[url] = PeerError(str(exc))
        for url in peers[2:]:
            if answers.torrent is not None:
                break
            try:
                answers.torrent = torrent(url)
            except RemoteError as exc:
                answers.errors[url] = exc
            except OspError as exc:
                answers.errors[url] = PeerError(str(exc))
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
