"""Recommendations computed on the listener's own node (issue 11): pure computation, no I/O.

**Signals** (``Signals``): what the node knows, as plain values — public social records
(likes, published playlists, follows of artists: spec §10) and the listener's **local**
listening history (seconds listened per track; private, never published).  They become one
sparse user × item matrix of implicit-feedback confidences (``WEIGHTS``):

* a like: 1 in its author's row;
* a published playlist: 1 per track in its author's row, and the playlist is also a row of
  its own (tracks in the same playlist co-occur: that is what a row says to the model);
* a follow of an artist: ``follow`` (0.25) for each of that artist's known tracks (at most
  ``MAX_FOLLOW_TRACKS``) in the follower's row;
* the listener's plays: ``log1p(seconds / 60)`` (30 s → 0.41, 3 min → 1.39, an hour → 4.1).

A cell sums what it gets, capped at ``MAX_CONFIDENCE``.  With ``trust`` (the web of trust's
score per did, any non-negative scale), each identity's rows are scaled by its normalised
trust (``trust_weights``), and once at least ``MIN_TRUSTED`` identities have some trust the
rows of identities with none are left out: a thousand Sybils that nobody trusted do not move
the model at all (ALS reads any stored cell as a preference, only its confidence scales, so
a small weight would not be enough).  While the web of trust is smaller than that, everyone
counts at least ``USER_TRUST_FLOOR``; while it holds no identity with signals at all (a new
listener's cold start), every row counts whole, and popularity is plain popularity.  The
listener's row is never scaled.

**Model**: implicit ALS (Hu, Koren & Volinsky 2008, "Collaborative Filtering for Implicit
Feedback Datasets"), from the ``implicit`` library on the CPU, with a fixed seed.  ALS rather
than BPR because the signals are graded confidences (a long listen, a like, a follow) that
ALS weighs and BPR's pairwise sampling reduces to seen/unseen; and because ALS's per-row
solves give the same factors whatever the thread count, where BPR's parallel SGD does not.
The listener's row is solved again at query time (``recalculate_user``: a play counts at
once, without a refit); items are those of the last fit.

**Queries** (each result a ``Recommendation`` with a ``Reason``: ``osp.social.reasons``, counted
from the signals so that it is true as said):

* ``recommend``: ALS scores of every known item, times its artist's trust
  (``item_multipliers``), blended with audio similarity to the listener's most played tracks
  when vectors are given (``AUDIO_BLEND``); what the listener played, liked, put in a
  playlist or published themself is left out, and so is everything ``hidden``.  A listener
  with no row (no plays, likes, playlists or follows) gets **trust-weighted popularity**
  (``popular``), marked ``cold_start``.
* ``more_like_this``: cosine of ALS item factors blended with audio cosine (the AI-music
  layer's "sounds like" vectors), either alone when the other is missing.
* ``popular``: every user's vote (one per track) weighted by the voter's trust, linearly
  (``TrustWeights.share``: Sybils' votes sum to at most the trust that reached them).

Only items whose track record is known here (``Signals.tracks``) are ever recommended; the
others still shape the model.  Scores are unitless and comparable within one answer only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from osp.core.lazy import LazyModule

if TYPE_CHECKING:
    import scipy.sparse as sp
else:  # imported at the first fit or query: not by every ``osp`` command that builds a node
    sp = LazyModule("scipy.sparse")

from osp.social.reasons import Reason as Reason  # re-exported: every answer carries one
from osp.social.reasons import Why, co_likers, row_of

FloatArray = np.ndarray[Any, np.dtype[np.float32]]

WEIGHTS: Mapping[str, float] = {"like": 1.0, "playlist": 1.0, "follow": 0.25}
MAX_CONFIDENCE = 4.0  #: most one (user, item) cell holds
MAX_FOLLOW_TRACKS = 200  #: most tracks of one followed artist entered in the follower's row
PLAY_UNIT = 60.0  #: seconds: a play's confidence is ``log1p(seconds / PLAY_UNIT)``
USER_TRUST_FLOOR = 0.05  #: least weight of an identity's rows when trust is given but holds few identities
MIN_TRUSTED = 20  #: identities with trust (the listener aside) from which untrusted ones' signals are left out
ITEM_TRUST_FLOOR = 0.3  #: least multiplier of an item's score when trust is given (its artist untrusted)
AUDIO_BLEND = 0.3  #: share of audio similarity in "for you" scores (when the listener has vectors)
SIMILAR_BLEND = 0.5  #: share of audio similarity in "more like this" when both parts exist
AUDIO_SEEDS = 5  #: the listener's most weighted tracks with vectors used as "sounds like" seeds
MAX_LIMIT = 100  #: most results of one query
PLAYLIST_ROW = "playlist\x00"  #: prefix of a playlist's own row key (never a did)


@dataclass(frozen=True)
class Params:
    """ALS hyper-parameters (``implicit.als.AlternatingLeastSquares``); confidences are
    ``1 + alpha × cell``."""

    factors: int = 32
    regularization: float = 10.0
    alpha: float = 10.0
    iterations: int = 15
    seed: int = 42
    threads: int = 1  #: fitting threads (0: every core); the result does not depend on it


@dataclass(frozen=True)
class Signals:
    """What the node knows (module doc).  Dids are ``did:key:…``, tracks ``osp:track:…``."""

    listener: str  #: the node's own did
    likes: Sequence[tuple[str, str]] = ()  #: ``(author, track)``
    playlists: Sequence[tuple[str, str, Sequence[str]]] = ()  #: ``(author, series id, tracks)``, newest versions
    follows: Sequence[tuple[str, str]] = ()  #: ``(follower, artist)``
    plays: Mapping[str, float] = field(default_factory=dict)  #: the listener's seconds listened per track
    tracks: Mapping[str, str] = field(default_factory=dict)  #: track → artist did, for every record known here


@dataclass(frozen=True)
class Recommendation:
    """One recommended ``track`` (id) by ``artist`` (did), its ``score`` and ``why``."""

    track: str
    artist: str
    score: float
    why: Reason


@dataclass(frozen=True)
class AudioVectors:
    """"Sounds like" vectors: ``ids[i]`` has row ``i`` of ``matrix`` (L2-normalised float32)."""

    ids: Sequence[str]
    matrix: FloatArray
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def index(self) -> dict[str, int]:
        """Track id → row (built once)."""
        if "index" not in self._memo:
            self._memo["index"] = {t: i for i, t in enumerate(self.ids)}
        found: dict[str, int] = self._memo["index"]
        return found

    def columns(self, model: Model) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Row → the model's column of that track, -1 when the model has none (built once per model)."""
        cached = self._memo.get("columns")
        if cached is None or cached[0] is not model:
            cached = (model, np.asarray([model.item_index.get(t, -1) for t in self.ids], dtype=np.int64))
            self._memo["columns"] = cached
        cols: np.ndarray[Any, np.dtype[np.int64]] = cached[1]
        return cols


