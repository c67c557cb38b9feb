"""Cover images: what a picture really is, read from its bytes (pure, no image library).

``check_image`` accepts JPEG, PNG and WebP only, recognised by their magic bytes (never by
a name or a tag's claimed MIME type), at most ``MAX_ARTWORK`` bytes, with dimensions read
from the header and between 1 and ``MAX_SIDE`` pixels a side, ``MAX_PIXELS`` in all (a few
hundred KB of PNG can declare 16384 × 16384 pixels: a gigabyte once decoded, a
decompression bomb for the browser that shows it).  Anything else raises
``UnsupportedMediaError`` with the reason.  The pixels are not decoded: browsers decode
them, in the web app's origin with ``nosniff`` and the type found here.

Sources: PNG (ISO/IEC 15948 §5.2 signature, §11.2.2 IHDR); JPEG (ITU-T T.81 Annex B: SOI,
marker segments, SOFn frame header); WebP (RIFF container; VP8 key frame header RFC 6386
§9.1, VP8L header, VP8X extended header — Google's WebP container specification).

``find_cover_file`` looks for the conventional cover next to audio files.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from osp.content.probe import open_regular
from osp.core.errors import UnsupportedMediaError

MAX_ARTWORK = 4 * 1024 * 1024  #: bytes
MAX_SIDE = 16384  #: pixels, either side
MAX_PIXELS = 8192 * 8192  #: pixels in all (64 Mi: below Pillow's decompression-bomb limit of ~89 M)
#: file names of a folder's cover, in the order they are preferred (compared case-insensitively)
COVER_NAMES = ("cover.jpg", "cover.jpeg", "cover.png", "cover.webp", "folder.jpg", "folder.jpeg", "folder.png",
               "front.jpg", "front.jpeg", "front.png", "album.jpg", "album.png")
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


@dataclass(frozen=True)
class ImageInfo:
    """A checked image: ``mime`` (``image/jpeg``, ``image/png`` or ``image/webp``),
    ``width`` and ``height`` in pixels, ``size`` in bytes."""

    mime: str
    width: int
    height: int
    size: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.mime]


def _bad(why: str) -> UnsupportedMediaError:
    return UnsupportedMediaError(f"cover art: {why}")


def check_image(data: bytes) -> ImageInfo:
    """The kind and size of ``data`` (module doc); ``UnsupportedMediaError`` otherwise."""
    if len(data) > MAX_ARTWORK:
        raise _bad(f"more than the {MAX_ARTWORK // (1024 * 1024)} MiB allowed")
    if not data:
        raise _bad("empty")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime, (width, height) = "image/png", _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        mime, (width, height) = "image/jpeg", _jpeg(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime, (width, height) = "image/webp", _webp(data)
    else:
        raise _bad("not a JPEG, PNG or WebP image")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise _bad(f"{width}×{height} pixels: each side must be 1 to {MAX_SIDE}")
    if width * height > MAX_PIXELS:
        raise _bad(f"{width}×{height} pixels: more than {MAX_PIXELS // (1024 * 1024)} Mi pixels (a decompression bomb)")
    return ImageInfo(mime, width, height, len(data))


def _png(data: bytes) -> tuple[int, int]:
    if len(data) < 33 or data[12:16] != b"IHDR" or not data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82"):
        raise _bad("truncated or malformed PNG")
    width, height = struct.unpack_from(">II", data, 16)
    return int(width), int(height)


_FILL = re.compile(rb"\xff+")
MAX_JPEG_MARKERS = 4096  #: markers read looking for the frame header
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> tuple[int, int]:
    if b"\xff\xd9" not in data[-1024:]:
        raise _bad("truncated JPEG (no end-of-image marker)")
    pos = 2
    for _segment in range(MAX_JPEG_MARKERS):  # a real JPEG has a few dozen before its frame header
        if pos + 4 > len(data):
            break
        if data[pos] != 0xFF:
            raise _bad("malformed JPEG (a marker was expected)")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill bytes: skip the whole run at once
            run = _FILL.match(data, pos + 1)
            pos = run.end() - 1 if run is not None else pos + 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if length < 2:
            raise _bad("malformed JPEG segment")
        if marker in _SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return int(width), int(height)
        if marker in (0xD9, 0xDA):  # end of image or scan data before any frame header
            break
        pos += 2 + length
    raise _bad("JPEG without a frame header")


def _webp(data: bytes) -> tuple[int, int]:
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if 8 + riff_size > len(data) or len(data) < 30:
        raise _bad("truncated WebP")
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", data, 26)
        return int(w & 0x3FFF), int(h & 0x3FFF)
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    raise _bad("malformed WebP")


def find_cover_file(folder: Path) -> Path | None:
    """The folder's cover image by its conventional name (``COVER_NAMES``), a regular file
    (not a symlink), or ``None``.  Its bytes are checked by ``check_image`` when used."""
    try:
        names = {p.name.casefold(): p for p in folder.iterdir() if not p.name.startswith(".")}
    except OSError:
        return None
    for wanted in COVER_NAMES:
        p = names.get(wanted)
        if p is not None and not p.is_symlink() and p.is_file():
            return p
    return None


def read_image(path: Path) -> tuple[bytes, ImageInfo]:
    """Read and check the image file at ``path`` (at most ``MAX_ARTWORK`` bytes are read);
    ``UnsupportedMediaError`` (not an image we take, too big, unreadable)."""
    try:
        with open_regular(path) as f:  # a FIFO named cover.jpg is refused, not waited on
            data = f.read(MAX_ARTWORK + 1)
    except IsADirectoryError:
        raise UnsupportedMediaError(f"{path.name}: a directory, not an image") from None
    except OSError as exc:
        raise UnsupportedMediaError(f"{path.name}: cannot read: {exc.strerror or exc}") from exc
    try:
        return data, check_image(data)
    except UnsupportedMediaError as exc:
        raise UnsupportedMediaError(f"{path.name}: {exc.message}") from None
