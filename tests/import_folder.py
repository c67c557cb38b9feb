"""A folder of exports for the bulk-import tests, made by ffmpeg from real music: good files
in several formats with tags, embedded cover art and generator metadata, duplicates,
broken and non-audio files, a nested folder, and entries that cannot be read."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import need

#: the 4 tracks that publish; then the 2 duplicates; then the 7 refusals (recursive import)
PUBLISHED = ("01 Neon.mp3", "02 Tide.flac", "03 Suno export.m4a", "album/04 Intro.ogg")
DUPLICATES = ("copy of 01.mp3", "album/02 again.flac")
REFUSED = ("broken.mp3", "truncated.flac", "notes.txt", "photo.jpg", "gone.mp3", "dir.mp3", "outside.ogg")
TOP_LEVEL = {"published": 3, "already": 1, "refused": 7}  #: without --recursive (album/ not entered)


@dataclass(frozen=True)
class ExportFolder:
    root: Path
    jpeg: bytes  #: embedded in 01 (ID3 APIC)
    png: bytes  #: embedded in 02 and 03
    folder_cover: bytes  #: album/cover.jpg (for the Ogg file, which has no picture)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


def _image(target: Path, color: str, size: str) -> bytes:
    _ffmpeg("-f", "lavfi", "-i", f"color=c={color}:s={size}", "-frames:v", "1", str(target))
    return target.read_bytes()


def _meta(**tags: str) -> list[str]:
    return [arg for k, v in tags.items() for arg in ("-metadata", f"{k}={v}")]


def make_export_folder(root: Path, music: list[Path]) -> ExportFolder:
    """The folder (module doc) under ``root`` (created)."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    root.mkdir(parents=True)
    (root / "album").mkdir()
    work = root.parent / f"{root.name}-work"
    work.mkdir()
    jpeg = _image(work / "front.jpg", "navy", "96x96")
    png = _image(work / "front.png", "orange", "80x60")
    cover = _image(root / "album" / "cover.jpg", "green", "64x64")
    cut = ["-t", "4"]
    _ffmpeg("-i", str(music[0]), "-i", str(work / "front.jpg"), *cut, "-map", "0:a", "-map", "1", "-c:a", "libmp3lame",
            "-b:a", "96k", "-c:v", "copy", "-disposition:v", "attached_pic", "-id3v2_version", "4",
            *_meta(title="Neon Rain", artist="Ada Lovelace", album="Circuits", genre="Synthwave", date="2024-05-06",
                   lyrics="neon rain on the wire", generator="Suno", model="chirp-v3.5", prompt="rainy synthwave",
                   seed="1234567", ai_generated="true"),
            str(root / PUBLISHED[0]))
    _ffmpeg("-i", str(music[1]), "-i", str(work / "front.png"), *cut, "-map", "0:a", "-map", "1", "-c:a", "flac",
            "-c:v", "copy", "-disposition:v", "attached_pic",
            *_meta(title="Tide", artist="Ada Lovelace", album="Circuits", genre="Ambient; Chiptune", date="2023",
                   lyrics="low tide", ai_generated="no"),
            str(root / PUBLISHED[1]))
    _ffmpeg("-i", str(music[2]), "-i", str(work / "front.png"), *cut, "-map", "0:a", "-map", "1", "-c:a", "aac",
            "-c:v", "copy", "-disposition:v", "attached_pic",
            *_meta(title="Suno Export", artist="Ada Lovelace", comment="Made with Suno", date="2025-01-31"),
            str(root / PUBLISHED[2]))
    _ffmpeg("-i", str(music[0]), "-ss", "20", *cut, "-c:a", "libvorbis",
            *_meta(title="Intro", artist="Ada Lovelace", album="Circuits", date="2022-12"),
            str(root / PUBLISHED[3]))
    shutil.copyfile(root / PUBLISHED[0], root / DUPLICATES[0])
    shutil.copyfile(root / PUBLISHED[1], root / DUPLICATES[1])
    shutil.copyfile(root / PUBLISHED[0], root / ".hidden.mp3")  # hidden: never looked at
    (root / "broken.mp3").write_bytes(os.urandom(50_000))
    flac = (root / PUBLISHED[1]).read_bytes()
    (root / "truncated.flac").write_bytes(flac[: len(flac) // 2])
    (root / "notes.txt").write_text("lyrics drafts\n")
    shutil.copyfile(work / "front.jpg", root / "photo.jpg")
    (root / "gone.mp3").symlink_to(root / "no-such-file.mp3")
    (root / "dir.mp3").mkdir()
    (root / "outside.ogg").symlink_to(music[0])
    shutil.rmtree(work)
    return ExportFolder(root, jpeg, png, cover)