@dataclass
class Model:
    """A fitted recommender (``fit``); read-only once built, safe to query from many threads."""

    users: dict[str, int]  #: row key (did, or ``PLAYLIST_ROW`` + author + series) → row
    owners: list[str]  #: row → the did whose signal it is
    is_person: np.ndarray[Any, np.dtype[np.bool_]]  #: row → a person's own row (not a playlist's)
    items: list[str]  #: column → track id
    item_index: dict[str, int]
    artist_of: np.ndarray[Any, np.dtype[np.int64]]  #: column → index in ``artists``, -1 unknown
    artists: list[str]
    artist_index: dict[str, int]  #: artist did → index in ``artists``
    known: np.ndarray[Any, np.dtype[np.bool_]]  #: column → its record is known here (may be recommended)
    matrix: sp.csr_matrix  #: rows × columns confidences (before ``alpha``)
    item_factors: FloatArray
    unit_factors: FloatArray  #: item factors, L2-normalised (item-item cosine)
    user_factors: FloatArray
    solver: Any  #: the ``implicit`` model (``recalculate_user``)
    params: Params
    interactions: int  #: non-zero cells
    likers: sp.csr_matrix | None = None  #: items × rows, 1 where the row's person likes the item (reasons)
    _votes: sp.csr_matrix | None = None  #: items × rows, 1 where the row has the item (``popular``; built once)

    def votes(self) -> sp.csr_matrix:
        """Items × rows, 1 where the row holds the item."""
        if self._votes is None:
            binary = self.matrix.copy()
            binary.data = (binary.data > 0).astype(np.float32)
            self._votes = binary.T.tocsr()
        return self._votes

    @property
    def empty(self) -> bool:
        return not self.items


