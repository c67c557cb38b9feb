"""Re-upload and near-duplicate detection (issue 10, spec §9.7): wires the Chromaprint engine
(``osp.provenance.fingerprint``) to the library's index (``osp.library.fingerprints``).

``FingerprintStep`` is the background ``TrackStep`` that fingerprints every track published
or fetched, indexes it, and compares it with every track known here.  The rule (spec §9.7):

- a match with **another artist's earlier track** makes the later one a *near-duplicate* of
  it (flagged in ``osp ls``, ``osp show``, search results and the web app); *earlier* means
  an earlier ``released`` date, and on the same date the track first seen here;
- a match with **the same artist's** earlier track is remembered (``own``) and reported to
  that artist ("you published this audio before as …"), never flagged: re-releasing your own
  audio (a remaster, an album version) is not spam.

A track that arrives earlier than one already here flags the one already here.  Matches are
claims of this node's fingerprint comparison, not signed facts: nothing here changes a
record, and a flag never stops a publish.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from osp.core.errors import NotFoundError, OspError
from osp.library import fingerprints as repo
from osp.library.store import Library, TrackRow
from osp.provenance import fingerprint as fp
from osp.records.canonical import strict_loads

if TYPE_CHECKING:
    from osp.node.core import Node

MATCH_VALUES = 970  #: values a query may carry: 120 s of audio (``GET /osp/v0/match``, ``osp match``)
MAX_MATCHES = 10  #: matches a query answers with
ENSURE_FIRST = 256  #: tracks still pending the publish check fingerprints before the new one, at most


def index_keys(blob: bytes) -> set[int]:
    """Every key a stored fingerprint blob may be indexed under (``repo.KeysOf``)."""
    return {int(k) for k in fp.keys_of(fp.from_bytes(blob))}


@dataclass(frozen=True)
class Found:
    """A match of a query with a library track: its ``row`` and the engine's ``match``."""

    row: TrackRow
    match: fp.Match


