"""The web of trust on the node: the graph read from the library, scores cached and
recomputed off the request path, the quality gate applied to what the node shows.

``TrustService`` (``node.trust``) builds an ``osp.social.trust.TrustGraph`` from

* the listener's local follows (``follows`` table: ``osp follow``) as follow edges from
  the listener (the node's did:key, or ``LISTENER`` before the node has one);
* every verified ``osp:Follow`` and ``osp:Endorsement`` record stored (the ``social``
  table, ``osp.library.trust.trust_edges``);
* every stored ``osp:Flag`` by an identity whose flags can weigh (the listener, list
  curators and whom they reach: ``TrustGraph.reachable``; ``osp.library.trust.flags``: at
  most ``MAX_FLAGS``), aimed at the flagged did or, for a flagged track, at its artist when
  we hold its record;
* the gate's moderation lists (``osp.library.trust.load_gate``),

and computes ``TrustScores`` (``osp.social.trust.compute``).  Once ``start``ed (with the
engine) a worker thread checks every ``POLL`` seconds (or ``DUTY`` times the last
computation's duration, if longer: a stream of arriving records costs at most a tenth of a
core), or at once after ``poke``, whether anything the graph is built from changed
(``graph_version``) and recomputes then;
requests only read the last scores (``view``), so a 100,000-identity graph never slows
one.  A node without the worker (library-only nodes, ``osp trust`` with no node running)
computes on demand, when the graph changed since the last time.

``annotate(node, items)`` is what the routes call: it adds ``trust`` and ``hidden`` to
search results, comments and feed entries (``osp.social.gate.annotate``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from osp.core.errors import CallerError, OspError
from osp.discovery.keys import normalize
from osp.discovery.search import Result
from osp.library.trust import flagged_track_artists, flags, graph_version, load_gate, save_gate, trust_edges
from osp.social.gate import IDENTITY_REASONS, MAX_THRESHOLD, GateSettings, blend, judge, rounded
from osp.social.gate import annotate as gate_annotate
from osp.social.trust import FlagMark, TrustGraph, TrustParams, TrustScores, compute

if TYPE_CHECKING:
    from osp.node.core import Node

SCALE_KEY = "scale"  #: stored gate's marker: ``"relative"`` once its threshold is ``TrustScores.standing``
LISTENER = "you"  #: the listener's node in the graph while the node has no identity yet
POLL = 2.0  #: seconds between the worker's checks for a changed graph
DUTY = 10.0  #: the worker waits at least this many times its last computation's duration (≤ 10 % of a core)


def gate_of(node: Node) -> tuple[GateSettings, float | None]:
    """The stored gate settings (defaults when never set; a damaged row reads as defaults),
    and, for a row stored before thresholds were relative (no ``"scale": "relative"``), its
    old raw threshold (a PageRank share) when > 0, else ``None`` (``migrate_threshold``)."""
    data = load_gate(node.library)
    if data is None:
        return GateSettings(), None
    relative = data.pop(SCALE_KEY, None) == "relative"
    raw = data.get("threshold")
    legacy = float(raw) if not relative and isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
    if legacy is not None:
        data["threshold"] = 0.0  # converted by TrustService.gate once scores exist
    try:
        return GateSettings.from_json(data), legacy if legacy and legacy > 0 else None
    except CallerError:
        return GateSettings(), None


def migrate_threshold(raw: float, scores: TrustScores) -> float:
    """The relative threshold that hides what an old raw threshold ``raw`` (a PageRank share,
    ``score < raw``) hid with ``scores``: ``raw / typical`` (2 significant digits, at most
    ``MAX_THRESHOLD``); 1 when nobody has trust (then both hide every identity but the listener)."""
    if scores.typical <= 0:
        return 1.0
    return min(MAX_THRESHOLD, float(f"{raw / scores.typical:.2g}"))


def store_gate(node: Node, gate: GateSettings) -> None:
    """Store ``gate`` (marked ``"scale": "relative"``: its threshold is ``TrustScores.standing``)."""
    save_gate(node.library, gate.checked().to_json() | {SCALE_KEY: "relative"})


def listener(node: Node) -> str:
    """The listener's identity: the node's did:key (the library's, else the keystore's
    public ``did`` file, no passphrase needed), ``LISTENER`` while it has none."""
    did = node.library.meta("did")
    if did:
        return did
    try:
        return node.keystore.stored_did() or LISTENER
    except OspError:  # no key yet, or an unreadable one: `osp id` says why
        return LISTENER


def version_of(node: Node) -> tuple[object, ...]:
    """What the scores depend on: the library's ``graph_version`` and the listener."""
    return (*graph_version(node.library), listener(node))


def build_graph(node: Node, gate: GateSettings) -> TrustGraph:
    """The trust graph of ``node``'s library (module docstring)."""
    user = listener(node)
    graph = TrustGraph(user, lists=gate.lists)
    for row in node.library.follows():
        graph.follow(user, row.did)
    graph.edges(trust_edges(node.library))
    artists = flagged_track_artists(node.library)
    for author, subject, reason in flags(node.library, graph.reachable()):  # others' flags weigh nothing
        # a track flagged duplicate or not-ai is about that track: its artist is not lowered
        target = subject if subject.startswith("did:") else artists.get(subject) if reason in IDENTITY_REASONS else None
        graph.flag(FlagMark(author, subject, target, reason))
    return graph