def play_confidence(seconds: float) -> float:
    """A play's confidence: ``log1p(seconds / PLAY_UNIT)``, capped at ``MAX_CONFIDENCE``; 0 for ≤ 0 s."""
    if not seconds > 0 or not math.isfinite(seconds):
        return 0.0
    return min(MAX_CONFIDENCE, math.log1p(seconds / PLAY_UNIT))


class TrustWeights:
    """``did → weight in [0, 1]`` from a trust mapping (any non-negative scale): trust divided
    by the highest trust of anyone but the listener, square-rooted (personalised PageRank
    scores are heavy-tailed); the listener weighs 1, an identity not in ``trust`` 0.  Build
    it once per trust result and pass it to every query (the highest score is found once)."""

    def __init__(self, trust: Mapping[str, float], listener: str) -> None:
        self.trust = trust
        self.listener = listener
        self.top = max((v for d, v in trust.items() if d != listener and v > 0 and math.isfinite(v)), default=0.0)

    def __call__(self, did: str) -> float:
        return math.sqrt(self.share(did))

    def share(self, did: str) -> float:
        """``did``'s trust over the highest, *not* square-rooted (in [0, 1]; the listener 1):
        a vote's weight in ``popular``, where summing votes must keep the web of trust's Sybil
        bound — 500 barely trusted identities add up to what trust flowed into them, where
        their square roots would add up to more than a few trusted voters."""
        if did == self.listener:
            return 1.0
        v = self.trust.get(did, 0.0)
        return min(1.0, v / self.top) if self.top > 0 and v > 0 and math.isfinite(v) else 0.0


Trust = Mapping[str, float] | TrustWeights | None  #: what every query takes as ``trust``


def trust_weights(trust: Trust, listener: str) -> Callable[[str], float]:
    """``TrustWeights`` of ``trust`` (reused when it is one already); everyone weighs 1 without ``trust``."""
    if trust is None:
        return lambda _did: 1.0
    if isinstance(trust, TrustWeights):
        return trust
    return TrustWeights(trust, listener)


def listener_row(signals: Signals) -> dict[str, float]:
    """The listener's own cells: plays, likes, playlists and follows (module doc)."""
    me = signals.listener
    row: dict[str, float] = defaultdict(float)
    by_artist = _tracks_by_artist(signals.tracks)
    for track, seconds in signals.plays.items():
        row[track] += play_confidence(seconds)
    for author, track in signals.likes:
        if author == me:
            row[track] += WEIGHTS["like"]
    for author, _series, tracks in signals.playlists:
        if author == me:
            for track in set(tracks):
                row[track] += WEIGHTS["playlist"]
    for follower, artist in signals.follows:
        if follower == me:
            for track in by_artist.get(artist, ())[:MAX_FOLLOW_TRACKS]:
                row[track] += WEIGHTS["follow"]
    return {t: min(MAX_CONFIDENCE, v) for t, v in row.items() if v > 0}


def listener_seen(signals: Signals) -> set[str]:
    """What the listener has had: tracks played, liked or put in one of their playlists
    (not the tracks of artists they follow, which stay recommendable)."""
    me = signals.listener
    seen = {t for t, s in signals.plays.items() if s > 0}
    seen.update(t for a, t in signals.likes if a == me)
    for author, _series, tracks in signals.playlists:
        if author == me:
            seen.update(tracks)
    return seen


