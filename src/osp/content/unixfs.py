"""Streaming UnixFS file importer: bytes in, blocks and a root CID out (sans-IO).

Source: UnixFS spec (https://specs.ipfs.tech/unixfs/) and IPIP-499 import profiles
(https://specs.ipfs.tech/ipips/ipip-0499/).  The DAG shape reproduces
``ipfs-unixfs-importer``'s fixed-size chunker + balanced builder:

* chunks of ``chunk_size`` bytes (the last one shorter; an empty file is one empty chunk);
* leaves grouped left to right ``max_links`` at a time into parent file nodes, level by
  level, until one node remains (a group of one is still wrapped, so a 175-leaf file in
  a 174-link profile has a root with two children);
* a file of a single chunk is that leaf itself (``reduceSingleLeafToSelf``);
* parent ``Tsize`` = child block length + its children's Tsize (cumulative DAG size).

Memory is O(chunk_size + max_links × depth): no leaf is kept after it is hashed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from osp.content.cid import CID, DAG_PB, RAW, varint_encode
from osp.content.dagpb import PBLink, encode_node, encode_unixfs_file

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True)
class Profile:
    """An import profile (IPIP-499 names).

    ``cid_version`` 0 or 1; ``raw_leaves`` stores chunks as ``raw`` blocks instead of
    UnixFS-wrapped dag-pb; ``chunk_size`` in bytes; ``max_links`` per parent node.
    """

    name: str
    cid_version: int
    raw_leaves: bool
    chunk_size: int
    max_links: int


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("unixfs-v1-2025", 1, True, 1 * MiB, 1024),
        Profile("kubo-cidv1-256k-174", 1, True, 256 * KiB, 174),
        Profile("unixfs-v0-2015", 0, False, 256 * KiB, 174),
    )
}
DEFAULT_PROFILE = "unixfs-v1-2025"


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ``ValueError`` listing the known names otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown CID profile {name!r}; known: {', '.join(PROFILES)}") from None


@dataclass(frozen=True)
class Block:
    """One block of the DAG.

    ``data`` holds the block bytes of parent nodes; leaves carry ``data=None`` and point
    into the file with ``offset``/``length`` (bytes; ``wrapped_leaf_envelope`` rebuilds a
    wrapped v0 leaf).  ``offset`` is -1 for parent nodes.
    """

    cid: CID
    data: bytes | None
    offset: int
    length: int


@dataclass
class _Entry:
    cid: CID
    tsize: int  # cumulative DAG size (Tsize)
    filesize: int  # file bytes below this entry (blocksize)


def leaf_block(profile: Profile, chunk: bytes | memoryview) -> tuple[CID, int]:
    """The leaf for ``chunk``: ``(cid, tsize)``.

    Raw leaves hash the chunk itself; wrapped (v0) leaves hash ``prefix || chunk ||
    suffix`` of the dag-pb/UnixFS envelope incrementally, without copying the chunk.
    """
    if profile.raw_leaves:
        return CID(profile.cid_version, RAW, hashlib.sha256(chunk).digest()), len(chunk)
    prefix, suffix = wrapped_leaf_envelope(len(chunk))
    h = hashlib.sha256(prefix)
    h.update(chunk)
    h.update(suffix)
    return CID(profile.cid_version, DAG_PB, h.digest()), len(prefix) + len(chunk) + len(suffix)


def wrapped_leaf_envelope(length: int) -> tuple[bytes, bytes]:
    """``(prefix, suffix)`` such that ``prefix + chunk + suffix`` is the dag-pb block of a
    UnixFS file leaf holding ``length`` bytes (``encode_node(encode_unixfs_file(chunk))``)."""
    if length == 0:
        return encode_node(encode_unixfs_file(b"")), b""
    inner_prefix = b"\x08\x02\x12" + varint_encode(length)
    inner_suffix = b"\x18" + varint_encode(length)
    inner_len = len(inner_prefix) + length + len(inner_suffix)
    return b"\x0a" + varint_encode(inner_len) + inner_prefix, inner_suffix


@dataclass
class UnixfsImporter:
    """Sans-IO importer: ``feed`` bytes, then ``finish`` for the root.

    Both return the blocks completed by that call, leaves first, each parent after its
    children.  ``finish`` returns ``(root_cid, blocks)``; the importer is then spent.
    """

    profile: Profile
    _buffer: bytearray = field(default_factory=bytearray)
    _levels: list[list[_Entry]] = field(default_factory=list)
    _offset: int = 0
    _chunks: int = 0
    _done: bool = False

    def feed(self, data: bytes | memoryview) -> list[Block]:
        """Add file bytes; return blocks completed so far."""
        if self._done:
            raise RuntimeError("importer already finished")
        out: list[Block] = []
        size = self.profile.chunk_size
        view = memoryview(data)
        if self._buffer:
            take = min(size - len(self._buffer), len(view))
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == size:
                self._add_chunk(memoryview(self._buffer), out)
                self._buffer = bytearray()
        while len(view) >= size:
            self._add_chunk(view[:size], out)
            view = view[size:]
        if len(view):
            self._buffer += view
        return out

    def finish(self) -> tuple[CID, list[Block]]:
        """Flush the last chunk and build the remaining parents; returns ``(root, blocks)``."""
        out: list[Block] = []
        if self._buffer or self._chunks == 0:
            self._add_chunk(memoryview(bytes(self._buffer)), out)
            self._buffer = bytearray()
        self._done = True
        level = 0
        while True:
            pending = self._levels[level]
            higher = any(self._levels[i] for i in range(level + 1, len(self._levels)))
            if not higher and len(pending) == 1:
                return pending[0].cid, out
            if pending:
                self._reduce(level, out)
            level += 1

    def _add_chunk(self, chunk: memoryview, out: list[Block]) -> None:
        cid, tsize = leaf_block(self.profile, chunk)
        out.append(Block(cid, None, self._offset, len(chunk)))
        self._offset += len(chunk)
        self._chunks += 1
        self._push(0, _Entry(cid, tsize, len(chunk)), out)

    def _push(self, level: int, entry: _Entry, out: list[Block]) -> None:
        while len(self._levels) <= level + 1:
            self._levels.append([])
        self._levels[level].append(entry)
        if len(self._levels[level]) == self.profile.max_links:
            self._reduce(level, out)

    def _reduce(self, level: int, out: list[Block]) -> None:
        children = [e for e in self._levels[level] if e.filesize > 0]
        self._levels[level] = []
        data = encode_unixfs_file(b"", [e.filesize for e in children])
        block = encode_node(data, [PBLink(e.cid, "", e.tsize) for e in children])
        cid = CID(self.profile.cid_version, DAG_PB, hashlib.sha256(block).digest())
        out.append(Block(cid, block, -1, 0))
        tsize = len(block) + sum(e.tsize for e in children)
        self._push(level + 1, _Entry(cid, tsize, sum(e.filesize for e in children)), out)


def read_chunks(stream: BinaryIO, chunk_size: int) -> Iterator[memoryview]:
    """Yield ``chunk_size`` views of ``stream`` (the last may be shorter); one buffer reused.

    The views are only valid until the next iteration.
    """
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    while True:
        filled = 0
        while filled < chunk_size:
            n = stream.readinto(view[filled:])  # type: ignore[attr-defined]
            if not n:
                break
            filled += n
        if filled == 0:
            return
        yield view[:filled]
        if filled < chunk_size:
            return


def import_stream(
    chunks: Iterable[bytes | memoryview],
    profile: str | Profile = DEFAULT_PROFILE,
    on_block: Callable[[Block], None] | None = None,
) -> CID:
    """Root CID of the concatenated ``chunks``; each finished block goes to ``on_block``."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    importer = UnixfsImporter(prof)
    for chunk in chunks:
        for block in importer.feed(chunk):
            if on_block:
                on_block(block)
    root, blocks = importer.finish()
    if on_block:
        for block in blocks:
            on_block(block)
    return root


def cid_of_file(path: Path, profile: str | Profile = DEFAULT_PROFILE) -> CID:
    """Root CID of the file at ``path`` (like ``ipfs add --only-hash``); flat memory."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    with open(path, "rb", buffering=0) as f:
        return import_stream(read_chunks(f, prof.chunk_size), prof)


def cid_of_bytes(data: bytes, profile: str | Profile = DEFAULT_PROFILE) -> CID:
    """Root CID of in-memory ``data``."""
    return import_stream([data], profile)