class TrustService:
    """Cached trust scores of one node (module docstring).  Thread-safe."""

    def __init__(self, node: Node, *, params: TrustParams | None = None, poll: float = POLL) -> None:
        self.node = node
        self.params = params or TrustParams()
        self.poll = poll
        self._lock = threading.Lock()
        self._compute_lock = threading.Lock()
        self._scores: TrustScores | None = None
        self._version: tuple[object, ...] | None = None
        self._gate: GateSettings | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_seconds: float | None = None  #: how long the last computation took
        self.last_error: str | None = None  #: why the last computation failed, if it did

    # -- settings -------------------------------------------------------------------

    def gate(self) -> GateSettings:
        """The quality gate's settings (cached; ``set_gate`` changes them).  A gate stored
        with an old raw threshold is migrated once, here: the scores are computed and the
        threshold becomes the relative one that hid the same identities (``migrate_threshold``)."""
        with self._lock:
            if self._gate is not None:
                return self._gate
        gate, legacy = gate_of(self.node)
        if legacy is not None:
            scores = compute(build_graph(self.node, gate), self.params)
            gate = replace(gate, threshold=migrate_threshold(legacy, scores))
            store_gate(self.node, gate)
        with self._lock:
            if self._gate is None:
                self._gate = gate
            return self._gate

    def set_gate(self, gate: GateSettings) -> GateSettings:
        """Store new gate settings; the scores are recomputed (lists change the graph).
        ``CallerError`` when a moderation list is the listener's own identity (your own
        flags and endorsements count already)."""
        own = self.node.library.meta("did")
        if own is not None and own in gate.lists:
            raise CallerError("that is your own identity: your own flags and endorsements count already; "
                              "a moderation list is another curator's did:key")
        store_gate(self.node, gate)
        with self._lock:
            self._gate = gate
        self.poke()
        return gate

    # -- scores ---------------------------------------------------------------------

    def refresh(self) -> TrustScores:
        """Compute the scores now (on the caller's thread) and cache them."""
        with self._compute_lock:
            version = version_of(self.node)
            start = time.perf_counter()
            scores = compute(build_graph(self.node, self.gate()), self.params)
            with self._lock:
                self._scores, self._version = scores, version
                self.last_seconds = time.perf_counter() - start
                self.last_error = None
            return scores

    def fresh(self) -> TrustScores:
        """The cached scores when nothing changed since they were computed, else new ones."""
        with self._lock:
            scores, version = self._scores, self._version
        if scores is not None and version == version_of(self.node):
            return scores
        return self.refresh()

    def cached(self) -> TrustScores | None:
        """The last scores computed, without computing (``None`` before the first)."""
        with self._lock:
            return self._scores

    def view(self) -> TrustScores | None:
        """What requests use: with the worker running the cached scores (``None`` until its
        first computation ends), without it ``fresh()``."""
        if self._thread is not None and self._thread.is_alive():
            return self.cached()
        return self.fresh()

    # -- the worker -----------------------------------------------------------------

    def poke(self) -> None:
        """Ask the worker to check the graph now (a follow or a record was added)."""
        self._wake.set()

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="osp-trust", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the worker (a computation under way ends first)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._lock:
                    known = self._version
                if known is None or known != version_of(self.node):
                    self.refresh()
            except Exception as exc:  # a broken library row must not end the worker; the last scores stay
                with self._lock:
                    self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            self._wake.wait(max(self.poll, DUTY * (self.last_seconds or 0.0)))  # poke() wakes it at once
            self._wake.clear()

    def status(self) -> dict[str, Any]:
        """``{"identities", "edges", "iterations", "residual", "converged", "seconds", "error"}``
        of the cached scores (``computed: false`` before any)."""
        scores = self.cached()
        out: dict[str, Any] = {"computed": scores is not None, "seconds": self.last_seconds, "error": self.last_error}
        if scores is not None:
            out |= scores.summary()
        return out