def _tracks_by_artist(tracks: Mapping[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for track in sorted(tracks):
        out[tracks[track]].append(track)
    return out


def _cells(signals: Signals) -> dict[str, dict[str, float]]:
    """Row key → {track → confidence} for everyone but the listener (whose row is ``listener_row``)."""
    me = signals.listener
    rows: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_artist = _tracks_by_artist(signals.tracks)
    for author, track in signals.likes:
        if author != me:
            rows[author][track] += WEIGHTS["like"]
    for author, series, tracks in signals.playlists:
        unique = set(tracks)
        key = f"{PLAYLIST_ROW}{author}\x00{series}"
        for track in unique:
            rows[key][track] += WEIGHTS["playlist"]
            if author != me:
                rows[author][track] += WEIGHTS["playlist"]
    for follower, artist in signals.follows:
        if follower != me:
            for track in by_artist.get(artist, ())[:MAX_FOLLOW_TRACKS]:
                rows[follower][track] += WEIGHTS["follow"]
    return rows


def fit(signals: Signals, *, trust: Trust = None, params: Params = Params()) -> Model:
    """Fit the model on ``signals`` (module doc); deterministic for given inputs and ``params``.
    ``trust`` scales each identity's rows (``trust_weights``)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    weight = trust_weights(trust, signals.listener)
    cells = _cells(signals)
    cells[signals.listener] = listener_row(signals)
    keys = sorted(cells)
    item_set = set(signals.tracks)
    for row in cells.values():
        item_set.update(row)
    items = sorted(item_set)
    item_index = {t: i for i, t in enumerate(items)}
    owners = [k.split("\x00")[1] if k.startswith(PLAYLIST_ROW) else k for k in keys]
    trusted = 0 if trust is None else sum(1 for o in set(owners) if o != signals.listener and weight(o) > 0)
    # no trust given, or no signal owner trusted yet (a new listener): every signal counts whole
    floor = 1.0 if trusted == 0 else 0.0 if trusted >= MIN_TRUSTED else USER_TRUST_FLOOR
    indptr, indices, data = [0], list[int](), list[float]()
    for key, owner in zip(keys, owners, strict=True):
        w = max(floor, weight(owner))
        row = cells[key]
        cols = sorted(item_index[t] for t in row)
        indices.extend(cols)
        data.extend(min(MAX_CONFIDENCE, row[items[c]]) * w for c in cols)
        indptr.append(len(indices))
    matrix = sp.csr_matrix((np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32),
                            np.asarray(indptr, dtype=np.int64)), shape=(len(keys), len(items)))
    matrix.eliminate_zeros()
    artists = sorted(set(signals.tracks.values()))
    artist_index = {a: i for i, a in enumerate(artists)}
    artist_of = np.asarray([artist_index.get(signals.tracks.get(t, ""), -1) for t in items], dtype=np.int64)
    known = np.asarray([t in signals.tracks for t in items], dtype=bool)
    # no more factors than there are rows or columns
    factors = max(1, min(params.factors, len(items), len(keys)))
    with threadpool_limits(1, "blas"):  # implicit's own threads; BLAS threads would fight them
        solver = AlternatingLeastSquares(factors=factors, regularization=params.regularization, alpha=params.alpha,
                                         iterations=params.iterations, random_state=params.seed,
                                         num_threads=params.threads, calculate_training_loss=False)
        if matrix.nnz:
            solver.fit(matrix, show_progress=False)
            solver.num_threads = 1  # queries solve one row: threads would only add their start-up
            item_f = np.asarray(solver.item_factors, dtype=np.float32)
            user_f = np.asarray(solver.user_factors, dtype=np.float32)
        else:
            item_f = np.zeros((len(items), factors), dtype=np.float32)
            user_f = np.zeros((len(keys), factors), dtype=np.float32)
            solver = None
    norms = np.linalg.norm(item_f, axis=1, keepdims=True)
    unit = np.divide(item_f, norms, out=np.zeros_like(item_f), where=norms > 0)
    users = {k: i for i, k in enumerate(keys)}
    liked = sorted({(item_index[t], users[a]) for a, t in signals.likes if a in users and t in item_index})
    likers = sp.csr_matrix((np.ones(len(liked), dtype=np.float32), ([c for c, _ in liked], [r for _, r in liked])),
                           shape=(len(items), len(keys)))
    return Model(users, owners,
                 np.asarray([not k.startswith(PLAYLIST_ROW) for k in keys], dtype=bool), items, item_index,
                 artist_of, artists, artist_index, known, matrix, item_f, unit, user_f, solver, params, int(matrix.nnz),
                 likers)


def item_multipliers(model: Model, trust: Trust, listener: str) -> FloatArray:
    """Per item: ``ITEM_TRUST_FLOOR + (1 - floor) × artist's trust weight``; all 1 without ``trust``."""
    if trust is None or not model.items:
        return np.ones(len(model.items), dtype=np.float32)
    weight = trust_weights(trust, listener)
    by_artist = np.asarray([ITEM_TRUST_FLOOR + (1 - ITEM_TRUST_FLOOR) * weight(a) for a in model.artists] + [1.0],
                           dtype=np.float32)
    out: FloatArray = by_artist[model.artist_of]  # -1 (unknown artist) takes the trailing 1.0: never recommended anyway
    return out


def _blocked(model: Model, hidden: Collection[str], exclude: Iterable[str], listener: str) -> np.ndarray[Any, Any]:
    """Columns that may not be recommended: unknown records, ``hidden`` tracks or artists,
    ``exclude``d tracks, the listener's own tracks."""
    blocked = ~model.known
    for track in exclude:
        if (i := model.item_index.get(track)) is not None:
            blocked[i] = True
    bad_artists = [i for a in (*hidden, listener) if (i := model.artist_index.get(a)) is not None]
    if bad_artists:
        blocked |= np.isin(model.artist_of, np.asarray(bad_artists, dtype=np.int64))
    for track in hidden:
        if (i := model.item_index.get(track)) is not None:
            blocked[i] = True
    return blocked


def _top(scores: FloatArray, blocked: np.ndarray[Any, Any], limit: int) -> list[int]:
    """The columns of the ``limit`` highest finite positive scores not ``blocked``, best first
    (ties: lower column first)."""
    s = np.where(blocked, -np.inf, scores)
    k = min(limit, len(s))
    if k <= 0:
        return []
    top = np.argpartition(-s, k - 1)[:k] if k < len(s) else np.arange(len(s))
    top = top[np.lexsort((top, -s[top]))]
    return [int(i) for i in top if np.isfinite(s[i]) and s[i] > 0]


Keep = Callable[[str, str], bool]  #: ``keep(track, artist)``: ``False`` leaves it out (the quality gate hides it)


def _pick(model: Model, scores: FloatArray, blocked: np.ndarray[Any, Any], limit: int, keep: Keep | None) -> list[int]:
    """``_top`` of what ``keep`` keeps: asks ``_top`` for more (doubling) while ``keep`` drops some."""
    if keep is None:
        return _top(scores, blocked, limit)
    want = limit * 2 + 10
    while True:
        top = _top(scores, blocked, want)
        kept = [c for c in top if keep(model.items[c], _artist(model, c))]
        if len(kept) >= limit or len(top) < want:
            return kept[:limit]
        want *= 4


def _artist(model: Model, column: int) -> str:
    a = int(model.artist_of[column])
    return model.artists[a] if a >= 0 else ""


def popular(model: Model, *, limit: int = 20, trust: Trust = None, listener: str = "",
            hidden: Collection[str] = (), exclude: Iterable[str] = (), keep: Keep | None = None
            ) -> list[Recommendation]:
    """Trust-weighted popularity (module doc): each person's vote for a track (their row's
    cell, however strong) counts their trust over the highest voter's (``TrustWeights.share``:
    linear, so a Sybil crowd's votes sum to no more than the trust that reached it; an identity
    outside the web of trust counts 0), times the track's artist multiplier.  Only where no
    voter has any trust (no ``trust``, or a new listener's cold start) does every vote count
    1: reason ``popular``, else ``trusted``.  The listener's own row does not vote.  Left out:
    ``hidden`` tracks and artists (ids), ``exclude``d tracks, the listener's own, what ``keep``
    refuses."""
    if model.empty:
        return []
    weights = trust_weights(trust, listener)
    share = weights.share if isinstance(weights, TrustWeights) else weights
    voters = np.asarray([share(o) if person and o != listener else 0.0
                         for o, person in zip(model.owners, model.is_person, strict=True)], dtype=np.float32)
    kind = "trusted" if trust is not None else "popular"
    if trust is not None and not np.any(voters > 0):  # a new listener trusts no voter yet: plain popularity
        trust, kind = None, "popular"
        voters = np.asarray([1.0 if person and o != listener else 0.0
                             for o, person in zip(model.owners, model.is_person, strict=True)], dtype=np.float32)
    votes = model.votes()
    scores = np.asarray(votes @ voters, dtype=np.float32).ravel() * item_multipliers(model, trust, listener)
    limit = max(1, min(MAX_LIMIT, limit))
    counted = voters > 0
    return [_rec(model, i, float(scores[i]), Reason(kind, None, int(counted[row_of(votes, i)].sum())))
            for i in _pick(model, scores, _blocked(model, hidden, exclude, listener), limit, keep)]


def _rec(model: Model, column: int, score: float, why: Reason) -> Recommendation:
    return Recommendation(model.items[column], _artist(model, column), round(score, 6), why)


@dataclass(frozen=True)
class Answer:
    """``recommend``'s answer: the ``tracks`` and whether it fell back to popularity."""

    tracks: list[Recommendation]
    cold_start: bool


def recommend(model: Model, user: str, *, limit: int = 20, row: Mapping[str, float] | None = None,
              seen: Collection[str] | None = None, trust: Trust = None,
              hidden: Collection[str] = (), audio: AudioVectors | None = None,
              followed: Collection[str] = (), keep: Keep | None = None) -> Answer:
    """Recommendations for ``user`` (the listener, or any row key of the model).

    ``row``: the user's current cells (``listener_row``; solved again now), else the fitted
    row.  Left out: ``seen`` (``listener_seen``; default: every track of the row), the user's
    own tracks, ``hidden`` tracks and artists, unknown records, what ``keep`` refuses.
    ``audio``: blend in "sounds like" the row's strongest tracks (``AUDIO_BLEND``).
    ``followed``: artists whose tracks may say "by an artist you follow".  An empty row (or
    an empty model) gives ``popular`` with ``cold_start``."""
    limit = max(1, min(MAX_LIMIT, limit))
    cells = _user_cells(model, user, row)
    if model.empty or model.solver is None or not cells:
        return Answer(popular(model, limit=limit, trust=trust, listener=user, hidden=hidden,
                              exclude=cells if seen is None else seen, keep=keep), True)
    cols = np.asarray(sorted(model.item_index[t] for t in cells), dtype=np.int32)
    vals = np.asarray([cells[model.items[c]] for c in cols], dtype=np.float32)
    user_row = sp.csr_matrix((vals, cols, np.asarray([0, len(cols)])), shape=(1, len(model.items)))
    if row is None and user in model.users:
        vector = model.user_factors[model.users[user]]
    else:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            vector = np.asarray(model.solver.recalculate_user(0, user_row), dtype=np.float32)
    scores = (model.item_factors @ vector).astype(np.float32)
    blocked = _blocked(model, hidden, cells if seen is None else seen, user)
    seeds = cols[np.argsort(-vals, kind="stable")][:200]  # the strongest signals explain a result
    sound = np.zeros(len(model.items), dtype=np.float32)
    sound_seed = np.zeros(len(model.items), dtype=np.int64)
    if audio is not None and len(audio.ids):
        sound, sound_seed = _sounds_like(model, audio, seeds)
        top = float(scores[~blocked].max(initial=0.0))
        scores = scores / (top if top > 0 else 1.0) * (1 - AUDIO_BLEND)
        sound = sound * AUDIO_BLEND
    parts = scores  # the listeners' part, for the reasons
    scores = (scores + sound) * item_multipliers(model, trust, user)
    followed_ix = {i for a in followed if (i := model.artist_index.get(a)) is not None}
    picked = _pick(model, scores, blocked, limit, keep)
    explain = Why(model, user, seeds, None if trust is None else trust_weights(trust, user)) if picked else None
    out = []
    for col in picked:
        if sound[col] > 0 and sound[col] >= parts[col]:
            why = Reason("sounds", model.items[int(sound_seed[col])])
        elif int(model.artist_of[col]) in followed_ix:
            why = Reason("follow")
        else:
            assert explain is not None
            why = explain(col)
        out.append(_rec(model, col, float(scores[col]), why))
    return Answer(out, False)


def _user_cells(model: Model, user: str, row: Mapping[str, float] | None) -> dict[str, float]:
    """The user's cells on columns of the model (tracks new since the fit are not in it)."""
    if row is not None:
        return {t: float(v) for t, v in row.items() if v > 0 and t in model.item_index}
    r = model.users.get(user)
    if r is None:
        return {}
    start, end = model.matrix.indptr[r], model.matrix.indptr[r + 1]
    return {model.items[int(c)]: float(v) for c, v in zip(model.matrix.indices[start:end],
                                                           model.matrix.data[start:end], strict=True) if v > 0}


def _sounds_like(model: Model, audio: AudioVectors, seeds: np.ndarray[Any, Any]
                 ) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.int64]]]:
    """Per column: the best cosine (≥ 0) of its vector with one of the first ``AUDIO_SEEDS``
    seeds that have a vector, and that seed's column."""
    n = len(model.items)
    sound, seed_of = np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.int64)
    where = audio.index()
    with_vector = [int(s) for s in seeds if model.items[int(s)] in where][:AUDIO_SEEDS]
    if not with_vector:
        return sound, seed_of
    sims = audio.matrix @ audio.matrix[[where[model.items[s]] for s in with_vector]].T  # (vectors, seeds)
    best = sims.argmax(axis=1)
    best_sim = sims[np.arange(len(best)), best]
    cols = audio.columns(model)
    ok = (cols >= 0) & (best_sim > 0)
    sound[cols[ok]] = best_sim[ok]
    seed_of[cols[ok]] = np.asarray(with_vector, dtype=np.int64)[best[ok]]
    return sound, seed_of


