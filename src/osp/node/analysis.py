"""Audio analysis on the node (issue 10): the background step that analyses every track,
"more like this", and search filtered by BPM and key.

* ``AnalysisStep`` (a ``TrackStep``, ``osp.node.trackjobs``): each library track with no
  ``analysis`` row, or a row by an older analyser, is measured (``osp.provenance.analysis``)
  and the result — or the failure, as text — stored (``osp.library.analysis``); a failure
  is not tried again by this analyser version.
* ``SimilarIndex``: cosine similarity of one track's vector with every stored one, brute
  force with numpy over a matrix kept in memory and rebuilt when the table changes.
* ``filtered_search``: ``osp.node.search.search`` with an ``AudioFilter``.  Only tracks
  analysed here can be filtered: other results (network results never fetched) are left
  out and counted (``notAnalysed`` in the summary).  With no words, artist or tag, only the
  library is searched (the DHT indexes words, not tempo or key).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from osp.core.errors import NotFoundError, OspError
from osp.discovery.search import LOCAL, MAX_LIMIT, Query, Result
from osp.library.analysis import Analyses, AnalysisRow
from osp.library.store import TrackRow
from osp.provenance.analysis import ANALYSER_VERSION, VECTOR_DIM
from osp.provenance.analysis_worker import IsolatedAnalyser
from osp.provenance.audio_query import AudioFilter

if TYPE_CHECKING:
    from osp.node.core import Node

log = logging.getLogger(__name__)

MAX_SIMILAR = 100  #: most tracks "more like this" returns
MAX_ERROR = 300  #: characters of a failure kept
FILTER_WIDENING = 5  #: a filtered search asks the unfiltered one for this many times its limit (≥ 100)


class AnalysisStep:
    """Analyses every library track once per analyser version (module doc)."""

    name = "analysis"

    def __init__(self, analyser: Callable[[Path], Any] | None = None, version: str = ANALYSER_VERSION) -> None:
        """``analyser``: ``(path) -> Analysis`` (default: an ``IsolatedAnalyser``, started at
        the first track)."""
        self.analyser = analyser if analyser is not None else IsolatedAnalyser()
        self.version = version
        self._warned = False

    def close(self) -> None:
        """End the worker process, if the analyser has one."""
        close = getattr(self.analyser, "close", None)
        if callable(close):
            close()

    def pending(self, node: Node, limit: int) -> list[TrackRow]:
        if shutil.which("ffmpeg") is None:  # nothing is stored: the tracks wait until it is installed
            if not self._warned:
                log.warning("ffmpeg is not installed: no audio analysis until it is")
                self._warned = True
            return []
        return Analyses(node.library).pending(self.version, limit)

    def run(self, node: Node, track: TrackRow, path: Path | None) -> None:
        now = node.clock()
        if path is None:
            row = _failure(track.id, "the file is not on this node", self.version, now)
        else:
            try:
                a = self.analyser(path)
            except OspError as exc:
                row = _failure(track.id, exc.message, self.version, now)
            except Exception as exc:  # a decoder or library bug on one file: stored, not retried in a loop
                log.warning("analysis of %s failed: %r", track.id, exc)
                row = _failure(track.id, f"analysis failed ({type(exc).__name__})", self.version, now)
            else:
                row = AnalysisRow(track.id, a.bpm, a.key, a.mode, a.key_confidence, a.loudness, a.true_peak,
                                  a.duration, a.vector, a.version, now)
        Analyses(node.library).put(row)


def _failure(track_id: str, error: str, version: str, now: float) -> AnalysisRow:
    return AnalysisRow(track_id, None, None, None, None, None, None, None, None, version, now, error[:MAX_ERROR])


class SimilarIndex:
    """The stored vectors as one ``(n, VECTOR_DIM)`` float32 matrix, rebuilt when the
    ``analysis`` table changes (``Analyses.stamp``, looked at only after a write to the
    library: ``Analyses.writes``); thread-safe."""

    def __init__(self, analyses: Analyses, version: str = ANALYSER_VERSION) -> None:
        self.analyses = analyses
        self.version = version
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._writes = -1
        self._ids: list[str] = []
        self._matrix = np.zeros((0, VECTOR_DIM), dtype=np.float32)

    def _load(self) -> tuple[list[str], np.ndarray[Any, np.dtype[np.float32]]]:
        with self._lock:
            writes = self.analyses.writes()
            if writes == self._writes:  # nothing written since the last look: no query at all
                return self._ids, self._matrix
            self._writes = writes
            stamp = self.analyses.stamp()
            if stamp != self._stamp:
                ids, blob = self.analyses.vectors(self.version)
                matrix = np.frombuffer(blob, dtype="<f4").astype(np.float32)
                if matrix.size != len(ids) * VECTOR_DIM:  # a row from a broken writer: rebuild without it
                    ids, matrix = [], np.zeros((0, VECTOR_DIM), dtype=np.float32)
                self._ids, self._matrix, self._stamp = ids, matrix.reshape(-1, VECTOR_DIM), stamp
            return self._ids, self._matrix

    def vectors(self) -> tuple[list[str], np.ndarray[Any, np.dtype[np.float32]]]:
        """Every stored vector of this analyser: ``(track ids, (n, VECTOR_DIM) matrix)``, rows
        in the order of the ids (the cached matrix: do not change it)."""
        return self._load()

    def similar(self, track_id: str, limit: int = 10) -> list[tuple[str, float]]:
        """The ``limit`` (1 … ``MAX_SIMILAR``) tracks most like ``track_id``, best first, as
        ``(track id, cosine similarity)``; ``NotFoundError`` if it has no vector here."""
        limit = max(1, min(MAX_SIMILAR, limit))
        row = self.analyses.get(track_id)
        if row is None or row.vector is None or row.version != self.version:
            reason = "it failed" if row is not None and row.error else "not yet"
            raise NotFoundError(f"track {track_id[:80]} has not been analysed here ({reason})")
        ids, matrix = self._load()
        return top_similar(row.vector, ids, matrix, limit, exclude=track_id)


def top_similar(query: bytes, ids: list[str], matrix: np.ndarray[Any, np.dtype[np.float32]], limit: int, *,
                exclude: str | None = None) -> list[tuple[str, float]]:
    """The ``limit`` rows of ``matrix`` (ids ``ids``) of highest cosine with ``query``
    (float32 bytes), best first, without ``exclude``."""
    if not ids:
        return []
    q = np.frombuffer(query, dtype="<f4").astype(np.float32)
    scores = matrix @ q
    k = min(len(ids), limit + 1)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(ids[i], round(float(scores[i]), 4)) for i in top if ids[i] != exclude][:limit]


def similar_view(node: Node, track_id: str, limit: int = 10) -> dict[str, Any]:
    """``GET /api/tracks/{id}/similar``: ``{"id", "similar": [{"id", "title", "artist",
    "artistName", "similarity", "analysis"}]}``; ``NotFoundError`` as ``SimilarIndex.similar``."""
    found = node.similar.similar(track_id, limit)
    analyses = Analyses(node.library).get_many([t for t, _s in found])
    out = []
    for other, score in found:
        row = node.library.track(other)
        if row is None:
            continue
        record = json.loads(row.record)
        a = analyses.get(other)
        out.append({"id": other, "title": record.get("title"), "artist": record.get("artist"),
                    "artistName": record.get("artistName"), "similarity": score,
                    "analysis": a.to_json() if a else None})
    return {"id": track_id, "similar": out}


def analysis_json(node: Node, track_id: str) -> dict[str, Any] | None:
    """The ``analysis`` member of ``GET /api/tracks/{id}``: ``AnalysisRow.to_json`` or ``None``."""
    row = Analyses(node.library).get(track_id)
    return row.to_json() if row is not None else None


def filtered_search(node: Node, query: Query | None, audio: AudioFilter, *, timeout: float,
                    on_result: Callable[[dict[str, Any]], None], limit: int = 20) -> dict[str, Any]:
    """Search for ``query`` keeping only results whose analysis here passes ``audio``; each
    kept result (``result_json`` plus ``analysis``) goes to ``on_result``.  ``query``
    ``None``: the analysed library tracks passing ``audio``, newest first, at most ``limit``.
    Returns the summary (``SearchSummary.to_json``) with ``results`` counting kept results,
    ``notAnalysed`` (results left out: never analysed here) and ``audioFilter``."""
    from osp.node.search import SearchSummary, result_json, search

    analyses = Analyses(node.library)
    start = time.monotonic()
    kept: set[str] = set()
    unknown: set[str] = set()
    first: list[float] = []

    def emit(result: Result, row: AnalysisRow) -> None:
        if not first:
            first.append(time.monotonic() - start)
        kept.add(result.track_id)
        on_result(result_json(result) | {"analysis": row.to_json()})

    if query is None:
        for track in analyses.matching(bpm=audio.bpm, key=audio.key, limit=limit):
            row = analyses.get(track.id)
            if row is not None:
                emit(Result(track.id, json.loads(track.record), track.record, 1.0, frozenset({LOCAL}), True), row)
        summary = SearchSummary(0, 0, 0, 0, len(kept), time.monotonic() - start, first[0] if first else None).to_json()
    else:
        def check(result: Result) -> None:
            row = analyses.get(result.track_id)
            if row is None or row.error is not None:
                unknown.add(result.track_id)
            elif audio.matches(row.bpm, row.key, row.mode) and (result.track_id in kept or len(kept) < limit):
                emit(result, row)

        # the filter drops results after the search picks them: let it pick more (kept: at most ``limit``)
        wider = dataclasses.replace(query, limit=min(MAX_LIMIT, max(FILTER_WIDENING * query.limit, 100)))
        summary = search(node, wider, timeout=timeout, on_result=check).to_json()
        summary["results"] = len(kept)
    return summary | {"notAnalysed": len(unknown - kept), "audioFilter": audio.describe()}
