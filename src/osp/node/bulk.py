"""Bulk import: publish every audio file of some folders (``osp import``, ``osp publish DIR``).

Stages, per file: walk → skip check → probe → tags → cover art → publish → remember.

* **Walk** (``walk``): the roots in order; in a folder its entries sorted by name, hidden
  ones (a leading ``.``) skipped, sub-folders entered only with ``recursive`` and at most
  ``MAX_DEPTH`` deep; the walk ends at ``MAX_FILES`` files (the next one is refused, saying so).  Symbolic links are never
  followed into folders; a link to a file is taken only when its target lies inside the
  root folder (else refused: "a link out of the folder"); a dangling link is refused.  A
  folder named like an audio file (``x.mp3/``) is refused, not entered.  A folder's cover
  image (``cover.jpg`` …, ``osp.content.artwork.COVER_NAMES``) is used, not published.
  Every other regular file is a candidate: the probe decides what is audio, by content.
* **Skip**: a file this artist imported before, with the same size and modification
  time, whose track is still here, is "already published" without being read
  (``imported_files``); otherwise, after the probe, its CID is computed (one extra
  SHA-256 pass, measured in ``bench/import.py``) and a track the artist already published
  with that audio is "already published" too (a copy of the same file).
* **Tags** (``osp.content.tags``): title, artist, album, lyrics, genres → tags, date →
  released, generator metadata → provenance.  What the caller gives (``TrackMetadata``
  fields that are set; ``provenance`` members) wins over the tags; the caller's tags are
  added to the genres (at most ``MAX_RECORD_TAGS``).
* **Cover art**: the caller's ``artwork`` CID, else the file's embedded front cover, else
  the folder's cover file; checked (``check_image``) and stored (``osp.node.artwork``).
  A cover that fails the check is left out with a note; the track is still published.
* **Publish**: ``Node.publish`` (crash safe, idempotent), then the file is remembered.

Ctrl-C (or ``stop()`` returning true, checked between files) ends the run between or
inside a file: what is published stays published, and a re-run skips it.  Events go to
``on_event`` as they happen (frozen dataclasses, dispatched by type).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osp.content.artwork import check_image, find_cover_file, read_image
from osp.content.probe import AUDIO_EXTENSIONS, probe
from osp.content.tags import FileTags, provenance_from_tags, read_tags, released_from_tag
from osp.content.unixfs import cid_of_file
from osp.core.errors import CorruptDataError, NotFoundError, OspError, UnsupportedMediaError
from osp.library.artwork import imported_track, published_with_cid, remember_import
from osp.node.artwork import store_image
from osp.node.publish import TrackMetadata
from osp.records.provenance import default_source_type
from osp.records.track import VerifiedTrack, verify_track

if TYPE_CHECKING:
    from osp.node.core import Node

MAX_DEPTH = 16  #: folder levels below a root
MAX_FILES = 100_000  #: candidate files in one run
MAX_RECORD_TAGS = 32  #: the record's cap (OSP v0.1 §5)


@dataclass(frozen=True)
class Refused:
    """A path the walk refused before any read: ``path`` and ``reason``."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Walked:
    """What ``walk`` found: the candidate ``files`` (path, size) in order, the ``refused``
    paths, and each folder's ``covers`` (folder → its cover image)."""

    files: list[tuple[Path, int]]
    refused: list[Refused]
    covers: dict[Path, Path]


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """The walk is done: ``files`` paths will be reported (the candidates, ``bytes`` bytes in
    all, and what the walk refused)."""

    files: int  #: paths that will each get a ``FileDone``
    bytes: int  #: total size of the candidates


@dataclass(frozen=True)
class Reading:
    """``done`` of ``size`` bytes of ``path`` hashed so far."""

    path: Path  #: the file being read
    done: int  #: bytes hashed
    size: int  #: the file's size


@dataclass(frozen=True)
class FileDone:
    """One file is finished: published, already published, or refused."""

    path: Path  #: the file
    status: str  #: ``published``, ``already published`` or ``refused``
    track: VerifiedTrack | None  #: the track (``None`` when refused)
    infohash: str | None  #: its v1 infohash (``None`` when refused)
    error: OspError | None  #: why it was refused (``None`` otherwise)
    notes: tuple[str, ...]  #: what was left out (a bad cover, a tag over a cap …)
    size: int  #: bytes of the file (counted as done in the progress)


@dataclass(frozen=True)
class Summary:
    """The run's end: counts per status, bytes read and seconds spent; ``stopped`` when it
    ended early (Ctrl-C, the client went away)."""

    published: int  #: new tracks
    already: int  #: files already published (skipped)
    refused: int  #: files refused
    bytes: int  #: bytes of the files tried
    seconds: float  #: wall time of the run
    stopped: bool  #: ended before every file was tried


