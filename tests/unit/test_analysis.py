"""Audio analysis (``osp.provenance.analysis``) on real audio: the rendered set of known
tempo and key, real music in every format, level changes, a full-scale sine, broken files."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from osp.core.errors import CallerError, UnsupportedMediaError
from osp.provenance import analysis
from osp.provenance.analysis import VECTOR_DIM, analyse, best_key, decode, integrated_loudness, true_peak
from osp.provenance.analysis_worker import IsolatedAnalyser
from tests.audio_set import Piece
from tests.conftest import need

RELATIVE = {("major", 9): "minor", ("minor", 3): "major"}  # relative minor: 9 semitones up; major: 3


def key_relation(piece: Piece, tonic: str, mode: str) -> str:
    """How a measured key relates to the piece's: exact, relative, fifth, parallel or wrong."""
    interval = (analysis.PITCHES.index(tonic) - analysis.PITCHES.index(piece.tonic)) % 12
    if (interval, mode) == (0, piece.mode):
        return "exact"
    if RELATIVE.get((piece.mode, interval)) == mode:
        return "relative"
    if mode == piece.mode and interval in (5, 7):
        return "fifth"
    return "parallel" if interval == 0 else "wrong"


@pytest.fixture(scope="module")
def measured(rendered_set: list[Piece]) -> list[tuple[Piece, analysis.Analysis]]:
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    return [(p, analyse(p.path)) for p in rendered_set if p.path is not None]


@pytest.mark.slow  # ~30 s on two busy cores: 12 pieces of ~24 s
def test_tempo_and_key_accuracy_on_the_rendered_set(measured: list[tuple[Piece, analysis.Analysis]]) -> None:
    tempo = {"exact": 0, "octave": 0, "wrong": 0}
    keys = {"exact": 0, "relative": 0, "fifth": 0, "parallel": 0, "wrong": 0}
    for piece, a in measured:
        ratio = a.bpm / piece.bpm
        kind = "exact" if abs(ratio - 1) <= 0.02 else "octave" if any(
            abs(ratio - r) <= 0.02 * r for r in (0.5, 2.0, 2 / 3, 1.5)) else "wrong"
        tempo[kind] += 1
        keys[key_relation(piece, a.key, a.mode)] += 1
    n = len(measured)
    print(f"tempo within 2 %: {tempo['exact']}/{n} (octave errors {tempo['octave']}); key exact {keys['exact']}, "
          f"relative {keys['relative']}, fifth {keys['fifth']}, parallel {keys['parallel']}, wrong {keys['wrong']}")
    assert n == 12
    assert tempo["exact"] >= 0.8 * n  # measured: 12/12
    assert keys["exact"] + keys["relative"] >= 0.7 * n  # measured: 12/12 exact
    assert keys["exact"] >= 0.6 * n


@pytest.mark.slow
def test_vectors_are_normalised_and_similar_music_scores_higher(measured: list[tuple[Piece, analysis.Analysis]],
                                                                music: list[Path]) -> None:
    vectors = np.stack([np.frombuffer(a.vector, dtype="<f4") for _p, a in measured])
    assert vectors.shape == (12, VECTOR_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    real = np.frombuffer(analyse(music[1], seconds=60).vector, dtype="<f4")
    rendered_pairs = vectors @ vectors.T
    # two pieces of the rendered set (same kit, same kind of writing) are more alike than
    # a rendered piece and a real game soundtrack
    assert float(np.median(rendered_pairs[np.triu_indices(12, 1)])) > float(np.median(vectors @ real))


def test_every_format_decodes_and_measures_alike(audio_files: dict[str, Path]) -> None:
    results = {fmt: analyse(path) for fmt, path in audio_files.items()}
    wav = results["wav"]
    assert 11.5 <= wav.duration <= 12.5 and wav.version == analysis.ANALYSER_VERSION
    for fmt, a in results.items():
        assert abs(a.loudness - wav.loudness) < 1.0, fmt  # lossy codecs change loudness by a few tenths
        assert abs(a.true_peak - wav.true_peak) < 1.5, fmt
        # 12 s of real music: codec delays move onsets a little (measured: within 3.1 %)
        assert any(abs(a.bpm / wav.bpm - r) <= 0.05 * r for r in (1, 2, 0.5)), (fmt, a.bpm, wav.bpm)
        cos = float(np.frombuffer(a.vector, dtype="<f4") @ np.frombuffer(wav.vector, dtype="<f4"))
        assert cos > 0.95, (fmt, cos)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


def test_six_db_quieter_measures_six_lu_lower(audio_files: dict[str, Path], tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.wav"
    _ffmpeg("-i", str(audio_files["wav"]), "-af", "volume=-6dB", "-c:a", "pcm_f32le", str(quiet))
    loud, soft = analyse(audio_files["wav"]), analyse(quiet)
    assert abs((loud.loudness - soft.loudness) - 6.0) <= 0.5
    assert abs((loud.true_peak - soft.true_peak) - 6.0) <= 0.5


def test_full_scale_sine_true_peak_is_about_zero_dbtp(tmp_path: Path) -> None:
    rate = 48000
    t = np.arange(rate * 3) / rate
    sine = np.sin(2 * np.pi * 997 * t).astype(np.float32)
    assert abs(true_peak(sine)) < 0.1
    # a tone at a quarter of the rate, sampled off its crests: samples peak at -3 dB, the wave at 0 dBTP
    off = np.sin(2 * np.pi * (rate / 4) * t + math.pi / 4).astype(np.float32)
    assert float(20 * np.log10(np.max(np.abs(off)))) < -2.9
    assert -0.5 < true_peak(off) < 0.6
    # BS.1770: a 997 Hz sine at 0 dBFS on one channel measures -3.01 LUFS
    assert abs(integrated_loudness(sine, rate) - (-3.01)) < 0.1
    path = tmp_path / "sine.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=997:sample_rate=48000:duration=3", "-af", "volume=2.0",
            "-c:a", "pcm_f32le", str(path))  # ffmpeg's sine is at 1/8 amplitude: ×2 is -12 dBFS
    assert abs(analyse(path).true_peak - (-12.04)) < 0.2


def test_silence_measures_as_silence(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "5", "-c:a", "pcm_s16le", str(path))
    a = analyse(path)
    assert a.loudness == analysis.SILENCE_LUFS and a.true_peak == -200.0 and a.bpm == 0.0
    assert len(a.vector) == 4 * VECTOR_DIM


@pytest.mark.parametrize("content", [b"", b"not audio at all" * 100, b"OggS" + bytes(5000)])
def test_broken_files_are_clear_errors(tmp_path: Path, content: bytes) -> None:
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    path = tmp_path / "broken.ogg"
    path.write_bytes(content)
    with pytest.raises(UnsupportedMediaError, match="broken.ogg"):
        analyse(path)


def test_truncated_file_analyses_what_is_there(audio_files: dict[str, Path], tmp_path: Path) -> None:
    data = audio_files["mp3"].read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2])
    a = analyse(cut)
    assert 4 < a.duration < 8


