"""Search: the query, matching, and the merge of answers from many peers (spec §9.3).

Pure and clock-injected; the node's search pipeline (``osp.node.search``) does the I/O:
it looks up holders under ``Query.keys()``, asks each ``GET /osp/v0/search?…`` with
``Query.params()`` (``PEER_TIMEOUT``, ``MAX_RESPONSE_BYTES``), verifies every record and
feeds them to ``Merge.add``.  A peer whose answer holds a record that does not match the
query is off-topic: ``Merge.add`` raises and the caller marks it in ``BadPeers``.

Ranking: match score (descending), then the number of independent holders (distinct
IPv4 /24 or IPv6 /64 networks, so one operator's many addresses count once), then
title, then id.
"""

from __future__ import annotations

import functools
import ipaddress
import random
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from osp.core.errors import CallerError, IntegrityError
from osp.discovery.keys import RendezvousKey, normalize, rendezvous_key, title_words
from osp.identity.didkey import DidKeyError, public_key_from_bare_did
from osp.records.parents import is_track_id, names_parent, parent_ids

MAX_RESULTS_PER_PEER = 50  #: records one peer may return (more is a protocol violation)
MAX_RESPONSE_BYTES = 512 * 1024  #: body size cap of one peer's answer
PEER_TIMEOUT = 2.0  #: seconds a seeker waits for one peer's answer
DEFAULT_LIMIT = 20  #: results asked for when the query names no limit
MAX_LIMIT = 1000  #: most results one local search collects (peers return at most 50 each)
MAX_QUERY_WORDS = 8
MAX_QUERY_TAGS = 8
MAX_Q_CHARS = 256
MAX_TAG_CHARS = 64
MAX_PARAMS = 32
LOCAL = "local"  #: the holder name of our own library
MAX_TOP_PER_PEER = 5  #: results one peer's network may place among the top before the others' (poisoning)
HOLDERS_PER_IP = 2  #: holders asked per IP address over a whole search (Sybils: one host, many ports)
HOLDERS_PER_NETWORK = 4  #: holders asked per IPv4 /24 or IPv6 /64 over a whole search
MIN_DHT_PORT = 1024  #: DHT-learned holder ports below this are refused (privileged ports: not an OSP node)
TITLE_WEIGHT, OTHER_WEIGHT = 1.0, 0.75  #: a query word found in the title / only in tags or artist name


