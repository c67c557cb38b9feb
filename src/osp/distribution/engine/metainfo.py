"""Torrent files (metainfo) through libtorrent: parse, create, rebuild, re-seed.

Part of ``osp.distribution.engine``, the only package that imports ``libtorrent``.
Implements BEP 3 (metainfo, ``pieces``), BEP 19 (``url-list`` web seeds) and BEP 52
(v2/hybrid torrents, ``piece layers``); OSP's piece-length rule is ``distribution.pieces``.
Every function is pure (bytes in, bytes or a ``Metainfo`` out; ``make_hybrid_torrent``
reads its file) and maps libtorrent's errors to ``CorruptDataError`` / ``CallerError``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import libtorrent as lt

from osp.core.errors import CallerError, CorruptDataError
from osp.distribution.events import Metainfo
from osp.distribution.pieces import piece_length_for

__all__ = ["make_hybrid_torrent", "make_v1_torrent", "parse_metainfo", "rebuild_torrent", "v1_piece_hashes",
           "with_web_seeds"]


def parse_metainfo(data: bytes) -> Metainfo:
    """Parse bencoded torrent bytes; ``CorruptDataError`` if libtorrent rejects them.

    Only single-file torrents are OSP tracks; others raise ``CallerError``.
    """
    try:
        ti = lt.torrent_info(_bdecode(data))
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CorruptDataError(f"not a valid torrent: {exc}") from exc
    if ti.num_files() != 1:
        raise CallerError("an OSP track torrent holds exactly one file")
    hashes = ti.info_hashes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # files()/web_seeds(): no replacement in the binding
        name = ti.files().file_path(0)
        seeds = tuple(ws["url"] for ws in ti.web_seeds())
    return Metainfo(
        infohash=str(hashes.v1),
        infohash_v2=str(hashes.v2) if hashes.has_v2() else None,
        name=name,
        size=ti.total_size(),
        piece_length=ti.piece_length(),
        num_pieces=ti.num_pieces(),
        web_seeds=seeds,
    )


def _bdecode(data: bytes) -> Any:
    """``lt.bdecode`` typed loosely (the stubs give a union); ``None`` for junk."""
    return lt.bdecode(data)


def _quiet(factory: Callable[[], lt.create_torrent]) -> lt.create_torrent:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return factory()


def make_v1_torrent(name: str, size: int, piece_hashes: Sequence[bytes], web_seeds: Sequence[str] = ()) -> bytes:
    """A v1 single-file torrent from precomputed SHA-1 piece hashes, one per piece of
    ``piece_length_for(size)`` bytes (OSP v0.1's piece-length rule, ``distribution.pieces``).

    BEP 3 metainfo; ``web_seeds`` become the BEP 19 ``url-list``.  Creation date and
    creator are left out so the bytes depend only on the content.  ``ValueError`` when
    the number of hashes is not the number of pieces; ``CallerError`` for ``size`` 0.
    """
    if size <= 0:
        raise CallerError("an empty file has no torrent")
    fs = lt.file_storage()
    fs.add_file(name, size)
    ct = _quiet(lambda: lt.create_torrent(fs, piece_length_for(size), lt.create_torrent.v1_only))
    if ct.num_pieces() != len(piece_hashes):
        raise ValueError(f"{len(piece_hashes)} piece hashes for {ct.num_pieces()} pieces")
    for index, digest in enumerate(piece_hashes):
        ct.set_hash(index, digest)
    return rebuild_torrent(bytes(lt.bencode(ct.generate())), web_seeds=web_seeds)


def make_hybrid_torrent(path: Path, web_seeds: Sequence[str] = ()) -> bytes:
    """A BEP 52 hybrid (v1+v2) single-file torrent of the file at ``path`` (reads it); like
    ``make_v1_torrent``, with ``piece_length_for(size)`` pieces, without creation date or creator."""
    size = path.stat().st_size
    if size <= 0:
        raise CallerError("an empty file has no torrent")
    fs = lt.file_storage()
    fs.add_file(path.name, size)
    ct = _quiet(lambda: lt.create_torrent(fs, piece_length_for(size)))
    lt.set_piece_hashes(ct, str(path.parent))
    return rebuild_torrent(bytes(lt.bencode(ct.generate())), web_seeds=web_seeds)


def rebuild_torrent(metainfo: bytes, *, trackers: Sequence[str] = (), web_seeds: Sequence[str] = ()) -> bytes:
    """A torrent made of ``metainfo``'s info dictionary alone, plus trackers and web seeds
    that we chose; everything else a peer put in it is dropped.

    A peer's ``.torrent`` may carry ``announce``, ``announce-list``, ``url-list``,
    ``httpseeds`` and ``nodes``: libtorrent contacts all of them (its ``ssrf_mitigation``
    stops only query strings and non-``/announce`` tracker paths), so a hostile peer could
    steer our engine at any host (design.md §4 "Outbound requests", §8 "Egress").  The
    info dictionary's bytes are kept verbatim, so the v1 (and v2) infohash is unchanged;
    for BEP 52 hybrid/v2 torrents the ``piece layers`` of the torrent's file are kept (they
    sit outside the info dict but libtorrent checks them against its ``pieces root``).

    ``trackers`` become ``announce`` + ``announce-list`` (one tier each, in order);
    ``web_seeds`` the BEP 19 ``url-list``.  Output is deterministic for given inputs.
    Raises ``CorruptDataError`` if libtorrent rejects ``metainfo``.
    """
    ti = _torrent_info(metainfo)
    info = bytes(ti.info_section())
    fields: dict[bytes, Any] = {}
    if trackers:
        fields[b"announce"] = trackers[0].encode()
        fields[b"announce-list"] = [[t.encode()] for t in trackers]
    if web_seeds:
        fields[b"url-list"] = [u.encode() for u in web_seeds]
    decoded = _bdecode(metainfo)
    layers = decoded.get(b"piece layers") if isinstance(decoded, dict) else None
    if isinstance(layers, dict) and ti.info_hashes().has_v2():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # files(): no replacement in the binding
            files = ti.files()
        roots = {bytes(files.root(i).to_bytes()) for i in range(files.num_files())}
        kept = {k: v for k, v in layers.items() if k in roots and isinstance(v, bytes)}
        if kept:
            fields[b"piece layers"] = kept
    parts = [b"d"]
    for key in sorted([*fields, b"info"]):
        parts.append(b"%d:%s" % (len(key), key))
        parts.append(info if key == b"info" else bytes(lt.bencode(fields[key])))
    parts.append(b"e")
    rebuilt = b"".join(parts)
    again = _torrent_info(rebuilt).info_hashes()
    if str(again.v1) != str(ti.info_hashes().v1) or str(again.v2) != str(ti.info_hashes().v2):
        raise CorruptDataError("the rebuilt torrent's infohash differs from the original's")
    return rebuilt


def v1_piece_hashes(metainfo: bytes) -> list[bytes]:
    """The 20-byte SHA-1 of each piece (BEP 3 ``pieces``) of a v1 or hybrid torrent, in order;
    ``CorruptDataError`` if libtorrent rejects ``metainfo``."""
    ti = _torrent_info(metainfo)
    return [bytes(ti.hash_for_piece(i)) for i in range(ti.num_pieces())]


def _torrent_info(metainfo: bytes) -> lt.torrent_info:
    try:
        return lt.torrent_info(_bdecode(metainfo))
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CorruptDataError(f"not a valid torrent: {exc}") from exc


def with_web_seeds(metainfo: bytes, web_seeds: Sequence[str]) -> bytes:
    """``metainfo`` with its ``url-list`` replaced (outside the info dict: same infohash)."""
    decoded: Any = lt.bdecode(metainfo)
    key = b"url-list" if b"info" in decoded else "url-list"
    if web_seeds:
        decoded[key] = [u.encode() if isinstance(key, bytes) else u for u in web_seeds]
    else:
        decoded.pop(key, None)
    return bytes(lt.bencode(decoded))
