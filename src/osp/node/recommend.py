"""Recommendations on the node (issue 11): the signals read out of the library, the model
refit in the background, and the answers of ``GET /api/recommend``,
``GET /api/tracks/{id}/more-like-this`` and ``osp recommend``.

* ``gather``: the ``osp.social.recommend.Signals`` the library holds — likes, follows and the
  newest version of every published playlist (``osp.library.social``), the local follows
  table, every known track's artist (``osp.library.signals``) and the listener's local plays
  (``osp.library.plays``: private, never published).
* ``RecommendService``: one background thread (``osp-recommend``, started with the engine or
  at the first query) looks at the signal tables' stamp every ``check_interval`` seconds (and
  when poked: a play, a like …) and refits when ``refit_due`` says so — at most once per
  ``REFIT_MIN_INTERVAL`` or ``REFIT_DUTY`` times the last fit's duration: never on the
  request path.  Queries use the last fitted model; the
  listener's own row is read afresh at each query (their plays count at once).  Before the
  first fit a query answers what it can (audio similarity for "more like this", nothing for
  "for you") with ``"model": null`` and starts the thread.
* Trust: ``trust_source`` (set by the web of trust's service when it exists) returns
  ``(scores by did, keep(track, artist))``; scores weight items by their artist's trust
  (and, at the next fit, each identity's signals), ``keep`` is the quality gate (what it
  hides is never recommended).  ``None``: no trust.  Return the same mapping object while
  the trust result is unchanged: its ``TrustWeights`` are then reused.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from osp.core.errors import NotFoundError, OspError
from osp.library.plays import Play, Plays
from osp.library.signals import changes, stamp, track_artists
from osp.library.social import SocialRecords
from osp.records.canonical import strict_loads
from osp.social.recommend import (
    AudioVectors,
    Keep,
    Model,
    Params,
    Recommendation,
    Signals,
    TrustWeights,
    fit,
    listener_row,
    listener_seen,
    more_like_this,
    recommend,
)

if TYPE_CHECKING:
    from osp.node.core import Node

log = logging.getLogger(__name__)

CHECK_INTERVAL = 30.0  #: seconds between looks at the signal tables
REFIT_CHANGES = 20  #: rows changed since the last fit that call for a refit …
REFIT_SHARE = 0.02  #: … or this share of all signal rows, whichever is smaller
REFIT_MIN_INTERVAL = 5.0  #: seconds at least between two fits (a burst of plays refits once) …
REFIT_DUTY = 10.0  #: … and at least this many times the last fit's duration (refits take ≤ 10 % of a core)
MAX_PLAYLISTS = 50_000  #: published playlists read for one fit
MAX_EDGES = 2_000_000  #: likes and follows read for one fit (bounds its memory)
DEFAULT_LIMIT = 20
FIRST_FIT_WAIT = 3.0  #: seconds a request waits for the very first fit (the background thread's) at most
NO_DID = "did:key:listener"  #: the listener's row key while the node has no identity yet

TrustSource = Callable[[], tuple[Mapping[str, float] | None, Keep | None] | None]


_blas_once = threading.Lock()
_blas_limited: list[bool] = []  #: ``[True]`` once ``limit_blas_threads`` ran in this process


def limit_blas_threads() -> None:
    """One BLAS thread for the rest of this process, set once, before the first fit.

    ``fit`` and queries scope ``threadpool_limits(1, "blas")`` around implicit's calls, but a
    scoped limit restores what it found on exit: with a fit and a query in two threads, one
    can restore the machine's thread count while the other is inside, and implicit's
    constructor then warns "OpenBLAS is configured to use N threads" on the node's terminal.
    With the process limit set first there is nothing else to restore (implicit runs its own
    threads; the node's other BLAS work, audio similarity, is small)."""
    with _blas_once:
        if not _blas_limited:
            import implicit.cpu.als  # noqa: F401  (loads every BLAS it uses: a limit binds loaded libraries only)
            from threadpoolctl import threadpool_limits

            threadpool_limits(1, "blas")  # kept: not a context
            _blas_limited.append(True)


def gate_source(view: Callable[[], Any], gate: Callable[[], Any], judge: Callable[..., Any]) -> TrustSource:
    """A ``trust_source`` over the web of trust's service (``osp.node.trust``): ``view()`` gives
    its last ``TrustScores`` (``ids``, ``effective``; ``None`` before the first computation),
    ``gate()`` the quality gate settings, ``judge(scores, gate, author=, subjects=)`` (from
    ``osp.social.gate``) a reason to hide or ``None``.  The scores become one ``{did: score}``
    dict per ``TrustScores`` object (so ``TrustWeights`` are built once per computation); a
    track is kept when ``judge`` finds nothing against it or its artist.  Wire it with
    ``node.recommend.trust_source = gate_source(node.trust.view, node.trust.gate, judge)``."""
    last: list[tuple[object, dict[str, float]]] = []

    def source() -> tuple[Mapping[str, float] | None, Keep | None] | None:
        scores = view()
        if scores is None:
            return None
        if not last or last[0][0] is not scores:
            last[:] = [(scores, dict(zip(scores.ids, (float(v) for v in scores.effective), strict=True)))]
        settings = gate()

        def keep(track: str, artist: str) -> bool:
            return judge(scores, settings, author=artist or None, subjects=[track]) is None

        return last[0][1], keep

    return source


STILL_FITTING = "This node is still learning from what it knows: try again in a moment."


def empty_message(model: Model, cold_start: bool) -> str:
    """What an empty "for you" answer says to do (``recommend``'s ``message``)."""
    if model.empty or not bool(model.known.any()):
        return "No track is known here yet: follow an artist to learn of their tracks."
    if cold_start:
        return "Nothing to recommend yet: like or play a few tracks, or follow an artist."
    return ("Nothing new to recommend: you have played, liked or published every track known here. "
            "Follow more artists to learn of more.")


def refit_due(changed: int, total: int, since_fit: float | None, *, min_interval: float = REFIT_MIN_INTERVAL) -> bool:
    """Whether to fit again: never fitted (``since_fit`` ``None``), or ``changed`` rows since
    the last fit reach ``REFIT_CHANGES`` or ``REFIT_SHARE`` of ``total`` (at least one), and
    ``min_interval`` seconds have passed since it."""
    if since_fit is None:
        return True
    if changed <= 0 or since_fit < min_interval:
        return False
    return changed >= min(REFIT_CHANGES, max(1, int(total * REFIT_SHARE)))


def listener_did(node: Node) -> str:
    """The node's own did (from the library's meta, written when the key was first loaded)."""
    did = node.library.meta("did")
    if did:
        return did
    try:
        return node.signing_key().did
    except OspError:  # no identity yet (or a locked one): plays still count
        return NO_DID


def gather(node: Node, listener: str | None = None) -> Signals:
    """Every signal the library holds (module doc), at most ``MAX_EDGES`` likes and follows
    and ``MAX_PLAYLISTS`` playlists (the records' own per-author caps come first)."""
    me = listener or listener_did(node)
    social = SocialRecords(node.library)
    likes: list[tuple[str, str]] = []
    follows: list[tuple[str, str]] = [(me, f.did) for f in node.library.follows()]
    for n, (author, kind, subject, _created) in enumerate(social.edges(["like", "follow"])):
        if n >= MAX_EDGES:
            log.warning("recommendations read the first %d likes and follows only", MAX_EDGES)
            break
        (likes if kind == "like" else follows).append((author, subject))
    playlists = [(r.author, r.playlist or r.id, _tracks(r.record)) for r in social.playlists(limit=MAX_PLAYLISTS)]
    return Signals(me, likes, playlists, follows, Plays(node.library).totals(), track_artists(node.library))


def listener_signals(node: Node, listener: str, plays: Mapping[str, float] | None = None) -> Signals:
    """Only the listener's own signals (read at each query: cheap); ``plays``: their totals
    when the caller has them already."""
    social = SocialRecords(node.library)
    likes, follows, playlists = [], [(listener, f.did) for f in node.library.follows()], []
    for r in social.by_author(listener, ["like", "follow", "playlist"]):
        if r.kind == "like" and r.subject:
            likes.append((listener, r.subject))
        elif r.kind == "follow" and r.subject:
            follows.append((listener, r.subject))
        elif r.kind == "playlist":
            playlists.append((listener, r.playlist or r.id, _tracks(r.record)))
    return Signals(listener, likes, playlists, follows, Plays(node.library).totals() if plays is None else plays)


def _tracks(record: Mapping[str, Any]) -> tuple[str, ...]:
    tracks = record.get("tracks")
    return tuple(t for t in tracks if isinstance(t, str)) if isinstance(tracks, list) else ()


class RecommendService:
    """The fitted model and its background refits (module doc).  Thread-safe."""

    def __init__(self, node: Node, *, params: Params | None = None, check_interval: float = CHECK_INTERVAL,
                 min_interval: float = REFIT_MIN_INTERVAL) -> None:
        self.node = node
        self.params = params or Params()
        self.check_interval = check_interval
        self.min_interval = min_interval
        self.duty = REFIT_DUTY
        #: ``() -> (trust by did, keep) | None``: the web of trust's scores and quality gate, when it runs
        self.trust_source: TrustSource | None = None
        self._model: Model | None = None
        self._tracks: dict[str, str] = {}  #: track → artist at the last fit
        self._stamp: tuple[int, ...] | None = None
        self._fitted_at: float | None = None  #: ``time.monotonic()`` of the last fit
        self._fit_seconds = 0.0
        self._lock = threading.Lock()  #: one fit at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._fitted = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._weights: tuple[object, TrustWeights] | None = None  #: the last trust mapping and its weights
        self._plays: tuple[tuple[int, int], dict[str, float]] | None = None  #: ``Plays.stamp()`` and its totals
        self._vectors: AudioVectors | None = None

    # -- background -----------------------------------------------------------------

    def start(self) -> None:
        """Start the refit thread (once); it fits at once if there was never a fit."""
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._loop, name="osp-recommend", daemon=True)
                self._thread.start()

    def poke(self) -> None:
        """Signals changed (a play, a like, records received): look now whether to refit."""
        self.start()
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread (a fit in progress finishes first)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.refit(force=False)
                failing = False
            except Exception as exc:  # a bug must not end the thread, nor fill the log: once until a fit works again
                if not failing and not self._stop.is_set():  # (closing: the library may be gone)
                    # one line on the node's terminal (e.g. out of file descriptors); the traceback at debug level
                    log.warning("recommendation refit failed: %s: %s (tried again every %g s)", type(exc).__name__,
                                str(exc)[:200], self.check_interval)
                    log.debug("recommendation refit failure", exc_info=True)
                failing = True
            self._wake.wait(self.check_interval)
            self._wake.clear()

    def refit(self, *, force: bool = True) -> bool:
        """Fit now if ``force`` or ``refit_due``; ``True`` if it fitted.  Runs in the caller's
        thread (the background thread, ``osp recommend`` without a running node, tests)."""
        with self._lock:
            now_stamp = stamp(self.node.library)
            since = None if self._fitted_at is None else time.monotonic() - self._fitted_at
            gap = max(self.min_interval, self.duty * self._fit_seconds)
            if not force and not refit_due(changes(self._stamp, now_stamp), sum(now_stamp[0::2]), since,
                                           min_interval=gap):
                return False
            started = time.monotonic()
            signals = gather(self.node)
            trust, _keep = self._trust()
            limit_blas_threads()
            model = fit(signals, trust=trust, params=self.params)
            self._model, self._tracks, self._stamp = model, dict(signals.tracks), now_stamp
            self._fitted_at = time.monotonic()
            self._fit_seconds = self._fitted_at - started
        with self._fitted:
            self._fitted.notify_all()
        log.info("recommendations fitted: %d rows, %d tracks, %d signals in %.2f s", len(model.users),
                 len(model.items), model.interactions, self._fit_seconds)
        return True

    def wait_fitted(self, timeout: float) -> bool:
        """Block until a model exists (``True``) or ``timeout`` seconds pass."""
        self.start()
        with self._fitted:
            return self._fitted.wait_for(lambda: self._model is not None, timeout)

    def _trust(self) -> tuple[TrustWeights | None, Keep | None]:
        source = self.trust_source
        got = source() if source is not None else None
        if got is None:
            return None, None
        scores, keep = got
        if scores is None:
            return None, keep
        cached = self._weights
        if cached is not None and cached[0] is scores:  # the same trust result: its highest score is known
            return cached[1], keep
        weights = TrustWeights(scores, listener_did(self.node))
        self._weights = (scores, weights)
        return weights, keep

    def model_info(self) -> dict[str, Any] | None:
        """``{"listeners", "tracks", "signals", "fitSeconds"}`` of the fitted model, or ``None``."""
        model = self._model
        if model is None:
            return None
        return {"listeners": int(model.is_person.sum()), "tracks": len(model.items), "signals": model.interactions,
                "fitSeconds": round(self._fit_seconds, 3)}

    # -- queries ------------------------------------------------------------------------

    def play(self, track: object, seconds: object) -> Play:
        """Store one local play (``Plays.add``: ``CallerError`` on bad input) and poke."""
        played = Plays(self.node.library).add(track, seconds, self.node.clock())
        self.poke()
        return played

    def recommend(self, limit: int = DEFAULT_LIMIT, *, wait: float = 0.0) -> dict[str, Any]:
        """``GET /api/recommend``: ``{"tracks": [entry…], "coldStart": bool, "model": info | null,
        "message": str | null}`` with each entry ``{"id", "title", "artist", "artistName", "score",
        "why"}`` (``why``: ``osp.social.recommend.Reason.text``, a sentence counted from the
        signals; ``artistName`` as ``_entries``); ``message`` says what to do when ``tracks`` is
        empty (``empty_message``), else ``null``.  Before the first fit it waits at most
        ``wait`` seconds for the background thread's, then answers with no tracks and
        ``"model": null``."""
        model = self._model
        if model is None and wait > 0 and self.wait_fitted(wait):
            model = self._model
        if model is None:
            self.start()
            return {"tracks": [], "coldStart": True, "model": None, "message": STILL_FITTING}
        me = listener_did(self.node)
        own = listener_signals(self.node, me, self._play_totals())
        trust, keep = self._trust()
        mine = Signals(me, own.likes, own.playlists, own.follows, own.plays, self._tracks)
        answer = recommend(model, me, limit=limit, row=listener_row(mine), seen=listener_seen(mine), trust=trust,
                           keep=keep, audio=self._audio(), followed={a for _f, a in own.follows})
        tracks = self._entries(answer.tracks)
        return {"tracks": tracks, "coldStart": answer.cold_start, "model": self.model_info(),
                "message": None if tracks else empty_message(model, answer.cold_start)}

    def _play_totals(self) -> dict[str, float]:
        """The listener's seconds per track, summed again only when a play was added or cleared."""
        plays = Plays(self.node.library)
        now = plays.stamp()
        cached = self._plays
        if cached is None or cached[0] != now:
            cached = self._plays = (now, plays.totals())
        return cached[1]

    def more_like_this(self, track_id: str, limit: int = 10, *, wait: float = 0.0) -> dict[str, Any]:
        """``GET /api/tracks/{id}/more-like-this``: ``{"id", "tracks": [entry…], "model"}``
        (entries as ``recommend``'s; ``wait`` as there); ``NotFoundError`` if the track is not
        known here."""
        if self.node.library.track(track_id) is None and self.node.library.known_record(track_id) is None:
            if self._model is None or track_id not in self._model.item_index:
                raise NotFoundError(f"no track {track_id[:80]} known here")
        if self._model is None and wait > 0:
            self.wait_fitted(wait)
        model = self._model
        if model is None:
            self.start()
            return {"id": track_id, "tracks": self._audio_only(track_id, limit), "model": None}
        trust, keep = self._trust()
        found = more_like_this(model, track_id, limit=limit, listener=listener_did(self.node), trust=trust,
                               audio=self._audio(), keep=keep)
        return {"id": track_id, "tracks": self._entries(found), "model": self.model_info()}

    def _audio(self) -> AudioVectors | None:
        """The "sounds like" vectors, one ``AudioVectors`` while the index's matrix is the same
        (its id → row and id → column maps are then built once)."""
        ids, matrix = self.node.similar.vectors()
        if not ids:
            return None
        cached = self._vectors
        if cached is None or cached.ids is not ids or cached.matrix is not matrix:
            cached = self._vectors = AudioVectors(ids, matrix)
        return cached

    def _audio_only(self, track_id: str, limit: int) -> list[dict[str, Any]]:
        """Before the first fit: "sounds like" alone (``SimilarIndex``)."""
        from osp.social.recommend import Reason

        try:
            found = self.node.similar.similar(track_id, limit)
        except NotFoundError:
            return []
        recs = [Recommendation(t, "", score, Reason("sounds", track_id)) for t, score in found]
        return self._entries(recs)

    def _entries(self, recs: list[Recommendation]) -> list[dict[str, Any]]:
        """The answer entries of ``recs`` whose record is known here; ``artistName`` from the
        track's record, else the artist's newest verified Track Record that has one
        (``osp.library.names``), else ``None``."""
        from osp.library.names import artist_names  # here: the imports above are being made lazy elsewhere

        out = []
        titles: dict[str, str] = {}
        entries = []

        def title(track: str) -> str:
            if track not in titles:
                titles[track] = str(self._record(track).get("title") or track)
            return titles[track]

        for r in recs:
            record = self._record(r.track)
            if record:
                entries.append((r, record))
        unnamed = [str(record.get("artist") or r.artist) for r, record in entries
                   if not isinstance(record.get("artistName"), str)]
        names = artist_names(self.node.library, unnamed) if unnamed else {}
        for r, record in entries:
            artist = str(record.get("artist") or r.artist)
            name = record.get("artistName")
            out.append({"id": r.track, "title": record.get("title"), "artist": artist,
                        "artistName": name if isinstance(name, str) else names.get(artist),
                        "score": round(r.score, 4), "why": r.why.text(title)})
        return out

    def _record(self, track: str) -> dict[str, Any]:
        """The track's verified record as JSON (library first, then known records); ``{}`` if neither."""
        row = self.node.library.track(track)
        data = row.record if row is not None else None
        if data is None:
            known = self.node.library.known_record(track)
            data = known.record if known is not None else None
        if data is None:
            return {}
        try:
            record = strict_loads(data)
        except (OspError, ValueError, json.JSONDecodeError):
            return {}
        return record if isinstance(record, dict) else {}