@dataclass(frozen=True)
class Query:
    """A search: normalized ``words`` (title words, no stop words), an exact ``artist``
    did:key, normalized ``tags`` (all required), ``limit`` (results wanted) and ``parent``
    (a track id the record must name in ``provenance.parents``: its remixes, covers …).

    Build with ``parse`` (from a CLI or API call) or ``from_params`` (from the peer route).
    """

    words: tuple[str, ...]
    artist: str | None
    tags: tuple[str, ...]
    limit: int = DEFAULT_LIMIT
    parent: str | None = None

    @classmethod
    def parse(cls, words: Sequence[str] = (), artist: str | None = None, tags: Sequence[str] = (),
              limit: int = DEFAULT_LIMIT, parent: str | None = None) -> Query:
        """Normalize a query: words split and normalized as titles are (``title_words``),
        tags normalized and deduplicated, artist checked to be an Ed25519 did:key,
        ``parent`` to be a track id.

        ``CallerError`` when nothing is left to search for (no artist, no tag, no parent,
        and every word a stop word), more than ``MAX_QUERY_WORDS`` words or
        ``MAX_QUERY_TAGS`` tags, a tag longer than ``MAX_TAG_CHARS``, a bad did:key or
        track id, or ``limit`` outside 1..``MAX_LIMIT``.
        """
        if isinstance(words, str):
            words = [words]
        text = " ".join(words)
        if len(text) > MAX_Q_CHARS:
            raise CallerError(f"search words longer than {MAX_Q_CHARS} characters")
        found = title_words(text)
        if len(found) > MAX_QUERY_WORDS:
            raise CallerError(f"at most {MAX_QUERY_WORDS} search words")
        norm_tags: list[str] = []
        for tag in tags:
            t = normalize(tag)
            if not t:
                raise CallerError("empty tag")
            if len(t) > MAX_TAG_CHARS:
                raise CallerError(f"tag longer than {MAX_TAG_CHARS} characters")
            if t not in norm_tags:
                norm_tags.append(t)
        if len(norm_tags) > MAX_QUERY_TAGS:
            raise CallerError(f"at most {MAX_QUERY_TAGS} tags")
        if artist is not None:
            try:
                public_key_from_bare_did(artist)
            except DidKeyError as exc:
                raise CallerError(f"artist is not an Ed25519 did:key: {exc}") from exc
        if parent is not None and not is_track_id(parent):
            raise CallerError("parent is not a track id (osp:track:b…)")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise CallerError(f"limit is an integer from 1 to {MAX_LIMIT}")
        if not found and artist is None and not norm_tags and parent is None:
            raise CallerError("nothing to search for (give a word that is not a stop word, an artist, a tag or a parent)")
        return cls(tuple(found), artist, tuple(norm_tags), limit, parent)

    @classmethod
    def from_params(cls, params: Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]) -> Query:
        """The query of ``GET /osp/v0/search?q=&artist=&tag=&tag=&parent=&limit=`` (spec §9.3).

        ``params`` is a mapping (values a string or a list of strings) or the (name,
        value) pairs of the query string.  ``q`` (words, ≤ 256 characters), ``artist``,
        ``parent`` (a track id) and ``limit`` (1..``MAX_RESULTS_PER_PEER``, default ``DEFAULT_LIMIT``) at most once,
        ``tag`` repeated; unknown names are ignored.  ``CallerError`` (HTTP 400) for
        anything else, including more than ``MAX_PARAMS`` parameters.
        """
        pairs: list[tuple[str, str]] = []
        if isinstance(params, Mapping):
            for name, value in params.items():
                values = [value] if isinstance(value, str) else list(value)
                pairs += [(name, v) for v in values]
        else:
            pairs = list(params)
        if len(pairs) > MAX_PARAMS:
            raise CallerError(f"more than {MAX_PARAMS} query parameters")
        single: dict[str, str] = {}
        tags: list[str] = []
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str):
                raise CallerError("query parameters are strings")
            if name == "tag":
                if len(value) > MAX_TAG_CHARS * 4:
                    raise CallerError("tag too long")
                tags.append(value)
            elif name in ("q", "artist", "limit", "parent"):
                if name in single:
                    raise CallerError(f"{name} given twice")
                if len(value) > MAX_Q_CHARS:
                    raise CallerError(f"{name} longer than {MAX_Q_CHARS} characters")
                single[name] = value
        limit = DEFAULT_LIMIT
        if "limit" in single:
            raw = single["limit"]
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= MAX_RESULTS_PER_PEER:
                raise CallerError(f"limit is an integer from 1 to {MAX_RESULTS_PER_PEER}")
            limit = int(raw)
        artist = single.get("artist") or None
        return cls.parse([single.get("q", "")], artist, tags, limit, single.get("parent") or None)

    def params(self) -> list[tuple[str, str]]:
        """The query string pairs for a peer (``limit`` capped at ``MAX_RESULTS_PER_PEER``)."""
        out: list[tuple[str, str]] = []
        if self.words:
            out.append(("q", " ".join(self.words)))
        if self.artist:
            out.append(("artist", self.artist))
        out += [("tag", t) for t in self.tags]
        if self.parent:
            out.append(("parent", self.parent))
        out.append(("limit", str(min(self.limit, MAX_RESULTS_PER_PEER))))
        return out

    def query_string(self) -> str:
        """``params()`` URL-encoded (``q=glacier+drift&tag=ambient&limit=20``)."""
        return urllib.parse.urlencode(self.params())

    def keys(self) -> list[RendezvousKey]:
        """Rendezvous keys to look up holders under: parent and artist first (most
        selective), then tags, then words."""
        out = [rendezvous_key("parent", self.parent)] if self.parent else []
        out += [rendezvous_key("artist", self.artist)] if self.artist else []
        out += [rendezvous_key("tag", t) for t in self.tags]
        out += [rendezvous_key("word", w) for w in self.words]
        return out