ImportEvent = Planned | Reading | FileDone | Summary


# --- walk ----------------------------------------------------------------------------------


def walk(roots: Iterable[Path], *, recursive: bool, max_depth: int = MAX_DEPTH, max_files: int = MAX_FILES) -> Walked:
    """The candidates under ``roots`` (module doc, "Walk").  A root that is a file is a
    candidate whatever its name; a root that does not exist is refused."""
    out = Walked([], [], {})
    try:
        for root in roots:
            root = Path(os.path.abspath(root))
            if root.is_symlink() and not root.exists():
                out.refused.append(Refused(root, "a dangling symbolic link"))
            elif root.is_dir():
                _walk_dir(root, root.resolve(), 0, recursive, max_depth, max_files, out)
            elif root.is_file():
                _add(out, root, max_files)
            else:
                reason = "no such file or folder" if not root.exists() else "not a regular file"
                out.refused.append(Refused(root, reason))
    except _Full:
        pass
    return out


class _Full(Exception):
    """``max_files`` candidates found: the walk ends."""


def _add(out: Walked, path: Path, max_files: int) -> None:
    if len(out.files) >= max_files:
        out.refused.append(Refused(path, f"too many files: at most {max_files} in one import; the rest is not "
                                         "looked at (import it in parts)"))
        raise _Full()
    try:
        out.files.append((path, path.stat().st_size))
    except OSError as exc:
        out.refused.append(Refused(path, f"cannot read: {exc.strerror or exc}"))


def _walk_dir(folder: Path, top: Path, depth: int, recursive: bool, max_depth: int, max_files: int,
              out: Walked) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        out.refused.append(Refused(folder, f"cannot list the folder: {exc.strerror or exc}"))
        return
    cover = find_cover_file(folder)
    if cover is not None:
        out.covers[folder] = cover
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                out.refused.append(Refused(path, "a dangling symbolic link"))
                continue
            if not target.is_relative_to(top):
                out.refused.append(Refused(path, "a symbolic link out of the folder: not followed"))
            elif target.is_file():
                _add(out, path, max_files)
            continue  # links to folders are never followed (no loops)
        if entry.is_dir(follow_symlinks=False):
            if Path(entry.name).suffix.lower() in AUDIO_EXTENSIONS:
                out.refused.append(Refused(path, "a folder, not an audio file"))
            elif recursive and depth < max_depth:
                _walk_dir(path, top, depth + 1, recursive, max_depth, max_files, out)
            elif recursive:
                out.refused.append(Refused(path, f"deeper than {max_depth} folders: not entered"))
            continue
        if path == cover:
            continue
        if entry.is_file(follow_symlinks=False):
            _add(out, path, max_files)
        else:
            out.refused.append(Refused(path, "not a regular file"))


# --- metadata -------------------------------------------------------------------------------


def merged_metadata(meta: TrackMetadata, tags: FileTags) -> TrackMetadata:
    """``meta`` with what it leaves unset taken from ``tags`` (module doc, "Tags")."""
    genres = [g.lower() for g in tags.genres]
    given = [t.strip().lower() for t in meta.tags if t.strip()]
    merged_tags = tuple(dict.fromkeys(given + genres))[:MAX_RECORD_TAGS]
    provenance = {**provenance_from_tags(tags), **meta.provenance}
    if provenance.get("aiGenerated") is True:  # as `osp publish --ai-generator X` says it
        provenance.setdefault("digitalSourceType", default_source_type(provenance))
    return dataclasses.replace(
        meta,
        title=meta.title or tags.title,
        artist_name=meta.artist_name or tags.artist,
        album=meta.album or tags.album,
        released=meta.released or released_from_tag(tags.date),
        lyrics=meta.lyrics or tags.lyrics,
        tags=merged_tags,
        provenance=provenance,
    )


def cover_for(node: Node, path: Path, tags: FileTags, covers: dict[Path, Path], notes: list[str]) -> str | None:
    """The artwork CID for ``path``: its embedded cover, else its folder's cover file,
    checked and stored; ``None`` (with a note) when neither is a usable image."""
    try:
        if tags.cover is not None:
            data, info = tags.cover.data, check_image(tags.cover.data)
        elif path.parent in covers:
            data, info = read_image(covers[path.parent])
        else:
            return None
    except UnsupportedMediaError as exc:
        notes.append(f"{exc.message}: left out")
        return None
    return store_image(node.library, node.settings.media_dir, data, info, node.settings.cid_profile)


# --- the run --------------------------------------------------------------------------------


