"""The publish pipeline: probe → import (CID + piece hashes + copy) → torrent → record
→ sign → store.  Each stage is a function; ``publish_file`` runs them in order.

Crash safety (design.md §4): the file is copied into a staging directory inside
``media/``, fsynced, renamed into place, and only then is the library row committed in
one transaction.  A crash leaves either the whole track or nothing (the node removes
staging leftovers and unreferenced files at start).  Publishing the same file twice
with the same metadata is idempotent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from osp.content.probe import AudioInfo, extension_of, probe
from osp.content.unixfs import Block, UnixfsImporter, get_profile, read_chunks
from osp.core.errors import CallerError
from osp.distribution.engine import make_hybrid_torrent, make_v1_torrent, parse_metainfo
from osp.distribution.magnet import Magnet
from osp.distribution.pieces import piece_length_for
from osp.identity.keys import SigningKey
from osp.library.store import FileRow, Library
from osp.records.track import VerifiedTrack, build_track, sign_track, verify_track

if TYPE_CHECKING:
    from osp.node.credentials import PublishCredential

READ_SIZE = 1024 * 1024  # a multiple of every chunk size; pieces may be smaller or larger (the hasher splits/joins)
STAGING_PREFIX = ".staging-"
PARTIAL_DIR = "partial"  #: where transfers download before the CID check (``partial/<infohash>/``)


def file_name(track: VerifiedTrack) -> str:
    """``<cid><ext>``: the name a track's file has here, fetched or published (extension
    from the record's ``format``).  Never the name a peer's torrent gives (design.md §4
    "Parsing untrusted input"): names are per CID, so two tracks share a file only when
    they share its verified bytes."""
    return f"{track.record['cid']}{extension_of(track.record['format'])}"


@dataclass(frozen=True)
class TrackMetadata:
    """What the publisher says about a track; ``None`` means "use the file's tag or a default".

    ``released`` is ``YYYY-MM-DD``; ``license`` an SPDX id; ``provenance`` the record's
    provenance object (AI generator, model, prompt, seed, parents, stems …).
    """

    title: str | None = None
    artist_name: str | None = None
    album: str | None = None
    license: str = "CC0-1.0"
    released: str | None = None
    tags: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    artwork: str | None = None
    lyrics: str | None = None
    c2pa_sign: bool = False  #: embed a C2PA manifest signed with the configured signer (osp.node.credentials)
    allow_invalid_c2pa: bool = False  #: publish a file whose C2PA credential fails validation (marked invalid)


@dataclass(frozen=True)
class Imported:
    """A file copied into staging: its CID, blocks, piece hashes and staged path."""

    cid: str
    profile: str
    size: int
    blocks: list[Block]
    piece_hashes: list[bytes]
    staged: Path


@dataclass(frozen=True)
class Published:
    """The result of publishing one file."""

    track: VerifiedTrack
    infohash: str
    metainfo: bytes
    created: bool  #: False when the identical track was already in the library


class ImportSink:
    """Takes a file's bytes in order (``write``) and computes, in the same pass, the UnixFS
    DAG and the SHA-1 hashes of its BitTorrent pieces, copying the bytes to ``dst``.

    ``size`` is the file's length in bytes, known before the first byte: the piece length
    is ``piece_length_for(size)`` (OSP v0.1 piece-length rule), and ``finish`` raises
    ``CallerError`` if another number of bytes arrived (a file changed while read).  Writes
    of any length work: a write may end inside a piece or span several.

    The SHA-1 pieces run on a helper thread while this one does SHA-256 (hashlib drops
    the GIL for large buffers), so a publish costs about one hash pass, not two.
    """

    def __init__(self, profile: str, dst: BinaryIO, size: int) -> None:
        self.profile = profile
        self.dst = dst
        self.expected_size = size
        self.piece_length = piece_length_for(size)
        self.importer = UnixfsImporter(get_profile(profile))
        self.blocks: list[Block] = []
        self.pieces: list[bytes] = []
        self.size = 0
        self._piece = hashlib.sha1()
        self._fill = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="osp-sha1")

    def _hash_pieces(self, chunk: bytes | memoryview) -> None:
        view = memoryview(chunk)  # slices without copying (many 16 KiB pieces per read)
        pos = 0
        while pos < len(view):
            take = min(self.piece_length - self._fill, len(view) - pos)
            self._piece.update(view[pos : pos + take])
            self._fill += take
            pos += take
            if self._fill == self.piece_length:
                self.pieces.append(self._piece.digest())
                self._piece, self._fill = hashlib.sha1(), 0

    def write(self, chunk: bytes | memoryview) -> int:
        pieces = self._pool.submit(self._hash_pieces, chunk)
        self.dst.write(chunk)
        self.blocks.extend(self.importer.feed(chunk))
        pieces.result()  # ``chunk`` may be a reused buffer: done with it before returning
        self.size += len(chunk)
        return len(chunk)

    def close(self) -> None:
        """Stop the helper thread (``finish`` does it too); safe to call twice."""
        self._pool.shutdown()

    def finish(self, staged: Path) -> Imported:
        """Flush and fsync ``dst``; the import result for the file staged at ``staged``."""
        self.close()
        self.dst.flush()
        os.fsync(self.dst.fileno())
        if self.size != self.expected_size:
            raise CallerError(f"{self.size} bytes arrived, {self.expected_size} were expected: the file changed while "
                              "it was read; try again")
        if self._fill:
            self.pieces.append(self._piece.digest())
        root, tail = self.importer.finish()
        return Imported(str(root), self.profile, self.size, self.blocks + tail, self.pieces, staged)


def import_into(
    path: Path, staging: Path, name: str, profile: str, on_bytes: Callable[[int], None] | None = None
) -> Imported:
    """Copy ``path`` to ``staging/name`` while computing the UnixFS CID and SHA-1 pieces.

    One read pass; memory stays flat.  ``on_bytes`` gets the byte count of each read.
    """
    target = staging / name
    with open(path, "rb", buffering=0) as src, open(target, "wb") as dst:
        sink = ImportSink(profile, dst, os.fstat(src.fileno()).st_size)
        try:
            for chunk in read_chunks(src, READ_SIZE):
                sink.write(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
            return sink.finish(target)
        finally:
            sink.close()


def web_seed_url(public_url: str, cid: str) -> str:
    """The BEP 19 web seed for a track: the full file URL on the gateway."""
    return f"{public_url.rstrip('/')}/ipfs/{cid}"


def publish_file(
    path: Path,
    meta: TrackMetadata,
    *,
    key: SigningKey,
    library: Library,
    media_dir: Path,
    profile: str = "unixfs-v1-2025",
    hybrid: bool = False,
    now: datetime | None = None,
    on_bytes: Callable[[int], None] | None = None,
    c2pa: PublishCredential | None = None,
) -> Published:
    """Run the whole pipeline for one file.  Raises ``UnsupportedMediaError`` (not audio,
    truncated, lying extension), ``CallerError`` (bad metadata), ``OSError`` (disk).
    ``c2pa``: the C2PA stage (sign into staging, check, refuse invalid, store the result)."""
    path = Path(path)
    info = probe(path)
    if not meta.title and not info.title:
        meta = dataclasses.replace(meta, title=path.stem)  # no title tag: the file name
    now = now or datetime.now(UTC)
    media_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=media_dir))
    try:
        source, credential = path, None
        if c2pa is not None:  # a signed copy in staging is what gets published: the CID covers the manifest
            source, info, credential = c2pa.prepare(path, info, meta.title or info.title or path.stem,
                                                    meta.provenance, staging)
        imported = import_into(source, staging, "import.tmp", profile, on_bytes)
        name = f"{imported.cid}{info.extension}"
        staged = staging / name
        os.replace(imported.staged, staged)
        if hybrid:
            metainfo = make_hybrid_torrent(staged)
        else:
            metainfo = make_v1_torrent(name, imported.size, imported.piece_hashes)
        mi = parse_metainfo(metainfo)
        magnet = Magnet(mi.infohash, mi.infohash_v2, name, imported.size)
        unsigned = build_track(record_fields(info, meta, key.did, imported.cid, profile, str(magnet), now))
        try:
            track = verify_track(sign_track(unsigned, key, now.strftime("%Y-%m-%dT%H:%M:%SZ")))
        except Exception as exc:
            raise CallerError(f"{path.name}: the record would be invalid: {exc}") from exc
        # the bytes just imported match the CID: they take the place of a file that is
        # missing or was changed by hand (publishing the original again repairs a track)
        row = place_verified(library, media_dir, staged, imported.cid, imported.size, profile)
        if c2pa is not None and credential is not None:
            c2pa.keep(library, imported.cid, credential)
        existing = library.track(track.id)
        if existing is not None:
            library.put_file(row)
            return Published(verify_track(existing.record), existing.infohash, metainfo, False)
        created = library.add_track(
            track, file=row, blocks=imported.blocks, infohash=mi.infohash, metainfo=metainfo, origin="published"
        )
        return Published(track, mi.infohash, metainfo, created)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def place_verified(library: Library, media_dir: Path, staged: Path, cid: str, size: int, profile: str) -> FileRow:
    """The file row for verified bytes ``staged`` (named ``<cid><ext>``): the library's own
    file of ``cid`` when it holds one intact (the same bytes: kept, ``staged`` is left to
    the caller), else ``staged`` moved to ``media_dir``, replacing whatever was there (a
    leftover or a file changed by hand is never adopted)."""
    stored = library.intact_file(cid, media_dir.parent)
    if stored is not None:
        return stored
    final = media_dir / staged.name
    os.replace(staged, final)
    _fsync_dir(media_dir)
    return FileRow(cid, str(final.relative_to(media_dir.parent)), size, profile)


def record_fields(
    info: AudioInfo, meta: TrackMetadata, did: str, cid: str, profile: str, magnet: str, now: datetime
) -> dict[str, Any]:
    """The record's fields from the probe, the publisher's metadata and the import."""
    title = (meta.title or info.title or "").strip()
    if not title:
        raise CallerError("the track needs a title: give --title")
    tags = sorted({t.strip().lower() for t in meta.tags if t.strip()})
    audio = {
        k: v
        for k, v in (("sampleRate", info.sample_rate), ("channels", info.channels), ("bitrate", info.bitrate))
        if v is not None
    }
    return {
        "title": title,
        "artist": did,
        "artistName": meta.artist_name or info.artist,
        "album": meta.album or info.album,
        "duration": info.duration,
        "format": info.mime,
        "cid": cid,
        "cidProfile": profile,
        "size": info.size,
        "audio": audio,
        "torrent": magnet,
        "released": meta.released or now.strftime("%Y-%m-%d"),
        "license": meta.license,
        "tags": tags,
        "provenance": meta.provenance or None,
        "artwork": meta.artwork,
        "lyrics": meta.lyrics,
    }


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_orphans(library: Library, media_dir: Path) -> list[Path]:
    """Delete staging leftovers, media files no library row references, and files in
    ``partial/`` that belong to no persisted transfer (those resume: their verified
    pieces are kept); returns what was removed."""
    if not media_dir.exists():
        return []
    known = {Path(f.path).name for f in library.files()}
    resumable = {t.infohash for t in library.transfer_rows()}  # each downloads into partial/<infohash>/
    removed = []
    for entry in media_dir.iterdir():
        if entry.is_dir() and entry.name.startswith(STAGING_PREFIX):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif entry.is_dir() and entry.name == PARTIAL_DIR:
            for part in entry.iterdir():
                if part.name not in resumable:
                    shutil.rmtree(part, ignore_errors=True) if part.is_dir() else part.unlink(missing_ok=True)
                    removed.append(part)
        elif entry.is_file() and entry.name not in known:
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