def test_only_the_first_minutes_are_decoded(audio_files: dict[str, Path]) -> None:
    pcm = decode(audio_files["ogg"], 8000, 1, seconds=3)
    assert pcm.shape == (24000,) and pcm.dtype == np.float32
    stereo = decode(audio_files["flac"], 8000, None, seconds=2)
    assert stereo.shape == (16000, 2)


@pytest.mark.parametrize(("chroma", "expected"), [
    ([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88], ("C", "major")),
    (list(np.roll([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17], 9)), ("A", "minor")),
])
def test_key_profiles_find_their_own_key(chroma: list[Any], expected: tuple[str, str]) -> None:
    tonic, mode, confidence = best_key(np.asarray(chroma))
    assert (tonic, mode) == expected and confidence > 0.05


@pytest.mark.slow  # ~25 s: three workers start (librosa compiles its numba functions in each)
def test_the_worker_measures_the_same_and_is_capped(audio_files: dict[str, Path], tmp_path: Path) -> None:
    worker = IsolatedAnalyser()
    try:
        here = analyse(audio_files["ogg"])
        assert worker(audio_files["ogg"]) == here
        first = worker._proc
        broken = tmp_path / "broken.mp3"
        broken.write_bytes(b"ID3" + bytes(2000))
        with pytest.raises(UnsupportedMediaError, match="cannot decode broken.mp3"):
            worker(broken)
        assert worker(audio_files["wav"]).duration == analyse(audio_files["wav"]).duration
        assert worker._proc is first  # one worker for every file
    finally:
        worker.close()
    assert worker._proc is None and first is not None and first.poll() is not None
    small = IsolatedAnalyser(memory=400 << 20)  # numpy, librosa (and LLVM) do not fit: a clear error, not a crash
    with pytest.raises(CallerError, match=r"analys"):
        small(audio_files["ogg"])
    small.close()
    slow = IsolatedAnalyser(timeout=0.5)
    with pytest.raises(CallerError, match="took longer than 0.5 s"):
        slow(audio_files["ogg"])
    assert slow._proc is None  # killed


@pytest.mark.slow  # ~20 s: two workers start
def test_an_idle_worker_leaves_and_a_new_one_starts(audio_files: dict[str, Path]) -> None:
    worker = IsolatedAnalyser(idle=0.5)
    try:
        worker(audio_files["wav"])
        first = worker._proc
        assert first is not None
        first.wait(30)  # it left by itself
        assert worker(audio_files["wav"]).duration > 11
        assert worker._proc is not first
    finally:
        worker.close()


def test_a_process_compiles_librosa_only_under_the_shared_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes compiling librosa's numba functions at once poison numba's cache (numba
    #10128: every later analysis segfaults), so a second process waits for the first."""
    import os
    import sys
    import time

    cache = tmp_path / "numba"
    cache.mkdir()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    with analysis.compile_lock():  # this test is "the first process", compiling
        child = subprocess.Popen([sys.executable, "-c", "import numpy as np\nfrom osp.provenance import analysis\n"
                                  "analysis.tempo(np.zeros(22050, dtype=np.float32) + 0.1, 22050)"],
                                 env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")})
        try:
            deadline = time.monotonic() + 60
            while not any(line.split()[1:5] == ["->", "FLOCK", "ADVISORY", "WRITE"] and line.split()[5] == str(child.pid)
                          for line in Path("/proc/locks").read_text().splitlines()):
                assert child.poll() is None and time.monotonic() < deadline, "the child never waited on the lock"
                time.sleep(0.05)
            assert not list(cache.rglob("*.nbi")), "the child compiled without the lock"
        finally:
            child.kill()
            child.wait(10)
