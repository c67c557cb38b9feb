from pathlib import Path

import pytest

from osp.content.probe import probe
from osp.core.errors import UnsupportedMediaError

MIME = {"mp3": "audio/mpeg", "ogg": "audio/ogg", "opus": "audio/opus", "flac": "audio/flac", "wav": "audio/wav",
        "m4a": "audio/mp4"}


@pytest.mark.parametrize("fmt", list(MIME))
def test_probe_reads_real_audio(audio_files: dict[str, Path], fmt: str) -> None:
    info = probe(audio_files[fmt])
    assert info.mime == MIME[fmt]
    assert 11.5 < info.duration < 12.5
    assert info.sample_rate in (44100, 48000) and info.channels == 2
    assert info.bitrate and info.bitrate > 32
    assert info.title == "Intro Excerpt" and info.artist == "Frozen-Bubble Team"


def test_probe_full_length_game_music(music: list[Path]) -> None:
    info = probe(music[0])
    assert info.kind == "vorbis" and 190 < info.duration < 200


@pytest.mark.parametrize("fmt", list(MIME))
def test_truncated_files_are_refused(audio_files: dict[str, Path], fmt: str, tmp_path: Path) -> None:
    data = audio_files[fmt].read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnsupportedMediaError, match="truncated"):
        probe(cut)


def test_lying_extension_is_refused(audio_files: dict[str, Path], tmp_path: Path) -> None:
    liar = tmp_path / "song.flac"
    liar.write_bytes(audio_files["mp3"].read_bytes())
    with pytest.raises(UnsupportedMediaError, match="name says .flac but the content is MP3"):
        probe(liar)


@pytest.mark.parametrize("content", [b"", b"hello world\n" * 100, b"%PDF-1.7\n" + bytes(1000), b"\x89PNG\r\n\x1a\n" + bytes(100)])
def test_non_audio_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.mp3"
    path.write_bytes(content)
    with pytest.raises(UnsupportedMediaError):
        probe(path)


def test_unknown_extension_with_real_audio_is_accepted(audio_files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "track.bin"
    path.write_bytes(audio_files["flac"].read_bytes())
    assert probe(path).mime == "audio/flac"
