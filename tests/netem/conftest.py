"""Fixtures for the real-link tests: an emulated network (skipped without root, a failure
in CI, where root is available) and the music they stream."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI, need
from tests.netem.harness import Network, netns_available


@pytest.fixture
def net() -> Iterator[Network]:
    """A fresh bridge; every host and process on it is gone after the test."""
    reason = netns_available()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason}: CI runs as root")
        pytest.skip(reason)
    with Network() as network:
        yield network


@pytest.fixture(scope="session")
def mp3(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Path:
    """An MP3 (128 kbit/s, ~2.8 MB, ~3 minutes) of real music."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    out = tmp_path_factory.mktemp("netem") / "track.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(music[1]), "-c:a", "libmp3lame", "-b:a", "128k", str(out)],
                   check=True, timeout=120)
    return out
