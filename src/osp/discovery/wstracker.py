"""The WebTorrent tracker's sans-IO core: browsers and libtorrent meet here over WebRTC.

Implements the WebSocket tracker protocol of ``bittorrent-tracker`` 11.x (the tracker
WebTorrent speaks; reference: ``lib/server/parse-websocket.js``, ``server.js``
``_onWebSocketRequest``, ``lib/server/swarm.js`` and the client's
``lib/client/websocket-tracker.js``).  Every message is one JSON text frame;
``info_hash``, ``peer_id``, ``to_peer_id`` and ``offer_id`` are 20-character "binary
strings" (one character per byte, U+0000..U+00FF).

Messages a peer sends, and what the tracker does:

* ``{"action": "announce", info_hash, peer_id, event?, left?, offers?: [{offer: {type,
  sdp}, offer_id}]}``: the peer joins (or stays in) the swarm of ``info_hash`` (``left``
  0: a seeder; ``event: "stopped"``: it leaves); it gets ``{"action": "announce",
  "interval", "info_hash", "complete", "incomplete"}``; each offer (at most
  ``Limits.offers_per_announce``) goes to one other peer of the swarm as ``{"action":
  "announce", "offer", "offer_id", "peer_id" (the offerer), "info_hash"}``;
* ``{"action": "announce", info_hash, peer_id, to_peer_id, offer_id, answer: {type,
  sdp}}``: the answer goes to ``to_peer_id`` as ``{"action": "announce", "answer",
  "offer_id", "peer_id" (the answerer), "info_hash"}`` — only if this tracker sent that
  offer (``offer_id`` from ``to_peer_id``) to this very peer, within ``offer_timeout``
  seconds; there is no reply to an answer;
* ``{"action": "scrape", info_hash?: str | [str]}``: ``{"action": "scrape", "files":
  {<info_hash>: {"complete", "incomplete", "downloaded"}}}``.

Several info hashes may share one connection (libtorrent announces all its torrents over
one socket); a connection holds one peer id per swarm.

Hostile peers (every peer is one): a message over ``max_message`` characters, invalid
JSON (duplicate keys, NaN, too deep), a bad field or a refused announce gets ``{"failure
reason": …}`` (with the ``info_hash`` when known, as bittorrent-tracker does); after
``max_bad_messages`` malformed ones the connection is closed (``Close``; a refusal of a
well-formed announce does not count).  Swarms exist only
for info hashes ``allowed`` (the ones the node holds); at most ``peers_per_swarm`` peers,
``swarms_per_connection`` swarms per connection, announces per connection limited by a
token bucket; a peer id held by another connection in a swarm is refused (no
hijacking); offers awaiting an answer are bounded per connection and in all (a flood
evicts only the flooder's own); forwarded messages are rebuilt from validated fields
only (SDP: a string of at most ``max_sdp`` characters).  Nothing is logged: ``stats()``
counts.

Drive it: ``connect()`` per socket, ``receive(conn, text, now)`` per text frame (returns
``Send``/``Close`` events), ``disconnect(conn, now)`` when the socket ends, ``tick(now)``
every few seconds (expires peers not heard from for 2 × ``interval`` and stale offers).
``now`` is monotonic seconds.  Not thread-safe: one event loop drives it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Close", "Limits", "Send", "Tracker", "TrackerStats"]


@dataclass(frozen=True)
class Send:
    """Send ``text`` (one JSON text frame) on connection ``conn``."""

    conn: int  #: the connection id ``connect()`` gave
    text: str  #: the JSON message


@dataclass(frozen=True)
class Close:
    """Close connection ``conn`` (after sending what came before); ``reason`` says why."""

    conn: int  #: the connection id
    reason: str  #: short human text (a WebSocket close reason: at most 120 bytes)


Event = Send | Close


@dataclass(frozen=True)
class Limits:
    """What one peer may cost the tracker (defaults fit a node with ~1000 torrents).

    Fields:
        interval: seconds between announces the tracker asks for (bittorrent-tracker's
            WebSocket default is 120); peers silent for 2 × this are dropped.
        max_message: characters of one message at most (64 KiB).
        max_sdp: characters of one SDP offer or answer at most.
        max_depth: JSON nesting depth at most.
        offers_per_announce: offers relayed per announce at most (the rest are ignored;
            WebTorrent sends at most 5).
        peers_per_swarm: peers in one swarm at most; a new peer past it is refused.
        swarms_per_connection: swarms one connection may be in at most.
        scrape_hashes: info hashes one scrape may name at most.
        announce_burst: announces (and scrapes) a connection may send at once ...
        announce_rate: ... and per second after that (token bucket).
        offer_timeout: seconds an answer to a relayed offer is accepted (WebTorrent gives
            up on an offer after 50 s).
        pending_offers: relayed offers awaiting an answer, at most, in all (the oldest
            are forgotten first) ...
        pending_per_connection: ... and made by one connection (its own oldest are
            forgotten first: a flood of offers cannot push other peers' out).
        max_bad_messages: bad messages on one connection before it is closed.
    """

    interval: int = 120
    max_message: int = 64 * 1024
    max_sdp: int = 16 * 1024
    max_depth: int = 8
    offers_per_announce: int = 10
    peers_per_swarm: int = 500
    swarms_per_connection: int = 2048
    scrape_hashes: int = 64
    announce_burst: float = 2048
    announce_rate: float = 20.0
    offer_timeout: float = 50.0
    pending_offers: int = 65_536
    pending_per_connection: int = 256
    max_bad_messages: int = 5


@dataclass(frozen=True)
class TrackerStats:
    """Counters of a ``Tracker`` (a snapshot)."""

    connections: int  #: open connections
    swarms: int  #: swarms with at least one peer
    peers: int  #: peers in all swarms
    seeders: int  #: of them, seeders (``left`` 0)
    offers_relayed: int  #: offers forwarded to a peer, since the start
    answers_relayed: int  #: answers forwarded to their offerer, since the start
    refused: int  #: messages answered with a failure reason, since the start


class BadMessage(Exception):
    """A peer's message that breaks the protocol; ``str()`` is the failure reason.  Counts
    towards ``Limits.max_bad_messages``."""

    counts = True  #: whether it counts towards closing the connection

    def __init__(self, reason: str, info_hash: str | None = None) -> None:
        super().__init__(reason)
        self.info_hash = info_hash  #: the message's (valid) info hash, echoed with the failure


class Refused(BadMessage):
    """A well-formed message the tracker declines (a torrent it does not serve, a full
    swarm, an expired offer, a rate limit): answered with a failure reason, never a
    reason to close (libtorrent announces a hybrid torrent's v2 hash too, and retries)."""

    counts = False


@dataclass
class _Peer:
    conn: int
    peer_id: str
    seeder: bool
    seen: float


@dataclass(frozen=True)
class _Offer:
    """An offer relayed to ``answerer``: only it may answer, to ``offerer``, once."""

    info_hash: str
    offer_id: str
    answerer: str
    offerer: str


@dataclass
class _Conn:
    tokens: float
    refilled: float
    bad: int = 0
    #: info hash -> peer id this connection holds in that swarm
    swarms: dict[str, str] = field(default_factory=dict)
    #: offers it made that await an answer (insertion order = age)
    offers: dict[_Offer, None] = field(default_factory=dict)


_EVENTS = frozenset({"started", "stopped", "completed", "update", "paused", "empty"})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def _depth(value: Any, limit: int) -> None:
    """``BadMessage`` if ``value`` nests deeper than ``limit``."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                raise BadMessage("message nests too deep")
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))


def parse_json(text: str, limits: Limits) -> dict[str, Any]:
    """The JSON object ``text`` holds; ``BadMessage`` if it is too long, not strict JSON
    (duplicate keys, NaN/Infinity), nests too deep or is not an object."""
    if len(text) > limits.max_message:
        raise BadMessage("message too long")
    try:  # deep nesting (64 KiB of "[") ends in RecursionError, not a crash
        value = json.loads(text, object_pairs_hook=_unique_object, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadMessage("invalid JSON") from None
    if not isinstance(value, dict):
        raise BadMessage("message is not a JSON object")
    _depth(value, limits.max_depth)
    return value


def binary_string(value: Any, name: str) -> str:
    """``value`` if it is a 20-character binary string (each character U+0000..U+00FF);
    ``BadMessage`` naming ``name`` otherwise."""
    if not isinstance(value, str) or len(value) != 20 or any(ord(c) > 0xFF for c in value):
        raise BadMessage(f"invalid {name}")
    return value


def _sdp(value: Any, kind: str, limits: Limits) -> dict[str, str]:
    """``{"type": kind, "sdp": …}`` rebuilt from a peer's ``value``; ``BadMessage`` unless it is that."""
    if not isinstance(value, dict) or value.get("type") != kind:
        raise BadMessage(f"invalid {kind}")
    sdp = value.get("sdp")
    if not isinstance(sdp, str) or not sdp or len(sdp) > limits.max_sdp:
        raise BadMessage(f"invalid {kind} sdp")
    return {"type": kind, "sdp": sdp}


def _left(value: Any) -> float:
    """``left`` as bittorrent-tracker reads it (``Number(left)``; missing or not a number: unknown)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or "0")
        except ValueError:
            return float("inf")
    return float("inf")


def _dumps(message: dict[str, Any]) -> str:
    """Like ``JSON.stringify``: compact, non-ASCII characters as they are (binary strings
    stay one character per byte)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class Tracker:
    """A WebTorrent (``bittorrent-tracker`` WebSocket protocol) tracker; see the module doc.

    ``allowed(info_hash)``: whether to keep a swarm for a 20-byte info hash (the node: the
    torrents it holds); an announce for another gets a failure reason.  ``now``: the
    starting time (monotonic seconds); ``limits``: ``Limits``; ``rng``: chooses which
    peers get the offers (seeded in tests).
    """

    def __init__(self, allowed: Callable[[bytes], bool], now: float, *, limits: Limits | None = None,
                 rng: random.Random | None = None) -> None:
        self.allowed = allowed
        self.limits = limits or Limits()
        self._rng = rng or random.Random()
        self._now = now
        self._next_conn = 1
        self._conns: dict[int, _Conn] = {}
        self._swarms: dict[str, dict[str, _Peer]] = {}  # info hash -> peer id -> peer
        #: relayed offers awaiting an answer -> (when, the offerer's connection); insertion order = age
        self._offers: dict[_Offer, tuple[float, int]] = {}
        self._offers_relayed = 0
        self._answers_relayed = 0
        self._refused = 0
        self._peers = 0
        self._seeders = 0

    # -- connections ------------------------------------------------------------

    def connect(self) -> int:
        """A new connection's id (ids are never reused)."""
        conn = self._next_conn
        self._next_conn += 1
        self._conns[conn] = _Conn(tokens=self.limits.announce_burst, refilled=self._now)
        return conn

    def disconnect(self, conn: int, now: float) -> None:
        """Connection ``conn`` ended: its peers leave every swarm.  Unknown ids are ignored."""
        self._now = max(self._now, now)
        state = self._conns.pop(conn, None)
        if state is None:
            return
        for offer in state.offers:
            self._offers.pop(offer, None)
        for info_hash, peer_id in state.swarms.items():
            self._remove_peer(info_hash, peer_id)

    def receive(self, conn: int, text: str, now: float) -> list[Event]:
        """Handle one text frame from ``conn``; returns what to send (and maybe ``Close``).

        Never raises on a peer's input; an unknown ``conn`` (already closed) gets nothing.
        """
        self._now = max(self._now, now)
        state = self._conns.get(conn)
        if state is None:
            return []
        try:
            if not self._take_token(state):
                raise Refused("too many announces: slow down")
            message = parse_json(text, self.limits)
            action = message.get("action")
            if action == "announce":
                return self._announce(conn, state, message)
            if action == "scrape":
                return [Send(conn, self._scrape(message))]
            raise BadMessage("invalid action")
        except BadMessage as exc:
            self._refused += 1
            state.bad += exc.counts
            failure: dict[str, Any] = {"failure reason": str(exc)}
            if exc.info_hash is not None:
                failure = {"action": "announce", "failure reason": str(exc), "info_hash": exc.info_hash}
            events: list[Event] = [Send(conn, _dumps(failure))]
            if state.bad >= self.limits.max_bad_messages:
                events.append(Close(conn, "too many bad messages"))
            return events

    def tick(self, now: float) -> None:
        """Expire peers not heard from for 2 × ``interval`` and offers older than ``offer_timeout``."""
        self._now = max(self._now, now)
        horizon = now - 2 * self.limits.interval
        for info_hash, peers in list(self._swarms.items()):
            for peer in [p for p in peers.values() if p.seen < horizon]:
                state = self._conns.get(peer.conn)
                if state is not None:
                    state.swarms.pop(info_hash, None)
                self._remove_peer(info_hash, peer.peer_id)
        cutoff = now - self.limits.offer_timeout
        for offer, (when, _) in list(self._offers.items()):
            if when >= cutoff:
                break  # insertion order: the rest are newer
            self._forget(offer)

    # -- queries ------------------------------------------------------------------

    def stats(self) -> TrackerStats:
        """Counters now (see ``TrackerStats``); O(1), reads only numbers (safe to call
        from another thread while the loop drives the tracker)."""
        return TrackerStats(connections=len(self._conns), swarms=len(self._swarms), peers=self._peers,
                            seeders=self._seeders, offers_relayed=self._offers_relayed,
                            answers_relayed=self._answers_relayed, refused=self._refused)

    def swarm(self, info_hash: bytes) -> tuple[int, int]:
        """``(complete, incomplete)``: seeders and leechers in the swarm of a 20-byte info hash."""
        peers = self._swarms.get(info_hash.decode("latin-1"), {})
        seeders = sum(p.seeder for p in peers.values())
        return seeders, len(peers) - seeders

    # -- announce ---------------------------------------------------------------------

    def _take_token(self, state: _Conn) -> bool:
        limits = self.limits
        state.tokens = min(limits.announce_burst, state.tokens + (self._now - state.refilled) * limits.announce_rate)
        state.refilled = self._now
        if state.tokens < 1:
            return False
        state.tokens -= 1
        return True

    def _announce(self, conn: int, state: _Conn, message: dict[str, Any]) -> list[Event]:
        info_hash = binary_string(message.get("info_hash"), "info_hash")
        try:
            peer_id = binary_string(message.get("peer_id"), "peer_id")
            if "answer" in message:
                return self._answer(conn, state, info_hash, peer_id, message)
            event = message.get("event")
            if event is not None and event not in _EVENTS:
                raise BadMessage("invalid event")
            offers = self._offers_of(message.get("offers"))
            if event == "stopped":
                if state.swarms.get(info_hash) == peer_id:
                    del state.swarms[info_hash]
                    self._remove_peer(info_hash, peer_id)
                return [Send(conn, self._counts_message(info_hash))]
            if not self.allowed(info_hash.encode("latin-1")):
                raise Refused("this tracker serves only the torrents its node holds")
            seeder = _left(message.get("left")) == 0
            self._join(conn, state, info_hash, peer_id, seeder)
        except BadMessage as exc:
            exc.info_hash = info_hash
            raise
        events: list[Event] = [Send(conn, self._counts_message(info_hash))]
        events.extend(self._relay_offers(conn, info_hash, peer_id, seeder, offers))
        return events

    def _offers_of(self, value: Any) -> list[tuple[str, dict[str, str]]]:
        """``[(offer_id, offer)]``, at most ``offers_per_announce`` (the rest ignored)."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadMessage("invalid offers")
        offers = []
        for item in value[: self.limits.offers_per_announce]:
            if not isinstance(item, dict):
                raise BadMessage("invalid offer")
            offers.append((binary_string(item.get("offer_id"), "offer_id"), _sdp(item.get("offer"), "offer", self.limits)))
        return offers

    def _join(self, conn: int, state: _Conn, info_hash: str, peer_id: str, seeder: bool) -> None:
        """Add or refresh the peer; ``BadMessage`` if refused."""
        swarm = self._swarms.get(info_hash, {})
        held = state.swarms.get(info_hash)
        if held is not None and held != peer_id:
            raise Refused("one peer id per swarm and connection")
        peer = swarm.get(peer_id)
        if peer is not None and peer.conn != conn:
            raise Refused("peer_id taken by another connection")
        if peer is None:
            if len(swarm) >= self.limits.peers_per_swarm:
                raise Refused("swarm full")
            if len(state.swarms) >= self.limits.swarms_per_connection:
                raise Refused("too many torrents on one connection")
            peer = _Peer(conn, peer_id, seeder, self._now)
            self._swarms.setdefault(info_hash, swarm)[peer_id] = peer
            state.swarms[info_hash] = peer_id
            self._peers += 1
            self._seeders += seeder
        elif seeder and not peer.seeder:
            peer.seeder = True
            self._seeders += 1
        peer.seen = self._now

    def _relay_offers(self, conn: int, info_hash: str, peer_id: str, seeder: bool,
                      offers: list[tuple[str, dict[str, str]]]) -> list[Event]:
        """Each offer to one other peer: leechers first for a seeder's offers (a seeder
        never gets a seeder's), seeders first for a leecher's; random within each group."""
        if not offers:
            return []
        others = [p for p in self._swarms[info_hash].values() if p.peer_id != peer_id and not (seeder and p.seeder)]
        self._rng.shuffle(others)
        others.sort(key=lambda p: p.seeder == seeder)  # stable: the other kind first
        events: list[Event] = []
        for (offer_id, offer), target in zip(offers, others, strict=False):
            self._remember(conn, _Offer(info_hash, offer_id, answerer=target.peer_id, offerer=peer_id))
            events.append(Send(target.conn, _dumps({"action": "announce", "offer": offer, "offer_id": offer_id,
                                                    "peer_id": peer_id, "info_hash": info_hash})))
            self._offers_relayed += 1
        return events

    def _remember(self, conn: int, offer: _Offer) -> None:
        self._forget(offer)
        mine = self._conns[conn].offers
        while len(mine) >= self.limits.pending_per_connection:
            self._forget(next(iter(mine)))
        while len(self._offers) >= self.limits.pending_offers:
            self._forget(next(iter(self._offers)))
        self._offers[offer] = (self._now, conn)
        mine[offer] = None

    def _forget(self, offer: _Offer) -> bool:
        """Drop a pending offer; False if it was not pending."""
        entry = self._offers.pop(offer, None)
        if entry is None:
            return False
        state = self._conns.get(entry[1])
        if state is not None:
            state.offers.pop(offer, None)
        return True

    def _answer(self, conn: int, state: _Conn, info_hash: str, peer_id: str, message: dict[str, Any]) -> list[Event]:
        """Forward an answer to the offerer, if this tracker relayed that offer to this peer."""
        to_peer_id = binary_string(message.get("to_peer_id"), "to_peer_id")
        offer_id = binary_string(message.get("offer_id"), "offer_id")
        answer = _sdp(message.get("answer"), "answer", self.limits)
        if state.swarms.get(info_hash) != peer_id:
            raise Refused("answer from a peer not in the swarm")
        offer = _Offer(info_hash, offer_id, answerer=peer_id, offerer=to_peer_id)
        pending = self._offers.get(offer)
        if pending is None or not self._forget(offer):
            raise Refused("no such offer")
        target = self._swarms.get(info_hash, {}).get(to_peer_id)
        if target is None or target.conn != pending[1]:
            return []  # the offerer left meanwhile (its peer id may be another connection's now)
        self._swarms[info_hash][peer_id].seen = self._now
        self._answers_relayed += 1
        return [Send(target.conn, _dumps({"action": "announce", "answer": answer, "offer_id": offer_id,
                                          "peer_id": peer_id, "info_hash": info_hash}))]

    def _counts_message(self, info_hash: str) -> str:
        complete, incomplete = self.swarm(info_hash.encode("latin-1"))
        return _dumps({"action": "announce", "interval": self.limits.interval, "info_hash": info_hash,
                       "complete": complete, "incomplete": incomplete})

    def _remove_peer(self, info_hash: str, peer_id: str) -> None:
        swarm = self._swarms.get(info_hash)
        if swarm is None:
            return
        peer = swarm.pop(peer_id, None)
        if peer is not None:
            self._peers -= 1
            self._seeders -= peer.seeder
        if not swarm:
            del self._swarms[info_hash]

    # -- scrape ---------------------------------------------------------------------------

    def _scrape(self, message: dict[str, Any]) -> str:
        value = message.get("info_hash")
        hashes = [] if value is None else [value] if isinstance(value, str) else value
        if not isinstance(hashes, list) or len(hashes) > self.limits.scrape_hashes:
            raise BadMessage("invalid info_hash list")
        files = {}
        for item in hashes:
            info_hash = binary_string(item, "info_hash")
            complete, incomplete = self.swarm(info_hash.encode("latin-1"))
            files[info_hash] = {"complete": complete, "incomplete": incomplete, "downloaded": complete}
        return _dumps({"action": "scrape", "files": files, "flags": {"min_request_interval": self.limits.interval}})
