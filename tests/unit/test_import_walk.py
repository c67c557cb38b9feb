"""Cover image checks (osp.content.artwork) and the bulk import's folder walk (osp.node.bulk.walk)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from osp.content.artwork import MAX_ARTWORK, check_image, find_cover_file
from osp.core.errors import UnsupportedMediaError
from osp.node.bulk import walk
from tests.conftest import need


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    out = tmp_path_factory.mktemp("images")
    made = {}
    for name, args in {"a.png": [], "a.jpg": [], "a.webp": ["-c:v", "libwebp"],
                       "lossless.webp": ["-c:v", "libwebp", "-lossless", "1"]}.items():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=teal:s=120x90", "-frames:v", "1",
                        *args, str(out / name)], check=True, timeout=30)
        made[name] = (out / name).read_bytes()
    return made


@pytest.mark.parametrize("name, mime", [("a.png", "image/png"), ("a.jpg", "image/jpeg"), ("a.webp", "image/webp"),
                                        ("lossless.webp", "image/webp")])
def test_real_images_are_recognised_by_their_bytes(images: dict[str, bytes], name: str, mime: str) -> None:
    info = check_image(images[name])
    assert (info.mime, info.width, info.height, info.size) == (mime, 120, 90, len(images[name]))


def test_bad_images_are_refused(images: dict[str, bytes]) -> None:
    png, jpg = images["a.png"], images["a.jpg"]
    for data, why in [(b"", "empty"), (b"GIF89a" + b"\0" * 50, "not a JPEG, PNG or WebP"),
                      (png[:40], "truncated"), (jpg[: len(jpg) // 2], "truncated JPEG"),
                      (png + b"\0" * MAX_ARTWORK, "MiB allowed"),
                      (png[:16] + struct.pack(">II", 0, 90) + png[24:], "each side"),
                      (png[:16] + struct.pack(">II", 100_000, 90) + png[24:], "each side")]:
        with pytest.raises(UnsupportedMediaError, match=why):
            check_image(data)


def test_walk(tmp_path: Path) -> None:
    root = tmp_path / "exports"
    (root / "a" / "b").mkdir(parents=True)
    for rel in ("1.mp3", "a/2.ogg", "a/b/3.flac", ".hidden.mp3", "a/cover.JPG", "notes.txt"):
        (root / rel).write_bytes(b"x")
    (root / ".git").mkdir()
    (root / ".git" / "x.mp3").write_bytes(b"x")
    (root / "x.mp3").mkdir()
    (root / "dangling.mp3").symlink_to(root / "nope")
    (root / "inside.mp3").symlink_to(root / "1.mp3")
    (root / "out.ogg").symlink_to(tmp_path / "elsewhere.ogg")
    (tmp_path / "elsewhere.ogg").write_bytes(b"x")
    (root / "loop").symlink_to(root)  # a link to a folder: never followed
    found = walk([root], recursive=True)
    names = [str(p.relative_to(root)) for p, _ in found.files]
    assert names == ["1.mp3", "a/2.ogg", "a/b/3.flac", "inside.mp3", "notes.txt"]
    assert {str(r.path.relative_to(root)): r.reason for r in found.refused} == {
        "dangling.mp3": "a dangling symbolic link", "x.mp3": "a folder, not an audio file",
        "out.ogg": "a symbolic link out of the folder: not followed"}
    assert found.covers == {root / "a": root / "a" / "cover.JPG"}
    flat = walk([root], recursive=False)
    assert [p.name for p, _ in flat.files] == ["1.mp3", "inside.mp3", "notes.txt"]
    deep = walk([root], recursive=True, max_depth=1)
    assert "deeper than 1 folders" in next(r.reason for r in deep.refused if r.path == root / "a" / "b")
    capped = walk([root], recursive=True, max_files=2)
    assert len(capped.files) == 2 and sum("too many files" in r.reason for r in capped.refused) == 1
    assert [r.reason for r in walk([tmp_path / "missing"], recursive=True).refused] == ["no such file or folder"]


def test_cover_file_is_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "folder.jpg").symlink_to("/etc/hostname")
    assert find_cover_file(tmp_path) is None
    (tmp_path / "Cover.png").write_bytes(b"x")
    assert find_cover_file(tmp_path) == tmp_path / "Cover.png"


def _png(width: int, height: int, rows: int | None = None) -> bytes:
    """A real 8-bit greyscale PNG of ``width`` × ``height`` black pixels (zlib-compressed
    rows of zeros: a few hundred KB for a hundred million pixels)."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    z = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    idat = b"".join(z.compress(row) for _ in range(height if rows is None else rows)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_by_its_pixel_count() -> None:
    from osp.content.artwork import MAX_PIXELS, MAX_SIDE

    bomb = _png(12000, 12000)  # 144 M pixels in ~150 KB: each side within MAX_SIDE
    assert len(bomb) < MAX_ARTWORK // 8 and 12000 <= MAX_SIDE
    with pytest.raises(UnsupportedMediaError, match="decompression bomb"):
        check_image(bomb)
    assert check_image(_png(8192, MAX_PIXELS // 8192, rows=1)).width == 8192  # the cap itself is allowed


def test_jpeg_fill_bytes_are_skipped_in_runs() -> None:
    """4 MiB of 0xFF fill bytes, or of fill runs between no-length markers (1.4 M markers), cost
    little time: fill runs are skipped at once and markers counted."""
    import time

    for body in (b"\xff" * (MAX_ARTWORK - 8), b"\xff\xff\x01" * ((MAX_ARTWORK - 8) // 3)):
        started = time.monotonic()
        with pytest.raises(UnsupportedMediaError, match="frame header"):
            check_image(b"\xff\xd8" + body + b"\xff\xd9")
        assert time.monotonic() - started < 1.0