class ResultJudge:
    """Search results judged by one snapshot of the scores and the gate: ``judged(r)`` is
    ``r`` with ``trust`` and ``hidden`` set (remembered per track id: a result's artist never
    changes); ``rank_key(r)`` sorts hidden results last, then as ``Result.rank_key`` but
    with the match score blended with the artist's relative trust (``osp.social.gate.blend``).
    Without ``scores`` results are shown unjudged (``trust`` ``None``) and ranked as before."""

    def __init__(self, scores: TrustScores | None, gate: GateSettings) -> None:
        self.scores = scores
        self.gate = gate
        #: per track id: (trust, hidden, relative trust, normalized title), the parts that never change
        self._seen: dict[str, tuple[float | None, dict[str, str | None] | None, float, str]] = {}

    def _judge(self, r: Result) -> tuple[float | None, dict[str, str | None] | None, float, str]:
        got = self._seen.get(r.track_id)
        if got is None:
            artist = r.record.get("artist")
            title = r.record.get("title")
            norm = normalize(title) if isinstance(title, str) else ""
            if self.scores is None or not isinstance(artist, str):
                got = (None, None, 0.0, norm)
            else:
                hidden = judge(self.scores, self.gate, author=artist, subjects=[r.track_id])
                got = (rounded(self.scores.score(artist)), hidden.to_json() if hidden else None,
                       self.scores.relative(artist), norm)
            self._seen[r.track_id] = got
        return got

    def judged(self, r: Result) -> Result:
        """``r`` with ``trust`` and ``hidden`` set."""
        trust, hidden, _relative, _title = self._judge(r)
        return replace(r, trust=trust, hidden=hidden)

    def is_hidden(self, r: Result) -> bool:
        return self._judge(r)[1] is not None

    def rank_key(self, r: Result) -> tuple[Any, ...]:
        if self.scores is None:
            return (0, *r.rank_key)
        _trust, hidden, relative, title = self._judge(r)
        return (1 if hidden else 0, 0 if r.trusted else 1, -blend(r.score, relative), -r.independent_holders,
                title, r.track_id)


def annotate(node: Node, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` (search results, comments, flags, feed entries: dicts with ``author`` or
    ``artist``, and ``id``) each with ``trust`` (float or ``None``) and ``hidden``
    (``{"why", "by"}`` or ``None``) added, in the same order; nothing is dropped.  Uses
    ``node.trust.view()``: never computes on a running node's request path."""
    return gate_annotate(node.trust.view(), node.trust.gate(), items)


def trusted_likers(node: Node, likers: Collection[str]) -> set[str] | None:
    """The ``likers`` (dids) that count as trusted: the listener, and every identity with
    effective trust > 0 whose items the quality gate shows (``osp.social.gate.judge``).
    ``None`` while no trust is computed yet (``node.trust.view()``).  Spec §10: a like's
    weight is its author's trust, so Sybils outside the web of trust add nothing."""
    scores = node.trust.view()
    if scores is None:
        return None
    gate = node.trust.gate()
    return {d for d in likers
            if d == scores.user or (scores.score(d) > 0 and judge(scores, gate, author=d) is None)}


def own_records_about(node: Node, did: str) -> list[dict[str, Any]]:
    """The listener's own Follow, Endorsement and Flag records about ``did``, newest first:
    ``[{"id", "kind", "reason"?}]`` (empty without an identity)."""
    me = node.library.meta("did")
    if me is None:
        return []
    rows = node.social.records.by_author(me, ("follow", "endorsement", "flag"), newest_first=True)
    return [{"id": r.id, "kind": r.kind, **({"reason": r.record["reason"]} if r.kind == "flag" else {})}
            for r in rows if r.subject == did]


def trust_report(node: Node, did: str | None, *, top: int = 20) -> dict[str, Any]:
    """``GET /api/trust``: for ``did`` ``{"did", "score", "relative", "base", "rank", "of", "why",
    "mine"}`` (``mine``: the listener's own signed records about ``did``, ``[{"id", "kind",
    "reason"?}]``: the ids ``osp retract`` takes to withdraw a follow, endorsement or flag); without, ``{"you", "identities": [{"did", "score", "relative", "rank"}…], "gate", "computed"}``
    (the ``top`` most trusted; ``score`` the raw PageRank share, ``relative`` the same over the
    typical trusted identity's: ``TrustScores.standing``).  Scores are ``null`` while none is computed."""
    scores = node.trust.view()
    gate = node.trust.gate()
    if did is not None:
        mine = own_records_about(node, did)
        if scores is None:
            return {"did": did, "score": None, "relative": None, "base": None, "rank": None, "of": None,
                    "why": ["trust is being computed: try again in a moment"], "mine": mine}
        return {**scores.to_json(did), "mine": mine}
    identities = [] if scores is None else [{"did": d, "score": t, "relative": rounded(scores.standing(d)), "rank": r}
                                            for r, (d, t) in enumerate(scores.top(top), start=1)]
    return {"you": None if scores is None else scores.user, "identities": identities, "gate": gate.to_json(),
            "computed": node.trust.status()}


def artist_standing(node: Node, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A Track Record's artist in the listener's web of trust, for the "verified
    AI-generated" level 4 (``osp.provenance.levels``): ``{"self": bool, "relative": float,
    "hidden": {"why", "by"}|None}`` (``relative``: ``TrustScores.standing``; ``hidden``: the
    quality gate's verdict on the artist and this track), or ``None`` while no trust is
    computed (``node.trust.view()``: never computed on a request path)."""
    scores = node.trust.view()
    artist = record.get("artist")
    if scores is None or not isinstance(artist, str):
        return None
    if artist == scores.user:
        return {"self": True, "relative": None, "hidden": None}
    hidden = judge(scores, node.trust.gate(), author=artist, subjects=[str(record.get("id"))])
    return {"self": False, "relative": rounded(scores.standing(artist)),
            "hidden": None if hidden is None else hidden.to_json()}