def import_paths(node: Node, roots: Iterable[Path], meta: TrackMetadata, *, recursive: bool = True,
                 hybrid: bool | None = None, on_event: Callable[[ImportEvent], None] = lambda e: None,
                 stop: Callable[[], bool] = lambda: False) -> Summary:
    """Publish every audio file under ``roots`` (module doc); returns the ``Summary`` (also
    sent to ``on_event`` last).  Raises ``KeystoreError`` before any file if the identity
    key cannot be loaded; ``KeyboardInterrupt`` passes through (what is published stays)."""
    started = time.monotonic()
    did = node.signing_key().did
    found = walk(roots, recursive=recursive)
    counts = {"published": 0, "already published": 0, "refused": 0}
    total = sum(size for _, size in found.files)
    on_event(Planned(len(found.files) + len(found.refused), total))
    for refused in found.refused:
        counts["refused"] += 1
        on_event(FileDone(refused.path, "refused", None, None, UnsupportedMediaError(f"{refused.path.name}: "
                                                                                     f"{refused.reason}"), (), 0))
    done_bytes, stopped = 0, False
    for path, size in found.files:
        if stop():
            stopped = True
            break
        event = _one(node, did, path, size, meta, found.covers, hybrid, on_event)
        counts[event.status] += 1
        done_bytes += size
        on_event(event)
    summary = Summary(counts["published"], counts["already published"], counts["refused"], done_bytes,
                      round(time.monotonic() - started, 3), stopped)
    on_event(summary)
    return summary


def _one(node: Node, did: str, path: Path, size: int, meta: TrackMetadata, covers: dict[Path, Path],
         hybrid: bool | None, on_event: Callable[[ImportEvent], None]) -> FileDone:
    notes: list[str] = []
    key = str(path)
    try:
        st = path.stat()
        known = imported_track(node.library, key, did, st.st_size, st.st_mtime_ns)
        if known is not None and (row := node.library.track(known)) is not None:
            return FileDone(path, "already published", verify_track(row.record), row.infohash, None, (), size)
        probe(path)  # not audio, truncated, lying name: refused before anything is stored
        cid = str(cid_of_file(path, node.settings.cid_profile))
        same = published_with_cid(node.library, cid, did)
        if same is not None and (row := node.library.track(same)) is not None:
            remember_import(node.library, key, did, st.st_size, st.st_mtime_ns, same)
            return FileDone(path, "already published", verify_track(row.record), row.infohash, None, (), size)
        tags = read_tags(path)
        notes += tags.notes
        file_meta = merged_metadata(meta, tags)
        if file_meta.artwork is None:
            file_meta = dataclasses.replace(file_meta, artwork=cover_for(node, path, tags, covers, notes))
        done = [0]

        def on_bytes(n: int) -> None:
            done[0] += n
            on_event(Reading(path, done[0], size))

        published = node.publish(path, file_meta, hybrid=hybrid, on_bytes=on_bytes)
        remember_import(node.library, key, did, st.st_size, st.st_mtime_ns, published.track.id)
        status = "published" if published.created else "already published"
        return FileDone(path, status, published.track, published.infohash, None, tuple(notes), size)
    except OspError as exc:
        return FileDone(path, "refused", None, None, exc, tuple(notes), size)
    except FileNotFoundError:
        return FileDone(path, "refused", None, None, NotFoundError(f"{path.name}: gone while importing"), (), size)
    except OSError as exc:
        error = CorruptDataError(f"{path.name}: cannot read: {exc.strerror or exc}")
        return FileDone(path, "refused", None, None, error, tuple(notes), size)


def event_json(event: ImportEvent, summary: Callable[[dict[str, Any], str | None], dict[str, Any]]) -> dict[str, Any]:
    """The JSON line of an event (``osp import --json`` and ``POST /api/import``'s NDJSON):
    ``{"planned": {"files", "bytes"}}``, ``{"reading": {"file", "done", "total"}}``, a
    file's object ``{"file", "status", …}`` (``summary(record, infohash)`` plus ``notes`` when
    published or already published; ``error``, ``message`` when refused), or
    ``{"summary": {"published", "alreadyPublished", "refused", "bytes", "seconds", "stopped"}}``."""
    if isinstance(event, Planned):
        return {"planned": {"files": event.files, "bytes": event.bytes}}
    if isinstance(event, Reading):
        return {"reading": {"file": str(event.path), "done": event.done, "total": event.size}}
    if isinstance(event, FileDone):
        base: dict[str, Any] = {"file": str(event.path), "status": event.status, "size": event.size}
        if event.track is not None:
            base |= summary(event.track.record, event.infohash)
        if event.error is not None:
            base |= {**event.error.to_json(), "exitCode": event.error.exit_code}
        if event.notes:
            base["notes"] = list(event.notes)
        return base
    return {"summary": {"published": event.published, "alreadyPublished": event.already, "refused": event.refused,
                        "bytes": event.bytes, "seconds": event.seconds, "stopped": event.stopped}}
