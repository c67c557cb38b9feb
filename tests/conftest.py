"""Shared fixtures: real music from Debian's frozen-bubble-data, converted by ffmpeg
into every format the node accepts; helpers to run nodes on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

MUSIC_DIR = Path("/usr/share/games/frozen-bubble/snd")
MUSIC = [MUSIC_DIR / "introzik.ogg", MUSIC_DIR / "frozen-mainzik-1p.ogg", MUSIC_DIR / "frozen-mainzik-2p.ogg"]
IN_CI = os.environ.get("CI") == "true"


def need(condition: bool, what: str) -> None:
    """Skip locally when a tool is missing; in CI a missing tool is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{what} is missing in CI: scripts/system-packages.sh should install it")
        pytest.skip(f"{what} not installed")


@pytest.fixture(scope="session")
def music() -> list[Path]:
    """Three real music tracks (Ogg Vorbis, 2–3 MB, 3–5 minutes)."""
    need(all(p.exists() for p in MUSIC), "frozen-bubble-data")
    return MUSIC


@pytest.fixture(scope="session")
def audio_files(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> dict[str, Path]:
    """A 12-second excerpt of real music in each supported format, made by ffmpeg."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    out = tmp_path_factory.mktemp("formats")
    src = music[0]
    codecs = {
        "a.mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
        "a.ogg": ["-c:a", "libvorbis"],
        "a.opus": ["-c:a", "libopus"],
        "a.flac": ["-c:a", "flac"],
        "a.wav": ["-c:a", "pcm_s16le"],
        "a.m4a": ["-c:a", "aac"],
    }
    files = {}
    for name, args in codecs.items():
        target = out / name
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-t", "12", "-metadata", "title=Intro Excerpt",
             "-metadata", "artist=Frozen-Bubble Team", *args, str(target)],
            check=True, timeout=60,
        )
        files[name.split(".")[1]] = target
    return files


@pytest.fixture(scope="session")
def rendered_set(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Music of known tempo and key (``tests.audio_set.PIECES``: 12 pieces, ~24 s each,
    75–150 BPM, major and minor keys), written as MIDI and rendered by FluidSynth once
    per session; a list of ``tests.audio_set.Piece`` with ``path`` set (WAV, 44.1 kHz)."""
    from tests import audio_set

    need(audio_set.can_render(), "fluidsynth and fluid-soundfont-gm")
    return audio_set.render_set(tmp_path_factory.mktemp("rendered-set"))