class FingerprintStep:
    """The ``TrackStep`` ``fingerprint`` (``osp.node.trackjobs``); ``ensure`` runs it for one
    track now (the publish check), under the same lock, so a track is never done twice."""

    name = "fingerprint"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._warned = False

    def pending(self, node: Node, limit: int) -> list[TrackRow]:
        if shutil.which("fpcalc") is None:  # nothing is stored: the tracks wait until it is installed
            if not self._warned:
                logging.getLogger(__name__).warning(
                    "fpcalc is not installed (Debian libchromaprint-tools): no re-upload detection until it is")
                self._warned = True
            return []
        return repo.unfingerprinted(node.library, limit)

    def run(self, node: Node, track: TrackRow, path: Path | None) -> None:
        with self._lock:
            if repo.fingerprint(node.library, track.id) is None:
                fingerprint_track(node, track, path)

    def ensure(self, node: Node, track_id: str, until: float | None = None) -> repo.FingerprintRow:
        """Fingerprint ``track_id`` now unless it is done — after the tracks still pending,
        which it must be compared with (a track fetched a moment ago: at most
        ``ENSURE_FIRST``, and none once ``time.monotonic()`` passes ``until``) — and return
        its row (``NotFoundError`` if it is not here)."""
        with self._lock:
            row = repo.fingerprint(node.library, track_id)
            if row is None:
                track = node.library.track(track_id)
                if track is None:
                    raise NotFoundError(f"no track {track_id[:80]} in the library")
                for _ in range(ENSURE_FIRST // 16):  # at most ENSURE_FIRST others; the background step does the rest
                    others = [t for t in repo.unfingerprinted(node.library, 17) if t.id != track_id][:16]
                    if not others or (until is not None and time.monotonic() >= until):
                        break
                    for other in others:
                        fingerprint_track(node, other, node.jobs._path(other))
                fingerprint_track(node, track, node.jobs._path(track))
                row = repo.fingerprint(node.library, track_id)
            assert row is not None
            return row


def fingerprint_track(node: Node, track: TrackRow, path: Path | None) -> None:
    """Fingerprint ``track`` (its intact file ``path``), store and index it, then store the
    near-duplicates it makes or reveals; a failure is stored instead (not retried)."""
    now = node.clock()
    if path is None:
        repo.store_failure(node.library, track.id, "no intact audio file here", now, index_keys)
        return
    try:
        print_ = fp.compute(path)
    except fp.FpcalcMissing:
        raise  # fpcalc is not installed: not the file's fault, nothing stored (it is tried again later)
    except OspError as exc:
        repo.store_failure(node.library, track.id, exc.message, now, index_keys)
        return
    n = repo.store(node.library, track.id, fp.to_bytes(print_.values), print_.seconds,
                   fp.index_entries(print_.values), now, index_keys)
    found = search(node.library, print_.values, exclude=n, limit=MAX_MATCHES)
    repo.store_duplicates(node.library, [d for f in found if (d := _decide(track, f)) is not None])


def _earlier(a: TrackRow, b: TrackRow) -> bool:
    """``a`` came before ``b``: earlier ``released``, then first seen here, then id."""
    return (a.released, a.added_at, a.id) < (b.released, b.added_at, b.id)


def _decide(track: TrackRow, found: Found) -> repo.DuplicateRow | None:
    """The duplicate row a match of ``track`` with ``found.row`` makes (later → earlier)."""
    other, m = found.row, found.match
    own = other.artist == track.artist
    if _earlier(other, track):
        return repo.DuplicateRow(track.id, other.id, m.offset, m.overlap, m.score, own)
    return repo.DuplicateRow(other.id, track.id, round(-m.offset, 2), m.overlap, m.score, own)


def match_refs(lib: Library, values: Sequence[int] | fp.Values, *, exclude: int | None = None,
               limit: int = MAX_MATCHES) -> list[tuple[str, fp.Match]]:
    """``(track id, match)`` of the indexed fingerprints ``values`` match (``fp.search`` over
    the library's ``fp_index``), best first."""
    ids: dict[int, str] = {}

    def load(ref: int) -> fp.Values | None:
        got = repo.fingerprint_blob(lib, ref)
        if got is None:
            return None
        ids[ref] = got[0]
        return fp.from_bytes(got[1])

    def candidates(entries: Sequence[tuple[int, int]]) -> list[fp.Candidate]:
        return fp.vote_arrays(*repo.unpack_votes(repo.hits(lib, entries, max_postings=fp.MAX_POSTINGS)))

    matches = fp.search(np.asarray(values, dtype=np.uint32), candidates, load, limit=limit, exclude=exclude)
    return [(ids[m.ref], m) for m in matches]


def search(lib: Library, values: Sequence[int] | fp.Values, *, exclude: int | None = None,
           limit: int = MAX_MATCHES, available: bool = False) -> list[Found]:
    """The library tracks whose fingerprint ``values`` match (``match_refs``), best first;
    ``available``: only tracks whose file is intact (what a peer may be offered)."""
    out = []
    for track_id, m in match_refs(lib, values, exclude=exclude, limit=limit):
        row = lib.track(track_id, available=available)
        if row is not None:
            out.append(Found(row, m))
    return out


def forget(node: Node, track_id: str) -> None:
    """Drop a removed track's fingerprint, index rows and duplicate rows."""
    repo.forget(node.library, track_id, index_keys)


# -- JSON shapes (control API, CLI) ----------------------------------------------------


def _about(node: Node, track_id: str) -> dict[str, Any]:
    row = node.library.track(track_id)
    if row is None:
        return {"id": track_id, "title": None, "artist": None, "artistName": None, "released": None}
    record = strict_loads(row.record)
    return {"id": row.id, "title": row.title, "artist": row.artist, "artistName": record.get("artistName"),
            "released": row.released}


def duplicates_view(node: Node, track_id: str) -> list[dict[str, Any]] | None:
    """``duplicates`` of ``GET /api/tracks/{id}``: ``None`` until the track is fingerprinted
    (or when it could not be), else ``[{id, title, artist, artistName, released, offset,
    overlap, score, own}]`` — the earlier tracks it matches (``own``: the same artist's)."""
    row = repo.fingerprint(node.library, track_id)
    if row is None or row.fp is None:
        return None
    return [_about(node, d.match_id) | {"offset": d.offset, "overlap": d.overlap, "score": d.score, "own": d.own}
            for d in repo.duplicates_of(node.library, track_id)]


def check_view(node: Node, track_id: str, until: float | None = None) -> dict[str, Any]:
    """The publish check (``GET /api/tracks/{id}/duplicates``): fingerprint now if not done
    (``FingerprintStep.ensure``); ``{"id", "fingerprinted": bool, "error": str|None,
    "duplicates": [...]}``."""
    row = node.fingerprints.ensure(node, track_id, until)
    return {"id": track_id, "fingerprinted": row.fp is not None, "error": row.error,
            "duplicates": duplicates_view(node, track_id) or []}


def flags(node: Node, track_ids: Sequence[str]) -> dict[str, str]:
    """``{track id: id of the earlier track it duplicates}`` (``duplicateOf`` marks)."""
    return repo.flagged(node.library, track_ids)


def duplicate_mark(node: Node, track_id: str) -> dict[str, str | None]:
    """``{"duplicateOf": id}`` of the earlier track of another artist that ``track_id``'s audio
    matches, ``None`` when none does or its audio is not fingerprinted here (search results)."""
    return {"duplicateOf": repo.flagged(node.library, [track_id]).get(track_id)}


def peer_answer(lib: Library, values: fp.Values) -> bytes:
    """The body of ``GET /osp/v0/match`` (spec §9.7): ``{"matches": [{"record", "offset",
    "overlap", "score"}…]}``, at most ``MAX_MATCHES``, best first, each record the signed JCS
    bytes as stored; only tracks whose file is intact here."""
    parts = [b'{"record":' + f.row.record + b"," + json.dumps(
        {"offset": f.match.offset, "overlap": f.match.overlap, "score": f.match.score})[1:].encode()
        for f in search(lib, values, available=True)]
    return b'{"matches":[' + b",".join(parts) + b"]}"


def found_json(found: Found) -> dict[str, Any]:
    """A match as ``osp match --json`` and the peer route answer it (record included)."""
    m = found.match
    return {"record": strict_loads(found.row.record), "offset": m.offset, "overlap": m.overlap, "score": m.score}


def warning_lines(duplicates: Sequence[dict[str, Any]]) -> list[str]:
    """Human lines for a publish check's ``duplicates`` (the CLI, the web app's wording)."""
    lines = []
    for d in duplicates:
        where = f"at {d['offset']:+.1f} s"
        if d.get("own"):
            lines.append(f'note: you published this audio before as "{d["title"]}" ({d["id"]}, {where})')
        else:
            who = d.get("artistName") or d.get("artist")
            lines.append(f'warning: this audio matches "{d["title"]}" by {who}, released {d["released"]} ({where})')
    return lines


def wait_for_check(node: Node, track_id: str, timeout: float) -> dict[str, Any] | None:
    """``check_view`` if it finishes within ``timeout`` seconds, else ``None`` (it goes on)."""
    box: list[dict[str, Any]] = []
    errors: list[OspError] = []

    def work() -> None:
        try:
            box.append(check_view(node, track_id))
        except OspError as exc:
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True, name="osp-publish-check")
    worker.start()
    worker.join(max(0.0, timeout))
    if errors:
        raise errors[0]
    return box[0] if box else None
