"""Pieces over HTTP from web seeds, in the order the stream needs them.

A web seed (BEP 19: the ``/ipfs/{cid}`` URL of the node the user named, or of an IPFS
gateway) serves the file's bytes with Range.  libtorrent's own web-seed client asks for
at least 1 MiB at a time and up to the whole file in one request, so a tail read or a
seek waited behind the whole sequential download on a slow uplink (issue 7, design.md
§8).  The node therefore fetches web seeds itself:

* **Two lanes per web seed**, each its own HTTP connection: the *urgent* lane fetches the
  pieces of the newest read's window (``want``) one piece a request (a newer read never
  waits behind more than one piece on this lane) — at once while no BitTorrent peer is
  connected, otherwise only those the swarm has not brought within ``HTTP_LATE`` seconds
  (``schedule.http_urgent``: one uplink must not carry a piece twice); the *bulk* lane
  fetches the rest in order from the newest read's position, at most ``BULK_REQUEST``
  bytes a request, and only while ``bulk`` is on (the transfer turns it on after
  ``BULK_GRACE`` seconds without a BitTorrent peer, ``schedule.http_bulk``).  While a
  read's pieces are missing the bulk lane starts no new request, so the read-ahead never
  shares the link with a read.
* **Every piece is checked** against the torrent's SHA-1 piece hash before it is handed to
  the engine (``Engine.add_piece``, which checks it again).  A web seed that sends one
  wrong piece, answers outside the protocol or fails ``MAX_ERRORS`` times is dropped for
  this transfer (``bad``).
* Pieces already verified, handed to the engine (which checks them asynchronously), or
  taken by this web seed's other lane, are skipped (``pick_run``, pure).  A piece another
  web seed took less than ``STEAL_AFTER`` seconds ago is skipped too; after that it is
  asked again here (duplicated, as BitTorrent's end game does): a web seed that drips
  bytes or never answers holds a piece for at most ``STEAL_AFTER`` seconds, not for its
  request deadline, and the stream goes on from the honest sources.

Every request goes through the egress guard (``PeerClient``) with its deadline.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from osp.core.errors import OspError
from osp.distribution.engine import Engine
from osp.distribution.peer_client import PeerClient
from osp.distribution.schedule import http_urgent

URGENT_REQUEST = 16 * 1024  #: one piece at a time: a newer read waits behind at most one
BULK_REQUEST = 256 * 1024
MAX_ERRORS = 3
IDLE_WAIT = 0.5
STEAL_AFTER = 2.0  #: seconds after which a piece another web seed is fetching may be asked here too


def pick_run(wanted: Sequence[int], have: Callable[[int], bool], taken: set[int], max_pieces: int) -> tuple[int, int] | None:
    """The first run ``(first, last)`` of consecutive pieces in ``wanted`` (in its order)
    that are neither had nor taken, at most ``max_pieces`` long; ``None`` if there is none."""
    run: tuple[int, int] | None = None
    for piece in wanted:
        free = not have(piece) and piece not in taken
        if run is None:
            if free:
                run = (piece, piece)
        elif free and piece == run[1] + 1 and piece - run[0] < max_pieces:
            run = (run[0], piece)
        else:
            break
    return run


@dataclass
class _Seed:
    url: str
    errors: int = 0
    bad: str | None = None  #: why it was dropped
    pieces: int = 0  #: pieces it delivered
    clients: list[PeerClient] = field(default_factory=list)


class WebSeeds:
    """HTTP sources of one torrent.  ``start()`` the lanes, ``want(pieces)`` on each read,
    ``bulk`` on/off, ``stop()`` when the transfer ends.

    ``piece_hashes``: the v1 SHA-1 of each piece; ``size`` and ``piece_length`` in bytes;
    ``on_hash_failure(url)``: called once for a web seed dropped for a wrong piece.
    """

    def __init__(self, engine: Engine, infohash: str, urls: Sequence[str], piece_hashes: Sequence[bytes], size: int,
                 piece_length: int, *, allow_private: bool, deadline: float,
                 on_hash_failure: Callable[[str], None] = lambda _url: None) -> None:
        self.engine = engine
        self.infohash = infohash
        self.hashes = list(piece_hashes)
        self.size = size
        self.piece_length = piece_length
        self.allow_private = allow_private
        self.deadline = deadline
        self.on_hash_failure = on_hash_failure
        self.seeds = [_Seed(u) for u in dict.fromkeys(urls)]
        self._cond = threading.Condition()
        self._urgent: list[int] = []
        self._wanted_at: dict[int, float] = {}  #: urgent piece → monotonic time first wanted
        self.swarm = 0  #: connected BitTorrent peers (the transfer updates it)
        self._cursor = 0
        self._bulk = False
        self._taken: dict[int, dict[int, float]] = {}  #: piece → {id(lane's seed): monotonic time taken}
        self._delivered: set[int] = set()  #: handed to the engine (it verifies them asynchronously)
        self._stopped = False
        self._started = False
        self._threads: list[threading.Thread] = []

    # -- control -------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            self._started = True
            seeds = list(self.seeds)
        for seed in seeds:
            self._run(seed)

    def add(self, url: str) -> None:
        """Another web seed (a configured gateway that serves Range), used at once."""
        with self._cond:
            if self._stopped or any(s.url == url for s in self.seeds):
                return
            seed = _Seed(url)
            self.seeds.append(seed)
            started = self._started
        if started:
            self._run(seed)

    def _run(self, seed: _Seed) -> None:
        for lane in ("urgent", "bulk"):
            t = threading.Thread(target=self._lane, args=(seed, lane), daemon=True,
                                 name=f"osp-webseed-{lane}-{self.infohash[:8]}")
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for seed in self.seeds:
            for client in list(seed.clients):
                client.close()  # unblocks a request in flight
        for t in self._threads:
            t.join(timeout)

    def want(self, pieces: Sequence[int]) -> None:
        """The newest read's window, most urgent first: replaces the previous one; the bulk
        lane continues from its first piece."""
        now = time.monotonic()
        with self._cond:
            self._urgent = list(pieces)
            self._wanted_at = {p: self._wanted_at.get(p, now) for p in pieces}
            if pieces:
                self._cursor = pieces[0]
            self._cond.notify_all()

    @property
    def bulk(self) -> bool:
        return self._bulk

    @bulk.setter
    def bulk(self, on: bool) -> None:
        with self._cond:
            if on != self._bulk:
                self._bulk = on
                self._cond.notify_all()

    def notify(self) -> None:
        """Wake the lanes (a piece arrived from elsewhere)."""
        with self._cond:
            self._cond.notify_all()

    def rejected(self, piece: int) -> None:
        """The engine failed a piece (``HashFailed``): it is wanted again, from anyone."""
        with self._cond:
            self._delivered.discard(piece)
            self._cond.notify_all()

    def usable(self) -> list[str]:
        """URLs of the web seeds not dropped."""
        return [s.url for s in self.seeds if s.bad is None]

    def dropped(self) -> dict[str, str]:
        """``{url: why}`` of the web seeds dropped for this transfer."""
        return {s.url: s.bad for s in self.seeds if s.bad is not None}

    # -- lanes ----------------------------------------------------------------------

    def _have(self, piece: int) -> bool:
        if piece in self._delivered:
            return True
        try:
            return self.engine.have_piece(self.infohash, piece)
        except OspError:
            return True  # the torrent left the engine: nothing more to fetch

    def _busy(self, seed: _Seed, now: float) -> set[int]:
        """Under the lock: pieces ``seed`` must not ask now — taken by its own other lane,
        or by another web seed less than ``STEAL_AFTER`` seconds ago."""
        mine = id(seed)
        return {p for p, holders in self._taken.items()
                if mine in holders or any(now - t < STEAL_AFTER for t in holders.values())}

    def _next(self, seed: _Seed, lane: str, now: float) -> tuple[int, int] | None:
        """Under the lock: the run this lane of ``seed`` should fetch now, marked taken."""
        busy = self._busy(seed, now)
        if lane == "urgent":
            due = [p for p in self._urgent if http_urgent(now, self._wanted_at.get(p, now), self.swarm)]
            run = pick_run(due, self._have, busy, max(1, URGENT_REQUEST // self.piece_length))
        else:
            if not self._bulk or any(not self._have(p) for p in self._urgent):
                return None  # urgent pieces first: the read-ahead never shares the link with a read
            n = len(self.hashes)
            order = [*range(self._cursor, n), *range(0, self._cursor)]
            run = pick_run([p for p in order if not self._have(p) and p not in busy][:64], self._have,
                           busy, max(1, BULK_REQUEST // self.piece_length))
        if run is not None:
            for p in range(run[0], run[1] + 1):
                self._taken.setdefault(p, {})[id(seed)] = now
        return run

    def _release(self, seed: _Seed, run: tuple[int, int]) -> None:
        """Under the lock: ``seed`` no longer fetches ``run``."""
        for p in range(run[0], run[1] + 1):
            holders = self._taken.get(p)
            if holders is not None:
                holders.pop(id(seed), None)
                if not holders:
                    del self._taken[p]

    def _lane(self, seed: _Seed, lane: str) -> None:
        parts = urlsplit(seed.url)
        base, path = f"{parts.scheme}://{parts.netloc}", parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            client = PeerClient(base, allow_private=self.allow_private, deadline=self.deadline)
        except OspError as exc:
            seed.bad = str(exc)
            return
        seed.clients.append(client)
        try:
            while True:
                run: tuple[int, int] | None = None
                with self._cond:
                    while (not self._stopped and seed.bad is None
                           and (run := self._next(seed, lane, time.monotonic())) is None):
                        self._cond.wait(IDLE_WAIT / 5 if self._urgent else IDLE_WAIT)  # wanted pieces may turn late
                    if self._stopped or seed.bad is not None or run is None:
                        if run is not None:
                            self._release(seed, run)
                        return
                try:
                    self._fetch(seed, client, path, run)
                finally:
                    with self._cond:
                        self._release(seed, run)
                        self._cond.notify_all()
        finally:
            client.close()

    def _fetch(self, seed: _Seed, client: PeerClient, path: str, run: tuple[int, int]) -> None:
        first, last = run
        start = first * self.piece_length
        end = min(self.size, (last + 1) * self.piece_length) - 1
        try:
            data = client.get_range(path, start, end, self.size)
        except OspError as exc:
            seed.errors += 1
            if seed.errors >= MAX_ERRORS:
                seed.bad = str(exc)
            return
        for piece in range(first, last + 1):
            chunk = data[(piece - first) * self.piece_length:(piece - first + 1) * self.piece_length]
            if hashlib.sha1(chunk).digest() != self.hashes[piece]:
                seed.bad = f"piece {piece} failed its hash check"
                self.on_hash_failure(seed.url)
                return
            with self._cond:
                if self._have(piece):
                    continue  # another source was faster (a duplicated request): nothing to hand over
            try:
                self.engine.add_piece(self.infohash, piece, chunk)
            except OspError:
                return  # the torrent left the engine
            with self._cond:
                self._delivered.add(piece)
            seed.pieces += 1
