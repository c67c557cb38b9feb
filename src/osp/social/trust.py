"""The listener's personal web of trust: personalized PageRank with restart at the listener.

Pure computation (numpy, scipy.sparse): no I/O, no clock.  ``osp.node.trust`` reads the
graph out of the library, calls ``compute`` off the request path and caches the result.

**Model.**  Nodes are identities (did:key strings; the listener's own node is ``user``,
which may be a placeholder when the node has no key yet).  Edges:

* a *follow* ``A → B`` (the listener's local follows table, and every verified
  ``osp:Follow`` record by ``A`` about ``B``) weighs ``follow_weight`` (1);
* an *endorsement* ``A → B`` (an ``osp:Endorsement`` record) weighs ``endorse_weight`` (3):
  a vouch says more than a follow;
* the endorsements of each curator on the listener's moderation lists are adopted as the
  listener's own (``user → B``, endorsement weight).

Repeated edges count once per kind; self-edges are dropped.  Each identity's out-weights
are normalised to sum to 1 (a row-stochastic matrix ``P``).  The trust vector ``t`` is the
stationary distribution of the walk that, at every step, restarts at the listener with
probability ``alpha`` (0.15) and otherwise follows an out-edge; an identity with no
out-edges (dangling) restarts too::

    t = alpha · e_user + (1 − alpha) · (Pᵀ t + (Σ_dangling t) · e_user)

This is PageRank (Page, Brin, Motwani, Winograd 1999) personalised to one node
(Haveliwala 2002, "Topic-sensitive PageRank"), i.e. EigenTrust's global trust with the
listener as the only pre-trusted peer (Kamvar, Schlosser, Garcia-Molina 2003).  ``t``
sums to 1; the listener keeps at least ``alpha`` of it.  Power iteration from ``e_user``
stops when the L1 change of one step falls under ``tolerance`` (1e-9) or after
``max_iterations``; the true L1 error is then at most ``residual · (1 − alpha) / alpha``
(the iteration contracts by ``1 − alpha`` per step), about 128 steps for 1e-9.

**Sybil bound.**  Mass enters a set ``S`` of identities only along edges into ``S``, and
leaves it at rate ``alpha`` per step (the restart).  At the fixed point
``t(S) ≤ (1 − alpha) / alpha · Σ_{c → S} t(c) · p(c, S)``, where ``p(c, S)`` is the share of
``c``'s out-weight that points into ``S`` (equality when ``S`` has no edges out).  So
1,000 Sybils that only endorse each other hold nothing, and one compromised honest
identity ``c`` endorsing them all moves at most ``(1 − alpha)/alpha · t(c)`` (5.67 · t(c)
at alpha 0.15) into them (``tests/unit/test_social_trust.py`` measures it).

**Flags.**  Raw scores sum to 1, so they shrink as the graph grows; flags are weighed in
*relative* trust, which does not: ``typical`` is the trust-weighted median of the base
scores of the identities other than the listener (``typical_base``), and a flagger's
weight is ``w(F) = t(F) / typical`` (1: as trusted as the typical trusted identity).  A
flag from ``F`` on identity ``X`` (or on one of ``X``'s tracks) lowers ``X``'s *effective*
score::

    effective(X) = t(X) · (1 − min(1, Σ_F w(F) / flag_scale))

over the distinct flaggers ``F ≠ X`` of ``X`` and its tracks, where ``w(F)`` is
``flag_scale`` for the listener and the curators of the listener's lists (their flag alone
removes ``X``) and ``t(F) / typical`` for anyone else.  Identities outside the web of trust
have ``t(F) = 0``: their flags do nothing, and all of a Sybil region's flags together
remove at most ``t(S) / (typical · flag_scale)`` of anyone's score.  Identities with
``w(F) ≥ flag_scale`` (0.5: at least half the typical trust) are the *trusted flaggers*
whose flag alone hides what it flags (``osp.social.gate`` rule 3); the same identities are
trusted flaggers whether the listener knows 5 identities or 500,000.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp  # imported where used: every CLI command builds a Node, few compute trust

ALPHA = 0.15  #: restart probability (to the listener) per step
TOLERANCE = 1e-9  #: L1 change of one power-iteration step under which the iteration stops
MAX_ITERATIONS = 1000  #: power-iteration steps at most (1e-9 needs ~128 at alpha 0.15)
FOLLOW_WEIGHT = 1.0  #: weight of a follow edge
ENDORSE_WEIGHT = 3.0  #: weight of an endorsement edge (a vouch says more than a follow)
FLAG_SCALE = 0.5  #: τ: flaggers' summed relative trust (× typical) that removes a score entirely (module docstring)
MAX_FLAG_SCALE = 100.0  #: highest τ (a flagger 100 × typical)
WHY_NAMES = 3  #: identities named per "why" line before "and N others"

_FOLLOW, _ENDORSE, _ADOPTED = 0, 1, 2  #: edge kinds (``TrustGraph.arrays``)
_BITS = np.array([1, 2, 4], dtype=np.int8)  #: kind → bit in the in-edge matrix


@dataclass(frozen=True)
class TrustParams:
    """The model's parameters (module docstring); ``ValueError`` when out of range."""

    alpha: float = ALPHA  #: restart probability, in (0, 1)
    tolerance: float = TOLERANCE  #: L1 stopping tolerance, > 0
    max_iterations: int = MAX_ITERATIONS  #: iteration cap, ≥ 1
    follow_weight: float = FOLLOW_WEIGHT  #: > 0
    endorse_weight: float = ENDORSE_WEIGHT  #: > 0
    flag_scale: float = FLAG_SCALE  #: τ (relative trust, × typical), in (0, MAX_FLAG_SCALE]

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        if not self.tolerance > 0 or self.max_iterations < 1:
            raise ValueError("tolerance must be > 0 and max_iterations ≥ 1")
        if not (self.follow_weight > 0 and self.endorse_weight > 0):
            raise ValueError("edge weights must be > 0")
        if not 0 < self.flag_scale <= MAX_FLAG_SCALE:
            raise ValueError(f"flag_scale must be in (0, {MAX_FLAG_SCALE:g}]")


