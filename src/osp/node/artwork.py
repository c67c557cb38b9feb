"""Cover art: store a checked image as a UnixFS file (its CID becomes the record's
``artwork``), and fetch the artwork a fetched track names, verified by CID.

Stored like audio (``osp.library.artwork``): ``media/<cid><ext>``, written to a staging
name, fsynced and renamed, then the ``files``/``blocks``/``artwork`` rows in one
transaction; the node's gateway serves it at ``/ipfs/{cid}`` (peer listener), the control
API at ``/api/artwork/{cid}`` with its image type.

A fetched track's artwork is fetched when first asked (``ensure_artwork``): only a CID
that a record here names as ``artwork``, from the nodes its torrent was fetched from (the
web seeds we derived: ``…/ipfs/<cid>``) and the configured gateways, through the egress
guard with the node's request deadline; every block is checked against its CID
(``GatewayClient``), the file must be at most ``MAX_ARTWORK`` bytes and a JPEG, PNG or
WebP (``check_image``), and it is kept only if it re-imports to the same CID under one of
the known profiles (the gateway serves its blocks from our own DAG).  Failures are
remembered for ``RETRY_AFTER`` seconds, so a page full of tracks does not keep asking.
Every peer is hostile: one artwork takes at most ``request_deadline`` seconds over all
its sources together (a peer dripping bytes cannot hold it longer), at most
``block_budget(MAX_ARTWORK)`` blocks per source, and at most ``MAX_FETCHES`` artworks
are fetched at once (more: ``ArtworkBusy``, HTTP 503), so a page of a hostile artist's
tracks cannot hold the control API's outbound workers.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from osp.content.artwork import MAX_ARTWORK, ImageInfo, check_image
from osp.content.cid import CID, DAG_PB, RAW, CIDError
from osp.content.dagpb import DagPbError, decode_node, decode_unixfs
from osp.content.unixfs import PROFILES, Block, UnixfsImporter, get_profile
from osp.core.errors import IntegrityError, NotFoundError, OspError, PeerError
from osp.distribution.engine import parse_metainfo
from osp.distribution.gateway_client import GatewayClient, block_budget
from osp.library.artwork import ArtworkRow, artwork, artwork_named_by, put_artwork
from osp.library.store import FileRow, Library, file_state
from osp.node.publish import STAGING_PREFIX

if TYPE_CHECKING:
    from osp.node.core import Node

RETRY_AFTER = 300.0  #: seconds before an artwork that could not be fetched is tried again
MAX_SOURCES = 4  #: nodes and gateways asked for one artwork
MAX_FETCHES = 2  #: artworks fetched from peers at once, per node
#: per node: cid → monotonic time of the last failed fetch
_failed: weakref.WeakKeyDictionary[Node, dict[str, float]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_gates: weakref.WeakKeyDictionary[Node, threading.BoundedSemaphore] = weakref.WeakKeyDictionary()


class ArtworkBusy(PeerError):
    """``MAX_FETCHES`` artworks are being fetched already: try again in a moment (503)."""

    code = "busy"
    http_status = 503


def import_image(data: bytes, profile: str) -> tuple[str, list[Block]]:
    """The UnixFS CID and blocks of image bytes ``data`` under ``profile``."""
    importer = UnixfsImporter(get_profile(profile))
    blocks = importer.feed(data)
    root, tail = importer.finish()
    return str(root), blocks + tail


def store_image(library: Library, media_dir: Path, data: bytes, info: ImageInfo, profile: str) -> str:
    """Store checked image bytes (``check_image`` gave ``info``); returns its CID.  Idempotent:
    an image already stored intact is kept.  Raises ``OSError`` (disk)."""
    cid, blocks = import_image(data, profile)
    held = artwork(library, cid)
    data_dir = media_dir.parent
    if held is not None and held.state == "ok" and file_state(data_dir / held.path, held.size) == "ok":
        return cid
    media_dir.mkdir(parents=True, exist_ok=True)
    final = media_dir / f"{cid}{info.extension}"
    fd, tmp = tempfile.mkstemp(prefix=STAGING_PREFIX, dir=media_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(media_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    put_artwork(library, FileRow(cid, str(final.relative_to(data_dir)), len(data), profile), blocks,
                info.mime, info.width, info.height)
    return cid


def held_artwork(node: Node, cid: str) -> ArtworkRow | None:
    """The image ``cid`` if it is stored here and intact, else ``None``."""
    row = artwork(node.library, cid)
    if row is None or row.state != "ok" or file_state(node.settings.data_dir / row.path, row.size) != "ok":
        return None
    return row


def artwork_sources(node: Node, track_ids: list[str]) -> list[str]:
    """Base URLs to ask for a track's artwork: the nodes its stored torrent names as web
    seeds (``<base>/ipfs/<cid>``, which we derived from the peers we fetched it from),
    then the configured gateways; at most ``MAX_SOURCES``, without repeats."""
    bases: list[str] = []
    for track_id in track_ids:
        row = node.library.track(track_id)
        torrent = node.library.torrent(row.infohash) if row is not None else None
        if torrent is None:
            continue
        try:
            seeds = parse_metainfo(torrent.metainfo).web_seeds
        except OspError:
            continue
        bases += [s.rsplit("/ipfs/", 1)[0] for s in seeds if "/ipfs/" in s]
    own = node.public_url
    bases = [b for b in bases if b != own] + list(node.settings.gateways)
    return list(dict.fromkeys(bases))[:MAX_SOURCES]


def ensure_artwork(node: Node, cid: str) -> ArtworkRow:
    """The stored image ``cid``, fetched first if a record here names it (module doc).

    Raises ``NotFoundError`` (no record here names it, no source has it, or a recent try
    failed), ``IntegrityError`` (what arrived is not that CID, too big, or not an image),
    ``ArtworkBusy`` (``MAX_FETCHES`` fetches already run)."""
    held = held_artwork(node, cid)
    if held is not None:
        return held
    try:
        root = CID.decode(cid)
    except CIDError as exc:
        raise NotFoundError(f"not a CID: {exc}") from exc
    named = artwork_named_by(node.library, str(root))
    if not named:
        raise NotFoundError(f"no track here has the artwork {cid[:80]}")
    with _lock:
        failures = _failed.setdefault(node, {})
        failed_at = failures.get(str(root))
    if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER:
        raise NotFoundError(f"the artwork {cid[:80]} could not be fetched a moment ago; try again later")
    with _lock:
        gate = _gates.setdefault(node, threading.BoundedSemaphore(MAX_FETCHES))
    if not gate.acquire(blocking=False):
        raise ArtworkBusy(f"{MAX_FETCHES} artworks are being fetched already: try again in a moment")
    try:
        return _fetch_any(node, root, named)
    finally:
        gate.release()


def _fetch_any(node: Node, root: CID, named: list[str]) -> ArtworkRow:
    """Ask the sources of ``root`` in turn, within ``request_deadline`` in all."""
    cid = str(root)
    with _lock:
        failures = _failed.setdefault(node, {})
    errors: list[str] = []
    until = time.monotonic() + node.settings.request_deadline
    for base in artwork_sources(node, named):
        if time.monotonic() >= until:
            errors.append(f"{base}: not asked (out of time)")
            break
        try:
            data = _fetch(base, root, node, until)
            info = check_image(data)
        except OspError as exc:  # unreachable, refused by the egress guard, forged, not an image
            errors.append(f"{base}: {exc.message}")
            continue
        for profile in dict.fromkeys([node.settings.cid_profile, *PROFILES]):
            if import_image(data, profile)[0] == str(root):
                store_image(node.library, node.settings.media_dir, data, info, profile)
                found = held_artwork(node, str(root))
                if found is not None:
                    return found
        errors.append(f"{base}: the image's DAG is not one of the profiles this node builds")
    with _lock:
        if len(failures) > 4096:
            failures.clear()
        failures[cid] = time.monotonic()
    raise NotFoundError(f"cannot fetch the artwork {cid[:80]}: " + ("; ".join(errors)[:500] or "no source to ask"))


def _fetch(base: str, root: CID, node: Node, until: float) -> bytes:
    """The verified bytes of the file ``root`` at the gateway ``base``, at most
    ``MAX_ARTWORK``, done by the monotonic instant ``until``."""
    with GatewayClient(base, allow_private=node.settings.allow_private_peers,
                       deadline=max(0.001, min(node.settings.request_deadline, until - time.monotonic()))) as client:
        first = client.block(root)
        if root.codec == RAW:
            size = len(first)
        elif root.codec == DAG_PB:
            try:
                size = decode_unixfs(decode_node(first)[0]).filesize or 0
            except DagPbError as exc:
                raise IntegrityError(f"{root} is not a UnixFS file: {exc}", check="block") from exc
        else:
            raise IntegrityError(f"{root} is not a UnixFS file", check="block")
        if not 0 < size <= MAX_ARTWORK:
            raise IntegrityError(f"the artwork is {size} bytes (at most {MAX_ARTWORK})", check="size")
        out = io.BytesIO()
        client.fetch_file(root, out, size, max_blocks=block_budget(MAX_ARTWORK), until=until)
        return out.getvalue()