def more_like_this(model: Model, track: str, *, limit: int = 10, listener: str = "",
                   trust: Trust = None, hidden: Collection[str] = (),
                   audio: AudioVectors | None = None, keep: Keep | None = None) -> list[Recommendation]:
    """Tracks like ``track``: cosine of ALS item factors (people who like it like them) and
    audio cosine (``audio``), ``SIMILAR_BLEND`` of each when both exist for the track, either
    alone otherwise; times the artist multiplier.  Unlike ``recommend``, the listener's own
    tracks are not left out.  Empty when neither knows ``track``."""
    limit = max(1, min(MAX_LIMIT, limit))
    n = len(model.items)
    cf = np.zeros(n, dtype=np.float32)
    col = model.item_index.get(track)
    has_cf = col is not None and model.solver is not None and bool(np.any(model.unit_factors[col]))
    if has_cf:
        assert col is not None
        cf = np.clip(model.unit_factors @ model.unit_factors[col], 0, None)
    sound = np.zeros(n, dtype=np.float32)
    has_sound = False
    if audio is not None and track in (where := audio.index()):
        sims = audio.matrix @ audio.matrix[where[track]]
        cols = audio.columns(model)
        ok = (cols >= 0) & (sims > 0)
        sound[cols[ok]] = sims[ok]
        has_sound = True
    if not has_cf and not has_sound:
        return []
    share = SIMILAR_BLEND if has_cf and has_sound else (1.0 if has_sound else 0.0)
    scores = ((1 - share) * cf + share * sound) * item_multipliers(model, trust, listener)
    blocked = _blocked(model, hidden, (track,), "")  # the listener's own tracks may be alike too
    out = []
    for c in _pick(model, scores, blocked, limit, keep):
        if share * sound[c] >= (1 - share) * cf[c]:
            why = Reason("sounds", track)
        else:
            both = co_likers(model, track, c)
            why = Reason("listeners", track, both) if both else Reason("near", track)
        out.append(_rec(model, c, float(scores[c]), why))
    return out


def precision_at_k(recommended: Sequence[str], held_out: Collection[str], k: int = 10) -> float:
    """Share of the first ``k`` recommended tracks that are in ``held_out`` (offline evaluation)."""
    return sum(1 for t in recommended[:k] if t in held_out) / k if k > 0 else 0.0
