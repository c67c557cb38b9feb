"""The OSP v0.1 piece-length rule (spec §"Torrent"): boundaries, the spec's vectors, and the
torrents that publish and the gateway fetch make with it (v1 and hybrid)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import libtorrent as lt
import pytest

from osp.content.testdata import chacha_stream
from osp.core.errors import CallerError
from osp.distribution.engine import make_hybrid_torrent, make_v1_torrent, parse_metainfo
from osp.distribution.pieces import MAX_PIECE_LENGTH, MIN_PIECE_LENGTH, piece_count, piece_length_for
from osp.identity import SigningKey
from osp.library import Library
from osp.node.publish import ImportSink, TrackMetadata, publish_file
from tests.conftest import need
from tests.interop.fakes import bencode

KiB, MiB = 1024, 1024 * 1024
VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "pieces.json"


@pytest.mark.parametrize(("size", "length"), [
    (0, 16 * KiB),
    (1, 16 * KiB),
    (16 * KiB, 16 * KiB),
    (3 * 10**6, 16 * KiB),
    (1024 * 16 * KiB, 16 * KiB),  # exactly 1024 pieces of the minimum
    (1024 * 16 * KiB + 1, 32 * KiB),  # one byte more: 1025 pieces would be too many
    (1024 * 32 * KiB, 32 * KiB),
    (1024 * 32 * KiB + 1, 64 * KiB),
    (50 * 10**6, 64 * KiB),
    (500 * 10**6, 512 * KiB),
    (1024 * 8 * MiB, 8 * MiB),
    (1024 * 16 * MiB, 16 * MiB),
    (1024 * 16 * MiB + 1, 16 * MiB),  # the cap: more than 1024 pieces from 16 GiB on
    (2**50, MAX_PIECE_LENGTH),
])
def test_piece_length_rule_boundaries(size: int, length: int) -> None:
    assert piece_length_for(size) == length
    if 0 < size <= 1024 * MAX_PIECE_LENGTH:
        assert piece_count(size) <= 1024
        assert length == MIN_PIECE_LENGTH or piece_count(size) > 512  # the smallest power of two that fits


def test_piece_length_refuses_a_negative_size() -> None:
    with pytest.raises(ValueError):
        piece_length_for(-1)


def load() -> list[dict[str, Any]]:
    return json.loads(VECTORS.read_text())["vectors"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("vector", load(), ids=lambda v: str(v["size"]))
def test_piece_length_vectors(vector: dict[str, Any]) -> None:
    assert piece_length_for(vector["size"]) == vector["pieceLength"]
    assert piece_count(vector["size"]) == vector["pieces"]


@pytest.mark.parametrize("vector", json.loads(VECTORS.read_text())["torrents"], ids=lambda v: str(v["size"]))
def test_torrent_vectors_by_hand(vector: dict[str, Any]) -> None:
    """The infohash is SHA-1 of the bencoded BEP 3 info dict with exactly four keys, built
    here without libtorrent, and ``make_v1_torrent`` makes the same torrent."""
    data = b"".join(chacha_stream(vector["seed"], vector["size"]))
    n = vector["pieceLength"]
    assert n == piece_length_for(len(data))
    hashes = [hashlib.sha1(data[i:i + n]).digest() for i in range(0, len(data), n)]
    info = {"length": len(data), "name": vector["name"], "piece length": n, "pieces": b"".join(hashes)}
    assert hashlib.sha1(bencode(info)).hexdigest() == vector["infohash"]
    assert parse_metainfo(make_v1_torrent(vector["name"], len(data), hashes)).infohash == vector["infohash"]


def v1_pieces(metainfo: bytes) -> bytes:
    info = lt.bdecode(metainfo)[b"info"]
    return info[b"pieces"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", [1, 16 * KiB - 1, 16 * KiB, 700_000, 16 * MiB + 1, 17 * MiB + 12_345])
def test_import_sink_hashes_pieces_of_the_rule_for_any_write_size(size: int, tmp_path: Path) -> None:
    """The one-pass SHA-1 hasher: pieces smaller and larger than a write, writes ending
    mid-piece; the torrent libtorrent builds from the same file has the same pieces."""
    data = hashlib.shake_256(b"osp-pieces").digest(size)
    with open(tmp_path / "out", "wb") as out:
        sink = ImportSink("unixfs-v1-2025", out, size)
        try:
            for start in range(0, size, 100_003):  # writes end inside pieces and span several
                sink.write(data[start:start + 100_003])
            imported = sink.finish(tmp_path / "out")
        finally:
            sink.close()
    length = piece_length_for(size)
    assert imported.piece_hashes == [hashlib.sha1(data[i:i + length]).digest() for i in range(0, size, length)]
    ours = make_v1_torrent("x.ogg", size, imported.piece_hashes)
    assert parse_metainfo(ours).piece_length == length
    fs = lt.file_storage()
    fs.add_file("x.ogg", size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the binding's only single-file constructor
        ct = lt.create_torrent(fs, length, lt.create_torrent.v1_only)
    (tmp_path / "x.ogg").write_bytes(data)
    lt.set_piece_hashes(ct, str(tmp_path))
    assert v1_pieces(ours) == v1_pieces(bytes(lt.bencode(ct.generate())))


def test_import_sink_refuses_a_file_that_changed_size(tmp_path: Path) -> None:
    with open(tmp_path / "out", "wb") as out:
        sink = ImportSink("unixfs-v1-2025", out, 1000)
        try:
            sink.write(b"x" * 999)
            with pytest.raises(CallerError, match="changed while it was read"):
                sink.finish(tmp_path / "out")
        finally:
            sink.close()


def test_empty_file_has_no_torrent(tmp_path: Path) -> None:
    (tmp_path / "empty.ogg").write_bytes(b"")
    with pytest.raises(CallerError):
        make_v1_torrent("empty.ogg", 0, [])
    with pytest.raises(CallerError):
        make_hybrid_torrent(tmp_path / "empty.ogg")


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Path:
    """~17.6 MB of real audio (100 s of PCM WAV): past 16 MiB, so the rule gives 32 KiB pieces."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    out = tmp_path_factory.mktemp("long") / "long.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(music[0]), "-t", "100",
                    "-c:a", "pcm_s16le", str(out)], check=True, timeout=60)
    return out


@pytest.mark.parametrize("hybrid", [False, True], ids=["v1", "hybrid"])
@pytest.mark.parametrize("which", ["ogg", "wav"])
def test_publish_uses_the_rule(which: str, hybrid: bool, tmp_path: Path, music: list[Path], long_wav: Path) -> None:
    path = music[0] if which == "ogg" else long_wav
    with Library(tmp_path / "library.sqlite3") as lib:
        result = publish_file(path, TrackMetadata(title="T"), key=SigningKey.from_seed(bytes(32)), library=lib,
                              media_dir=tmp_path / "media", hybrid=hybrid)
    mi = parse_metainfo(result.metainfo)
    size = path.stat().st_size
    assert mi.size == size and mi.piece_length == piece_length_for(size)
    assert mi.piece_length == (16 * KiB if which == "ogg" else 32 * KiB)
    assert (mi.infohash_v2 is not None) == hybrid
    data = path.read_bytes()
    n = mi.piece_length
    assert v1_pieces(result.metainfo) == b"".join(hashlib.sha1(data[i:i + n]).digest() for i in range(0, size, n))
