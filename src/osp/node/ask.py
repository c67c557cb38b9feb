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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from osp.core.errors import OspError, PeerError, RemoteError
from osp.distribution.peer_client import PeerClient

T = TypeVar("T")


@dataclass
class PeerAnswers:
    """What the named nodes said: the torrent (from the first that had it) and the
    BitTorrent addresses of every node that gave one; ``errors`` per node URL."""

    torrent: bytes | None = None
    addresses: list[tuple[str, int]] = field(default_factory=list)
    errors: dict[str, RemoteError] = field(default_factory=dict)

    def error(self) -> RemoteError:
        """The error to report when no node gave the torrent (the first node's)."""
        if self.errors:
            return next(iter(self.errors.values()))
        return PeerError("no node was asked")


def ask_peers(track_id: str, peers: Sequence[str], client: Callable[[str], PeerClient]) -> PeerAnswers:
    """Ask every node in ``peers`` (base URLs) for its BitTorrent address and the first ones
    for the torrent of ``track_id``, in parallel; returns once all have answered or failed
    (each request is bounded by the client's deadline).  Never raises ``OspError``."""
    answers = PeerAnswers()

    def address(url: str) -> tuple[str, int] | None:
        try:
            with client(url) as c:
                return c.bittorrent_address()
        except OspError:
            return None

    def torrent(url: str) -> bytes:
        with client(url) as c:
            return c.torrent(track_id)

    with ThreadPoolExecutor(max_workers=min(8, 2 * len(peers)) or 1, thread_name_prefix="osp-ask") as pool:
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
        for asked in addresses:
            found = asked.result()
            if found is not None and found not in answers.addresses:
                answers.addresses.append(found)
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