def index_keys(record: Mapping[str, Any]) -> list[str]:
    """Hex rendezvous keys under which our library indexes ``record`` (table ``search_keys``):
    track, artist, each parent, each tag, and as ``word`` keys every word ``match`` finds (title words,
    the words of tags and of the artist name), deduplicated, uncapped.  A record with
    nothing indexable yields ``[]``."""
    out: dict[str, None] = {}

    def add(kind: str, value: object) -> None:
        if isinstance(value, str):
            try:
                out[rendezvous_key(kind, value).hex] = None
            except CallerError:
                pass

    add("track", record.get("id"))
    add("artist", record.get("artist"))
    for parent in parent_ids(record):
        add("parent", parent)
    tags = record.get("tags")
    for tag in tags if isinstance(tags, list) else []:
        add("tag", tag)
    in_title, other = _terms(record)
    for word in [*in_title, *other]:
        add("word", word)
    return list(out)


def query_index_keys(query: Query) -> tuple[list[str], list[str]]:
    """``(required, any)`` hex keys of ``query`` for the library index: a candidate has
    every ``required`` key (parent, artist, tags) and, when ``any`` is not empty, one of them
    (words).  A superset of what ``match`` accepts (``index_keys`` holds every word it reads)."""
    required = [rendezvous_key("artist", query.artist).hex] if query.artist else []
    required += [rendezvous_key("parent", query.parent).hex] if query.parent else []
    required += [rendezvous_key("tag", t).hex for t in query.tags]
    return required, [rendezvous_key("word", w).hex for w in query.words]