@dataclass(frozen=True)
class FlagMark:
    """One flag as trust sees it: who flagged (``flagger``), what (``subject``: a did:key or
    a track id), the identity it lowers (``target``: the did, or the track's artist; ``None``
    when the track's artist is unknown here) and ``reason`` (``spam``, ``impersonation``,
    ``not-ai``, ``malicious``, ``duplicate``; ``None`` if not known)."""

    flagger: str
    subject: str
    target: str | None
    reason: str | None


class TrustGraph:
    """The identity graph, built edge by edge before ``compute``.

    ``user`` is the listener (restart node); ``lists`` the curators whose flags and
    endorsements the listener adopts.  Identities are interned to indexes as they appear."""

    def __init__(self, user: str, *, lists: Iterable[str] = ()) -> None:
        self.user = user
        self.lists = tuple(d for d in dict.fromkeys(lists) if d != user)
        self.ids: list[str] = [user]
        self.index: dict[str, int] = {user: 0}
        self._src = array("q")
        self._dst = array("q")
        self._kind = array("b")
        self.flags: list[FlagMark] = []

    def node(self, did: str) -> int:
        """The index of ``did`` (added when new)."""
        i = self.index.get(did)
        if i is None:
            i = self.index[did] = len(self.ids)
            self.ids.append(did)
        return i

    def follow(self, source: str, target: str) -> None:
        """``source`` follows ``target`` (a self-follow is ignored)."""
        self._edge(source, target, _FOLLOW)

    def endorse(self, source: str, target: str) -> None:
        """``source`` endorses ``target`` (a self-endorsement is ignored)."""
        self._edge(source, target, _ENDORSE)

    def edges(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Many edges at once: ``(source, kind, target)`` with kind ``follow`` or ``endorsement``
        (other kinds are ignored)."""
        index, ids = self.index, self.ids
        src, dst, kinds = self._src, self._dst, self._kind
        for source, kind, target in rows:
            k = _FOLLOW if kind == "follow" else _ENDORSE if kind == "endorsement" else -1
            if k < 0 or source == target:
                continue
            s = index.get(source)
            if s is None:
                s = index[source] = len(ids)
                ids.append(source)
            t = index.get(target)
            if t is None:
                t = index[target] = len(ids)
                ids.append(target)
            src.append(s)
            dst.append(t)
            kinds.append(k)

    def flag(self, mark: FlagMark) -> None:
        """Add a flag (it lowers ``mark.target`` when it has one; both identities become known)."""
        self.node(mark.flagger)
        if mark.target is not None:
            self.node(mark.target)
        self.flags.append(mark)

    def _edge(self, source: str, target: str, kind: int) -> None:
        if source == target:
            return
        self._src.append(self.node(source))
        self._dst.append(self.node(target))
        self._kind.append(kind)

    @property
    def edge_count(self) -> int:
        """Edges added (before deduplication)."""
        return len(self._src)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(source, target, kind)`` index arrays, deduplicated: kind 0 follow, 1
        endorsement, 2 a list curator's endorsement adopted as the listener's (source 0;
        left out where the listener endorses the same identity)."""
        src = np.frombuffer(self._src, dtype=np.int64) if len(self._src) else np.zeros(0, np.int64)
        dst = np.frombuffer(self._dst, dtype=np.int64) if len(self._dst) else np.zeros(0, np.int64)
        kind = np.frombuffer(self._kind, dtype=np.int8).astype(np.int64) if len(self._kind) else np.zeros(0, np.int64)
        curators = [self.index[c] for c in self.lists if c in self.index]
        if curators:
            adopted = np.isin(src, curators) & (kind == _ENDORSE) & (dst != 0)
            own = dst[(src == 0) & (kind == _ENDORSE)]
            adopted &= ~np.isin(dst, own)
            n = int(adopted.sum())
            src = np.concatenate([src, np.zeros(n, np.int64)])
            dst = np.concatenate([dst, dst[adopted]])
            kind = np.concatenate([kind, np.full(n, _ADOPTED, np.int64)])
        key = np.sort((src << 34) | (dst << 2) | kind)  # sort + diff: faster than np.unique's hash path
        if key.size:
            key = key[np.concatenate(([True], key[1:] != key[:-1]))]
        return key >> 34, (key >> 2) & ((1 << 32) - 1), key & 3

    def reachable(self) -> list[str]:
        """The identities whose flags can weigh (``w(F) > 0``, module docstring): the
        listener, the list curators, and whoever they reach along follow and endorsement
        edges added so far — anyone else has trust 0.  A caller reads flags of these
        authors only, so a flood of outsiders' flags cannot push theirs out of a bounded
        read.  O(identities + edges)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import breadth_first_order

        n = len(self.ids)
        roots = [0, *(self.index[c] for c in self.lists if c in self.index)]
        src = np.frombuffer(self._src, dtype=np.int64) if len(self._src) else np.zeros(0, np.int64)
        dst = np.frombuffer(self._dst, dtype=np.int64) if len(self._dst) else np.zeros(0, np.int64)
        # one extra vertex n points at every root: one search finds all they reach
        rows = np.concatenate([src, np.full(len(roots), n, np.int64)])
        cols = np.concatenate([dst, np.asarray(roots, np.int64)])
        adjacency = csr_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(n + 1, n + 1))
        order = breadth_first_order(adjacency, n, directed=True, return_predecessors=False)
        found = [self.ids[i] for i in order.tolist() if i < n]
        return found + [c for c in self.lists if c not in self.index]  # a curator with no edges yet


@dataclass(frozen=True, eq=False)
class TrustScores:
    """The result of ``compute``: one score per known identity.

    ``base`` is the personalized PageRank vector (sums to 1), ``effective`` the same after
    flags (module docstring); ``iterations`` and ``residual`` (L1 change of the last step)
    say how the power iteration ended, ``converged`` whether under ``params.tolerance``.
    Unknown identities score 0.  Immutable once built: safe to share across threads."""

    user: str
    ids: tuple[str, ...]
    index: Mapping[str, int]
    base: np.ndarray
    effective: np.ndarray
    iterations: int
    residual: float
    converged: bool
    params: TrustParams
    lists: tuple[str, ...]
    flags: tuple[FlagMark, ...]
    typical_base: float  #: the trust-weighted median base score but the listener's (the unit of ``flag_weight``)
    _sources: np.ndarray = field(repr=False)
    _targets: np.ndarray = field(repr=False)
    _kinds: np.ndarray = field(repr=False)

    @property
    def size(self) -> int:
        """Identities known (the listener included)."""
        return len(self.ids)

    def score(self, did: str) -> float:
        """``did``'s effective trust in [0, 1]; 0 for an identity not in the graph."""
        i = self.index.get(did)
        return 0.0 if i is None else float(self.effective[i])

    def base_score(self, did: str) -> float:
        """``did``'s trust before flags; 0 when unknown."""
        i = self.index.get(did)
        return 0.0 if i is None else float(self.base[i])

    def relative(self, did: str) -> float:
        """``did``'s effective trust mapped into [0, 1): ``t / (t + 1/n)`` with ``n`` the
        identities known, so an identity with an average share scores 0.5 (for ranking blends)."""
        t = self.score(did)
        return t / (t + 1.0 / max(1, self.size)) if t > 0 else 0.0

    @cached_property
    def typical(self) -> float:
        """The unit of ``standing``: the trust-weighted median of the effective scores of the
        identities other than the listener, i.e. the score ``m`` such that identities scoring
        ≥ ``m`` hold at least half of their summed trust (0 when none has trust).  Weighted by
        trust, so a flood of barely trusted Sybils (whose summed trust is bounded: module
        docstring) hardly moves it, where a plain median would sink."""
        return _weighted_median(self.effective)

    def standing(self, did: str) -> float:
        """``did``'s *relative* trust: effective trust divided by ``typical``, ≥ 0 and
        unitless — 1 is as trusted as the typical trusted identity, 0.1 a tenth of that, 0
        outside the web of trust — so it reads the same whatever the number of identities
        known (raw scores sum to 1 and shrink as the graph grows).  The quality gate's
        threshold compares it (``osp.social.gate``).  0 when nobody has trust."""
        t, m = self.score(did), self.typical
        return t / m if t > 0 and m > 0 else 0.0

    def mass(self, dids: Iterable[str]) -> float:
        """Summed base trust of ``dids`` (unknown ones add 0)."""
        idx = [self.index[d] for d in dids if d in self.index]
        return float(self.base[idx].sum()) if idx else 0.0

    @cached_property
    def _order(self) -> np.ndarray:
        """Identity indexes by effective trust, best first, the listener and zeros left out."""
        order: np.ndarray = np.argsort(-self.effective, kind="stable")
        kept: np.ndarray = order[(order != 0) & (self.effective[order] > 0)]
        return kept

    @cached_property
    def _ranks(self) -> dict[int, int]:
        return {int(i): r for r, i in enumerate(self._order, start=1)}

    def rank(self, did: str) -> int | None:
        """1 for the most trusted identity other than the listener; ``None`` for the
        listener, an unknown identity or one with no trust."""
        i = self.index.get(did)
        return None if i is None else self._ranks.get(i)

    @property
    def ranked(self) -> int:
        """Identities with a rank (trust > 0, the listener left out)."""
        return len(self._order)

    def top(self, n: int) -> list[tuple[str, float]]:
        """The ``n`` most trusted identities but the listener: ``(did, effective trust)``."""
        return [(self.ids[i], float(self.effective[i])) for i in self._order[:max(0, n)]]

    def flag_weight(self, flagger: str) -> float:
        """``w(F)``: ``flag_scale`` for the listener and list curators, else ``F``'s base trust
        relative to the typical one (``t(F) / typical_base``; 0 outside the web of trust)."""
        if flagger == self.user or flagger in self.lists:
            return self.params.flag_scale
        return _relative(self.base_score(flagger), self.typical_base)

    def trusted_flagger(self, flagger: str) -> bool:
        """Whether a flag by ``flagger`` alone hides what it flags (gate rule 3): the
        listener, a list curator, or an identity whose relative trust (``flag_weight``)
        reaches ``flag_scale`` — independent of how many identities are known."""
        return self.flag_weight(flagger) >= self.params.flag_scale

    @cached_property
    def _flags_by_subject(self) -> dict[str, tuple[FlagMark, ...]]:
        grouped: dict[str, list[FlagMark]] = {}
        for mark in self.flags:
            grouped.setdefault(mark.subject, []).append(mark)
            if mark.target is not None and mark.target != mark.subject:
                grouped.setdefault(mark.target, []).append(mark)
        return {subject: tuple(sorted(marks, key=lambda m: (-self.flag_weight(m.flagger), m.flagger)))
                for subject, marks in grouped.items()}

    @cached_property
    def _chosen(self) -> frozenset[int]:
        """Indexes of the identities the listener (index 0) follows or endorses directly."""
        return frozenset(int(t) for t in self._targets[self._sources == 0])

    def chosen(self, did: str) -> bool:
        """Whether the listener follows or endorses ``did`` directly (their own choice, which
        another identity's flag does not override: ``osp.social.gate.judge``)."""
        i = self.index.get(did)
        return i is not None and i in self._chosen

    def flags_on(self, subject: str) -> tuple[FlagMark, ...]:
        """Flags on ``subject`` (a track id or did; for a did also those on its tracks),
        heaviest flagger first (sorted once per snapshot)."""
        return self._flags_by_subject.get(subject, ())

    @cached_property
    def _in_edges(self) -> sp.csc_matrix:
        import scipy.sparse as sp

        n = self.size
        data = _BITS[self._kinds]  # per (source, target) pair: a bit mask of follow 1, endorse 2, adopted 4
        return sp.csc_matrix((data, (self._sources, self._targets)), shape=(n, n))

    def why(self, did: str, names: Mapping[str, str] | None = None) -> list[str]:
        """Plain-language reasons for ``did``'s score, most telling first:
        ``followed by you``, ``endorsed by A (trust 0.012), B and 3 others``,
        ``flagged spam by C (trust 0.01)``, ``trust lowered 60 % by flags`` …  ``names``
        maps dids to display names (a did is shortened otherwise)."""
        names = names or {}
        if did == self.user:
            return ["this is you"]
        i = self.index.get(did)
        if i is None:
            return ["unknown here: no follow, endorsement or flag names them"]
        lines: list[str] = []
        col = self._in_edges.getcol(i)
        sources, masks = col.indices, col.data
        own = next((int(m) for s, m in zip(sources, masks, strict=True) if s == 0), 0)
        if own & 1:
            lines.append("followed by you")
        if own & 2:
            lines.append("endorsed by you")
        if own & 4:
            curators = [c for c in self.lists if self._endorses(c, i)]
            lines.append(f"endorsed by your list{'s' if len(curators) > 1 else ''} "
                         + _join([_label(c, names) for c in curators[:WHY_NAMES]], len(curators) - WHY_NAMES))
        for label, bit in (("endorsed", 2), ("followed", 1)):
            who = [int(s) for s, m in zip(sources, masks, strict=True)
                   if s != 0 and int(m) & bit and self.ids[s] not in self.lists]
            who.sort(key=lambda s: -self.base[s])
            trusted = [s for s in who if self.base[s] > 0]
            if trusted:
                named = [f"{_label(self.ids[s], names)} (trust {_fmt(self.base[s])})" for s in trusted[:WHY_NAMES]]
                lines.append(f"{label} by {_join(named, len(trusted) - len(named))}")
            untrusted = len(who) - len(trusted)
            if untrusted:
                lines.append(f"{label} by {untrusted} identit{'y' if untrusted == 1 else 'ies'} outside your web of trust")
        counted: set[str] = set()
        ignored = 0
        for mark in self.flags_on(did):
            if mark.flagger in counted or mark.flagger == did:  # one line per flagger
                continue
            counted.add(mark.flagger)
            w = self.flag_weight(mark.flagger)
            if w <= 0:
                ignored += 1
                continue
            by = "you" if mark.flagger == self.user else _label(mark.flagger, names)
            if mark.flagger in self.lists:
                by += " (your list)"
            elif mark.flagger != self.user:
                by += f" (trust {_fmt(w)} × typical)"
            what = " ".join(filter(None, ["flagged", mark.reason, "" if mark.subject == did else "(a track of theirs)"]))
            lines.append(f"{what} by {by}")
        if ignored:
            lines.append(f"{ignored} flag{'s' if ignored > 1 else ''} from outside your web of trust ignored")
        base, eff = float(self.base[i]), float(self.effective[i])
        if base > 0 and eff < base:
            lines.append(f"trust lowered {round(100 * (1 - eff / base))} % by flags")
        if base == 0:
            lines.append("no one in your web of trust follows or endorses them")
        return lines

    def _endorses(self, source: str, target: int) -> bool:
        s = self.index.get(source)
        if s is None:
            return False
        hit = (self._sources == s) & (self._targets == target) & (self._kinds == _ENDORSE)
        return bool(hit.any())

    def to_json(self, did: str, names: Mapping[str, str] | None = None) -> dict[str, object]:
        """``{"did", "score", "relative", "base", "rank", "of", "why"}`` (``GET /api/trust?did=``;
        ``relative``: ``standing``, 4 significant digits)."""
        return {"did": did, "score": self.score(did), "relative": float(f"{self.standing(did):.4g}"),
                "base": self.base_score(did), "rank": self.rank(did), "of": self.ranked, "why": self.why(did, names)}

    def summary(self) -> dict[str, object]:
        """How the computation went: identities, edges, iterations, residual, converged."""
        return {"identities": self.size, "edges": int(self._sources.size), "iterations": self.iterations,
                "residual": self.residual, "converged": self.converged, "alpha": self.params.alpha,
                "tolerance": self.params.tolerance}


def compute(graph: TrustGraph, params: TrustParams | None = None) -> TrustScores:
    """Personalized PageRank of ``graph`` restarting at ``graph.user``, then flags (module
    docstring).  O(edges) per iteration; about 128 iterations at the default tolerance."""
    import scipy.sparse as sp

    params = params or TrustParams()
    n = len(graph.ids)
    src, dst, kind = graph.arrays()
    weight = np.where(kind == _FOLLOW, params.follow_weight, params.endorse_weight)
    out = np.bincount(src, weights=weight, minlength=n)
    transition = sp.csr_matrix((weight / out[src], (dst, src)), shape=(n, n))  # Pᵀ
    dangling = out == 0
    alpha = params.alpha
    x = np.zeros(n)
    x[0] = 1.0
    residual = float("inf")
    iterations = 0
    while iterations < params.max_iterations:
        iterations += 1
        y = transition @ x
        y *= 1 - alpha
        y[0] += alpha + (1 - alpha) * float(x[dangling].sum())
        residual = float(np.abs(y - x).sum())
        x = y
        if residual < params.tolerance:
            break
    x /= x.sum()
    typical = _weighted_median(x)
    effective = _flagged(graph, x, typical, params)
    return TrustScores(graph.user, tuple(graph.ids), dict(graph.index), x, effective, iterations, residual,
                       residual < params.tolerance, params, graph.lists, tuple(graph.flags), typical, src, dst, kind)


def _weighted_median(scores: np.ndarray) -> float:
    """The trust-weighted median of ``scores[1:]`` (the listener left out): the score ``m``
    such that identities scoring ≥ ``m`` hold at least half of their summed trust; 0 when
    none has trust."""
    rest = scores[1:]
    rest = np.sort(rest[rest > 0])[::-1]
    if not rest.size:
        return 0.0
    cum = np.cumsum(rest)
    return float(rest[int(np.searchsorted(cum, cum[-1] / 2))])


def _relative(t: float, typical: float) -> float:
    return t / typical if t > 0 and typical > 0 else 0.0


def _flagged(graph: TrustGraph, base: np.ndarray, typical: float, params: TrustParams) -> np.ndarray:
    """``base`` with each flagged identity's score scaled by ``1 − min(1, Σ w(F) / τ)``
    (``w(F)``: ``τ`` for the listener and curators, else ``base(F) / typical``)."""
    effective = base.copy()
    if not graph.flags:
        return effective
    curators = set(graph.lists)
    pairs: set[tuple[int, str]] = set()
    weights: dict[int, float] = {}
    for mark in graph.flags:
        if mark.target is None or mark.target == mark.flagger:
            continue
        t = graph.index.get(mark.target)
        if t is None or t == 0 or (t, mark.flagger) in pairs:
            continue  # the listener is never lowered by others' flags
        pairs.add((t, mark.flagger))
        if mark.flagger == graph.user or mark.flagger in curators:
            w = params.flag_scale
        else:
            f = graph.index.get(mark.flagger)
            w = _relative(float(base[f]), typical) if f is not None else 0.0
        if w > 0:
            weights[t] = weights.get(t, 0.0) + w
    for t, w in weights.items():
        effective[t] *= 1.0 - min(1.0, w / params.flag_scale)
    return effective


def sybil_bound(scores: TrustScores, compromised: Sequence[str], sybils: Iterable[str]) -> float:
    """The most trust mass the set ``sybils`` can hold when its only in-edges come from
    ``compromised``: ``(1 − alpha)/alpha · Σ_c t(c) · p(c, S)`` (module docstring)."""
    members = {scores.index[d] for d in sybils if d in scores.index}
    alpha = scores.params.alpha
    total = 0.0
    for did in compromised:
        c = scores.index.get(did)
        if c is None:
            continue
        mine = scores._sources == c
        w = np.where(scores._kinds[mine] == _FOLLOW, scores.params.follow_weight, scores.params.endorse_weight)
        into = np.isin(scores._targets[mine], list(members))
        share = float(w[into].sum() / w.sum()) if w.sum() > 0 else 0.0
        total += float(scores.base[c]) * share
    return (1 - alpha) / alpha * total


def short_did(did: str) -> str:
    """``did:key:z6MkAbCd…wxyz12`` for display."""
    return did[:16] + "…" + did[-6:] if len(did) > 24 else did


def _label(did: str, names: Mapping[str, str]) -> str:
    name = names.get(did)
    return f"{name} ({short_did(did)})" if name else short_did(did)


def _fmt(t: float) -> str:
    return f"{t:.3g}"


def _join(named: list[str], more: int) -> str:
    if more > 0:
        return ", ".join(named) + f" and {more} other{'s' if more > 1 else ''}"
    if len(named) > 1:
        return ", ".join(named[:-1]) + " and " + named[-1]
    return named[0]
