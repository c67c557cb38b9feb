"""Audio probing: what a file really is, read from its bytes.

The container is sniffed from magic bytes (never trusted from the name), structural
checks catch truncated files, and ``tinytag`` (MIT) reads duration, sample rate,
channels, bitrate and title/artist tags.  Supported: MP3, Ogg Vorbis, Ogg Opus, FLAC,
WAV and M4A/AAC.  Anything else, a truncated file, or a file whose extension names
another audio format raises ``UnsupportedMediaError`` with the reason.

Sources for the structural checks: ISO/IEC 14496-12 §4.2 (MP4 box sizes); RFC 3533 §6
(Ogg page ``header_type`` 0x04 = end of stream); RFC 9639 §8.2 / §9.1 (FLAC STREAMINFO
and frame header with CRC-8); the RIFF/WAVE chunk layout; the LAME Xing/Info tag (byte
count of the stream).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from osp.core.errors import UnsupportedMediaError

# container kind -> (MIME type, extensions that may name it)
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mp3": ("audio/mpeg", (".mp3",)),
    "vorbis": ("audio/ogg", (".ogg", ".oga")),
    "opus": ("audio/opus", (".opus", ".ogg", ".oga")),
    "flac": ("audio/flac", (".flac",)),
    "wav": ("audio/wav", (".wav", ".wave")),
    "m4a": ("audio/mp4", (".m4a", ".mp4", ".aac", ".m4b")),
}
AUDIO_EXTENSIONS = frozenset(ext for _, exts in FORMATS.values() for ext in exts)


def extension_of(mime: str) -> str:
    """The extension publish gives a file of MIME type ``mime`` (``"audio/ogg"`` → ``".ogg"``;
    ``".bin"`` for a type not in ``FORMATS``)."""
    return next((exts[0] for m, exts in FORMATS.values() if m == mime), ".bin")

TAIL = 65536


@dataclass(frozen=True)
class AudioInfo:
    """What a probe found.

    ``kind`` is a key of ``FORMATS``; ``mime`` its MIME type; ``duration`` seconds;
    ``sample_rate`` Hz; ``channels``; ``bitrate`` kbit/s; ``title``/``artist``/``album``
    and ``year`` from the file's tags, when present; ``size`` in bytes.
    """

    kind: str
    mime: str
    duration: float
    sample_rate: int | None
    channels: int | None
    bitrate: float | None
    title: str | None
    artist: str | None
    album: str | None
    year: str | None
    size: int

    @property
    def extension(self) -> str:
        return FORMATS[self.kind][1][0]


def _refuse(path: Path, why: str) -> UnsupportedMediaError:
    return UnsupportedMediaError(f"{path.name}: {why}", path=str(path))


def sniff(head: bytes) -> str | None:
    """Container kind from the first bytes of a file, or ``None``."""
    if head.startswith(b"ID3"):
        # ID3v2 in front: synchsafe size at 6..10, then the real stream
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        rest = head[10 + size :]
        if rest.startswith(b"fLaC"):
            return "flac"
        return "mp3"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        if b"OpusHead" in head[:128]:
            return "opus"
        if b"\x01vorbis" in head[:128]:
            return "vorbis"
        return None
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head[4:8] == b"ftyp" and head[8:12] in (b"M4A ", b"M4B ", b"mp42", b"isom", b"mp41", b"dash", b"iso5", b"iso6"):
        return "m4a"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "mp3"
    return None


def open_regular(path: Path | str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (a link to one counts), without
    ever blocking: a FIFO or a device swapped in for a file would otherwise hold the
    reader forever.  ``IsADirectoryError`` for a folder, ``OSError`` (``ENODEV``, "not a
    regular file (a FIFO, socket or device)") for anything else that is not a file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.ENODEV, "not a regular file (a FIFO, socket or device)", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def probe(path: Path) -> AudioInfo:
    """Probe the audio file at ``path``; ``UnsupportedMediaError`` if it is not one we accept
    (a FIFO or device in its place is refused, never waited on)."""
    try:
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(TAIL)
            f.seek(max(0, size - TAIL))
            tail = f.read(TAIL)
    except IsADirectoryError:
        raise _refuse(path, "is a directory, not an audio file") from None
    except OSError as exc:
        raise _refuse(path, f"cannot read: {exc.strerror}") from exc
    if size == 0:
        raise _refuse(path, "is empty")
    kind = sniff(head)
    if kind is None:
        raise _refuse(path, "is not an audio file we can publish (MP3, Ogg Vorbis, Opus, FLAC, WAV, M4A/AAC)")
    ext = path.suffix.lower()
    mime, exts = FORMATS[kind]
    if ext in AUDIO_EXTENSIONS and ext not in exts:
        raise _refuse(path, f"the name says {ext} but the content is {kind.upper()}; rename it or re-encode it")
    _CHECKS[kind](path, head, tail, size)
    info = _read_tags(path, kind, mime, size)
    return info


def _read_tags(path: Path, kind: str, mime: str, size: int) -> AudioInfo:
    from tinytag import TinyTag, TinyTagException

    try:
        tag = TinyTag.get(str(path))
    except (TinyTagException, struct.error, ValueError, IndexError, KeyError) as exc:
        raise _refuse(path, f"unreadable {kind.upper()} stream ({exc})") from exc
    if not tag.duration or tag.duration <= 0:
        raise _refuse(path, f"{kind.upper()} stream has no measurable duration")

    def text(value: object) -> str | None:
        return str(value).strip() or None if value else None

    return AudioInfo(
        kind=kind,
        mime=mime,
        duration=round(float(tag.duration), 3),
        sample_rate=int(tag.samplerate) if tag.samplerate else None,
        channels=int(tag.channels) if tag.channels else None,
        bitrate=round(float(tag.bitrate), 1) if tag.bitrate else None,
        title=text(tag.title),
        artist=text(tag.artist),
        album=text(tag.album),
        year=text(tag.year),
        size=size,
    )


def _check_ogg(path: Path, head: bytes, tail: bytes, size: int) -> None:
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 27:
        raise _refuse(path, "truncated Ogg stream (no final page)")
    header_type = tail[last + 5]
    nsegs = tail[last + 26]
    seg_table = tail[last + 27 : last + 27 + nsegs]
    body = sum(seg_table)
    if not header_type & 0x04 or last + 27 + nsegs + body > len(tail) or len(seg_table) < nsegs:
        raise _refuse(path, "truncated Ogg stream (the last page is not the end of stream)")


def _check_wav(path: Path, head: bytes, tail: bytes, size: int) -> None:
    riff_size = struct.unpack_from("<I", head, 4)[0]
    if 8 + riff_size > size:
        raise _refuse(path, f"truncated WAV file ({size} of {8 + riff_size} bytes)")
    pos = 12
    with open(path, "rb") as f:
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                if pos + 8 + chunk_size > size:
                    raise _refuse(path, "truncated WAV file (data chunk runs past the end)")
                return
            pos += 8 + chunk_size + (chunk_size & 1)
    raise _refuse(path, "WAV file without a data chunk")


def _check_m4a(path: Path, head: bytes, tail: bytes, size: int) -> None:
    pos, seen = 0, set()
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            hdr = f.read(16)
            if len(hdr) < 8:
                raise _refuse(path, "truncated MP4 box header")
            box_size, box_type = struct.unpack(">I4s", hdr[:8])
            if box_size == 1:
                box_size = struct.unpack(">Q", hdr[8:16])[0]
            elif box_size == 0:
                box_size = size - pos
            if box_size < 8 or pos + box_size > size:
                raise _refuse(path, f"truncated M4A file (box {box_type!r} runs past the end)")
            seen.add(box_type)
            pos += box_size
    if b"moov" not in seen or b"mdat" not in seen:
        raise _refuse(path, "M4A file without audio (no moov/mdat box)")


def _check_mp3(path: Path, head: bytes, tail: bytes, size: int) -> None:
    start = 0
    if head.startswith(b"ID3"):
        start = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
    frame = head[start : start + 200]
    for marker in (b"Xing", b"Info"):
        at = frame.find(marker)
        if at >= 0:
            flags = struct.unpack_from(">I", frame, at + 4)[0]
            off = at + 8 + (4 if flags & 1 else 0)
            if flags & 2 and len(frame) >= off + 4:
                stream_bytes = struct.unpack_from(">I", frame, off)[0]
                if start + stream_bytes > size + 1024:
                    raise _refuse(path, f"truncated MP3 ({size - start} of {stream_bytes} stream bytes)")
            return


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _flac_frame_start(buf: bytes, at: int, min_block: int, max_block: int) -> int | None:
    """First sample of the frame whose header starts at ``at``, if the CRC-8 checks."""
    b = buf[at : at + 16]
    if len(b) < 6:
        return None
    variable = b[1] & 1
    bs_code, sr_code = b[2] >> 4, b[2] & 0x0F
    if bs_code == 0 or sr_code == 0x0F or (b[3] & 0x0F) >> 0 & 1:
        return None
    first = b[4]
    n = 0
    while n < 7 and first & (0x80 >> n):
        n += 1
    if n == 1 or n > 6:
        return None
    value = first & (0x7F >> n) if n else first
    pos = 5
    for _ in range(max(n - 1, 0)):
        if pos >= len(b) or b[pos] & 0xC0 != 0x80:
            return None
        value = (value << 6) | (b[pos] & 0x3F)
        pos += 1
    pos += {6: 1, 7: 2}.get(bs_code, 0) + {12: 1, 13: 2, 14: 2}.get(sr_code, 0)
    if pos >= len(b) or _crc8(b[:pos]) != b[pos]:
        return None
    return value if variable else value * max_block


def _check_flac(path: Path, head: bytes, tail: bytes, size: int) -> None:
    at = head.find(b"fLaC")
    info = head[at + 8 : at + 8 + 34]
    if len(info) < 34:
        raise _refuse(path, "truncated FLAC header")
    min_block, max_block = struct.unpack_from(">HH", info, 0)
    packed = int.from_bytes(info[10:18], "big")
    total_samples = packed & ((1 << 36) - 1)
    if total_samples == 0:
        return  # unknown length (streamed encoder): nothing to compare against
    last_start = None
    pos = len(tail) - 2
    while pos >= 0:
        pos = tail.rfind(b"\xff", 0, pos + 1)
        if pos < 0:
            break
        if pos + 1 < len(tail) and tail[pos + 1] & 0xFE == 0xF8:
            start = _flac_frame_start(tail, pos, min_block, max_block)
            if start is not None:
                last_start = start
                break
        pos -= 1
    if last_start is None or last_start + max_block < total_samples:
        raise _refuse(path, "truncated FLAC stream (the last frame is before the declared end)")


_CHECKS = {
    "mp3": _check_mp3,
    "vorbis": _check_ogg,
    "opus": _check_ogg,
    "flac": _check_flac,
    "wav": _check_wav,
    "m4a": _check_m4a,
}