def _terms(record: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(title words, other searchable words: tags whole and split, artist name words)."""
    title = record.get("title")
    in_title = set(title_words(title)) if isinstance(title, str) else set()
    other: set[str] = set()
    tags = record.get("tags")
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str):
            other.add(normalize(tag))
            other.update(title_words(tag))
    name = record.get("artistName")
    if isinstance(name, str):
        other.update(title_words(name))
    return in_title, other


def match(query: Query, record: Mapping[str, Any]) -> float | None:
    """How well ``record`` (a verified Track Record) answers ``query``: a score in
    (0, 1], or ``None`` when it does not answer it at all (off-topic).

    * ``artist`` given: the record's ``artist`` must be exactly it;
    * ``parent`` given: the record's ``provenance.parents`` must name it (either form);
    * every query tag must be among the record's normalized tags;
    * words given: each query word found among the title words weighs ``TITLE_WEIGHT``,
      found only among the tags or the artist name ``OTHER_WEIGHT``; the score is the mean
      over query words; a record in which no word is found is off-topic.
    Without words the score is 1.
    """
    if query.artist is not None and record.get("artist") != query.artist:
        return None
    if query.parent is not None and not names_parent(record, query.parent):
        return None
    if query.tags:
        tags = record.get("tags")
        have = {normalize(t) for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()
        if not set(query.tags) <= have:
            return None
    if not query.words:
        return 1.0
    in_title, other = _terms(record)
    total = sum(TITLE_WEIGHT if w in in_title else OTHER_WEIGHT if w in other else 0.0 for w in query.words)
    return total / len(query.words) if total > 0 else None


@functools.lru_cache(maxsize=4096)
def holder_network(holder: str) -> str:
    """The network a holder counts for when holders are counted as independent: the
    IPv4 /24 or IPv6 /64 of its host, the host name otherwise, ``"local"`` for us."""
    if holder == LOCAL:
        return LOCAL
    host = urllib.parse.urlsplit(holder if "//" in holder else "//" + holder).hostname or holder
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


@dataclass(frozen=True)
class Result:
    """One merged search result: ``track_id``, the verified ``record`` and its ``raw``
    bytes as first received, its ``score`` (``match``) and the ``holders`` that returned
    it (peer base URLs, ``"local"`` for our library)."""

    track_id: str
    record: dict[str, Any]
    raw: bytes
    score: float
    holders: frozenset[str]
    trusted: bool = False  #: from our library or by an artist we follow: ranks before the rest
    #: the artist's effective trust in the listener's web of trust (``osp.node.trust``), ``None`` if not judged
    trust: float | None = None
    #: why the listener's quality gate hides it (``{"why", "by"}``), ``None`` when shown or not judged
    hidden: Mapping[str, str | None] | None = None

    @property
    def independent_holders(self) -> int:
        """Holders counted once per /24 (IPv4) or /64 (IPv6) network."""
        return len({holder_network(h) for h in self.holders})

    @property
    def rank_key(self) -> tuple[int, float, int, str, str]:
        """Sort key, ascending = better: trusted first (our library, followed artists), then
        score desc, independent holders desc, title, id."""
        title = self.record.get("title")
        return (0 if self.trusted else 1, -self.score, -self.independent_holders,
                normalize(title) if isinstance(title, str) else "", self.track_id)


def cap_per_peer(results: Sequence[Result], per_peer: int = MAX_TOP_PER_PEER) -> list[Result]:
    """``results`` (ranked) with each peer network's share of the top capped: a result that
    is not ``trusted`` and whose every holder network already placed ``per_peer`` results
    is moved after the others (in its order).  One peer — or one /24 of Sybils — minting
    records that match every query cannot fill the top of the list."""
    placed: dict[str, int] = {}
    top: list[Result] = []
    later: list[Result] = []
    for r in results:
        nets = {holder_network(h) for h in r.holders if h != LOCAL}
        if r.trusted or not nets or any(placed.get(n, 0) < per_peer for n in nets):
            top.append(r)
            for n in nets:
                placed[n] = placed.get(n, 0) + 1
        else:
            later.append(r)
    return top + later


class Merge:
    """Merges answers from many sources into one ranked, deduplicated result list.

    ``add(source, records)`` takes one source's verified records (parsed, raw bytes); it
    raises ``IntegrityError`` (``check="off-topic"``) if any record does not match the
    query, merging none of them (the caller drops the peer), and otherwise returns the
    results that are new or improved (a new holder for a known id).  Results are keyed
    by track id; the first record and bytes seen for an id are kept.
    """

    def __init__(self, query: Query, *, followed: Iterable[str] = (),
                 rank: Callable[[Result], tuple[Any, ...]] | None = None) -> None:
        self.query = query
        self.followed = frozenset(followed)  #: artists we follow: their records are ``trusted``
        #: the sort key of ``results()`` (ascending = better); ``Result.rank_key`` when ``None``
        self.rank: Callable[[Result], tuple[Any, ...]] = rank or (lambda r: r.rank_key)
        self._results: dict[str, Result] = {}

    @property
    def count(self) -> int:
        """Distinct results so far."""
        return len(self._results)

    def add(self, source: str, records: Sequence[tuple[dict[str, Any], bytes]]) -> list[Result]:
        scored: list[tuple[str, float, dict[str, Any], bytes]] = []
        for record, raw in records:
            track_id = record.get("id")
            score = match(self.query, record)
            if score is None or not isinstance(track_id, str):
                raise IntegrityError(f"{source} answered a record that does not match the query", check="off-topic",
                                     peer=source, track=str(track_id))
            scored.append((track_id, score, record, raw))
        changed: dict[str, Result] = {}
        for track_id, score, record, raw in scored:
            old = self._results.get(track_id)
            trusted = source == LOCAL or record.get("artist") in self.followed
            if old is None:
                new = Result(track_id, record, raw, score, frozenset({source}), trusted)
            elif source in old.holders:
                continue
            else:
                new = replace(old, holders=old.holders | {source}, score=max(old.score, score),
                              trusted=old.trusted or trusted)
            self._results[track_id] = changed[track_id] = new
        return list(changed.values())

    def results(self) -> list[Result]:
        """Every result, best first (``rank``, by default ``Result.rank_key``), at most
        ``MAX_TOP_PER_PEER`` of one peer network's before the others' (``cap_per_peer``)."""
        return cap_per_peer(sorted(self._results.values(), key=self.rank))


def peer_host(peer: str) -> str:
    """The host (IP address) a peer URL is remembered under: ``http://10.0.0.1:8787`` and
    ``http://10.0.0.1:9000`` are one peer (a host reachable on many ports is one host);
    IPv4-mapped IPv6 as IPv4; a string that is no URL as itself."""
    if "//" not in peer:
        return peer
    return _addr_key(urllib.parse.urlsplit(peer).hostname or peer)


def _addr_key(host: str) -> str:
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower()
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


@dataclass
class BadPeers:
    """Peers caught misbehaving (forged, malformed, oversized or off-topic answers, or
    timing out), keyed by host (``peer_host``: every port of a bad IP is bad), remembered
    for ``ttl`` seconds (or a mark's own) by the injected ``clock``; at most
    ``max_entries`` (the oldest mark is forgotten first)."""

    clock: Callable[[], float]
    ttl: float = 1800.0
    max_entries: int = 4096
    _marks: OrderedDict[str, tuple[float, str]] = field(default_factory=OrderedDict)

    def mark(self, peer: str, reason: str, ttl: float | None = None) -> None:
        """Remember ``peer``'s host as bad for ``ttl`` seconds (default ``self.ttl``) from
        now, for ``reason``; a longer mark already there is kept."""
        key = peer_host(peer)
        until = self.clock() + (self.ttl if ttl is None else ttl)
        old = self._marks.pop(key, None)
        if old is not None and old[0] > until:
            until, reason = old
        self._marks[key] = (until, reason)
        while len(self._marks) > self.max_entries:
            self._marks.popitem(last=False)

    def reason(self, peer: str) -> str | None:
        """Why ``peer`` (its host) is bad, or ``None`` if it is not (any more)."""
        key = peer_host(peer)
        entry = self._marks.get(key)
        if entry is None:
            return None
        if self.clock() >= entry[0]:
            del self._marks[key]
            return None
        return entry[1]

    def is_bad(self, peer: str) -> bool:
        return self.reason(peer) is not None


def search_library(query: Query, rows: Iterable[tuple[dict[str, Any], bytes]]) -> list[tuple[float, dict[str, Any], bytes]]:
    """Our own records matching ``query``: ``(score, record, raw)`` best first (score,
    then title, then id), at most ``query.limit``."""
    hits: list[tuple[float, dict[str, Any], bytes]] = []
    for record, raw in rows:
        score = match(query, record)
        if score is not None:
            hits.append((score, record, raw))

    def order(hit: tuple[float, dict[str, Any], bytes]) -> tuple[float, str, str]:
        title = hit[1].get("title")
        return (-hit[0], normalize(title) if isinstance(title, str) else "", str(hit[1].get("id")))

    hits.sort(key=order)
    return hits[: query.limit]


class HolderPicker:
    """Which DHT-named holders to ask, over a whole search (or one lookup): Sybils crowd
    predictable keys, so what one host or one network can fill is capped.

    ``pick(candidates)`` takes ``(url, host, port)`` triples in arrival order and returns
    the ones to ask now: never one already picked, at most ``per_ip`` per host and
    ``per_network`` per network (``network(host)``: /24 or /64), at most ``total`` in all,
    ports below ``MIN_DHT_PORT`` refused; a batch is taken round-robin across its networks,
    networks and holders within each in random order (``rng``), so one crowded network cannot push the
    others' holders past ``total``.  Pure: no I/O, the randomness injected."""

    def __init__(self, network: Callable[[str], str], *, total: int, per_ip: int = HOLDERS_PER_IP,
                 per_network: int = HOLDERS_PER_NETWORK, rng: random.Random | None = None) -> None:
        self.network = network
        self.total = total
        self.per_ip = per_ip
        self.per_network = per_network
        self.rng = rng or random.Random()
        self.picked: list[str] = []
        self._seen: set[str] = set()
        self._per_ip: dict[str, int] = {}
        self._per_net: dict[str, int] = {}

    def pick(self, candidates: Iterable[tuple[str, str, int]]) -> list[str]:
        groups: dict[str, list[tuple[str, str]]] = {}
        for url, host, port in candidates:
            if url in self._seen or not MIN_DHT_PORT <= port <= 65535:
                continue
            self._seen.add(url)
            groups.setdefault(self.network(host), []).append((url, host))
        for members in groups.values():
            self.rng.shuffle(members)
        order = list(groups)
        self.rng.shuffle(order)  # which network goes first in a round is random too
        groups = {net: groups[net] for net in order}
        out: list[str] = []
        while groups and len(self.picked) < self.total:
            for net in list(groups):
                members = groups[net]
                url, host = members.pop()
                if not members:
                    del groups[net]
                ip = _addr_key(host)
                if self._per_ip.get(ip, 0) >= self.per_ip or self._per_net.get(net, 0) >= self.per_network:
                    continue
                self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
                self._per_net[net] = self._per_net.get(net, 0) + 1
                self.picked.append(url)
                out.append(url)
                if len(self.picked) >= self.total:
                    break
        return out
