"""Audio analysis: tempo, key and mode, loudness, true peak and a "sounds like" vector.

``analyse(path)`` decodes the file with ``ffmpeg`` (a subprocess, bounded: ``DECODE_TIMEOUT``
seconds, ``MAX_SECONDS`` of audio analysed from the start, an address-space cap) and
measures, with maintained libraries:

* **tempo** (BPM): librosa's onset-strength autocorrelation estimate
  (``librosa.feature.tempo``) on mono audio at ``FEATURE_RATE`` Hz;
* **key and mode**: the mean constant-Q chroma (``librosa.feature.chroma_cqt``) correlated
  with the 24 rotations of the Krumhansl–Kessler major and minor key profiles
  (Krumhansl 1990, the Krumhansl–Schmuckler algorithm); ``key_confidence`` is the best
  correlation minus the runner-up's (0 … 2; under ~0.05 the key is a guess);
* **loudness**: integrated loudness in LUFS, ITU-R BS.1770-4 / EBU R128 gating
  (``pyloudnorm``), on the file's stereo (or mono) channels at ``LOUDNESS_RATE`` Hz;
* **true peak** in dBTP: the highest absolute sample after 4× oversampling
  (``scipy.signal.resample_poly``, BS.1770-4 Annex 2), block by block (bounded memory);
* **vector**: ``VECTOR_DIM`` float32 features (MFCC 1–12 means and standard deviations,
  the 7 spectral-contrast band means, tempo), each group scaled to a comparable range,
  then L2-normalised: cosine similarity is their dot product (``similarity``).

Errors: ``UnsupportedMediaError`` when ffmpeg cannot decode the file (corrupt, not audio)
or it holds less than ``MIN_SECONDS`` of audio; ``CallerError`` when ffmpeg is missing or
runs past its time.  ``ANALYSER_VERSION`` names this analyser, stored with each result, so
that a better one can analyse the library again.  The node runs it in a worker process
capped in time and memory (``osp.provenance.analysis_worker``).

librosa's numba functions are compiled, and written to numba's on-disk cache, on their first
call in a process.  Two processes compiling them at once can write cache files that crash
every later process that loads them (numba issue #10128, still open in numba 0.68), so the
first analysis in each process runs on a short synthetic signal while it holds an exclusive
lock file shared by this user's processes (``compile_lock``): one compiles, the others wait
and then load what it cached.
"""

from __future__ import annotations

import fcntl
import math
import os
import resource
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from osp.core.errors import CallerError, UnsupportedMediaError

ANALYSER_VERSION = "osp-analysis/1"  #: stored with each result; a new version re-runs the analysis
MAX_SECONDS = 600  #: audio analysed from the start of the file (10 minutes)
MIN_SECONDS = 1.0  #: less decoded audio than this is an error
FEATURE_RATE = 22050  #: Hz, mono, for tempo, key and the vector
LOUDNESS_RATE = 48000  #: Hz, the file's channels (at most 2), for loudness and true peak
DECODE_TIMEOUT = 120.0  #: seconds one ffmpeg decode may take
DECODE_MEMORY = 1 << 30  #: bytes of address space ffmpeg may map
VECTOR_DIM = 32  #: floats in the "sounds like" vector
OVERSAMPLE = 4  #: true-peak oversampling factor (BS.1770-4 Annex 2)
SILENCE_LUFS = -70.0  #: loudness reported for silence (BS.1770's absolute gate)

PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Krumhansl–Kessler probe-tone profiles, tonic first (Krumhansl 1990, table 2.1)
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

Float32Array = NDArray[np.float32]


@dataclass(frozen=True)
class Analysis:
    """What ``analyse`` measured of one file."""

    bpm: float  #: tempo, beats per minute (0 when no beat was found)
    key: str  #: tonic pitch class, one of ``PITCHES`` ("A", "C#", "Bb" …)
    mode: str  #: "major" or "minor"
    key_confidence: float  #: best key profile correlation minus the runner-up's (0 … 2)
    loudness: float  #: integrated loudness, LUFS (ITU-R BS.1770-4); ``SILENCE_LUFS`` for silence
    true_peak: float  #: dBTP (4× oversampled peak; -inf clamped to -200)
    duration: float  #: seconds of audio analysed (at most ``MAX_SECONDS``)
    vector: bytes  #: ``VECTOR_DIM`` little-endian float32, L2-normalised
    version: str = ANALYSER_VERSION  #: the analyser that measured this

    @property
    def key_name(self) -> str:
        """"A minor", "C major"."""
        return f"{self.key} {self.mode}"


def decode(path: Path, rate: int, channels: int | None, *, seconds: float = MAX_SECONDS,
           timeout: float = DECODE_TIMEOUT) -> Float32Array:
    """The first ``seconds`` of ``path`` as float32 PCM at ``rate`` Hz: shape ``(n,)`` when
    ``channels`` is 1, else ``(n, c)`` with ``c`` the file's channels down-mixed to at most
    2 (``channels=None``).  ffmpeg writes a temporary WAV file (at most ``seconds`` of
    audio: ``-t`` and ``-fs``), read once into the array.  ``UnsupportedMediaError`` if ffmpeg cannot decode it,
    ``CallerError`` if ffmpeg is missing or takes longer than ``timeout`` seconds."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise CallerError("ffmpeg is not installed: audio analysis needs it")
    layout = ["-ac", "1"] if channels == 1 else ["-ac", "2"] if channels == 2 else [
        "-af", "aformat=channel_layouts=mono|stereo"]
    limit = int(seconds * rate * 2 * 4) + (1 << 16)  # bytes of at most 2 channels of float32, plus headers
    with tempfile.TemporaryDirectory(prefix="osp-analysis-") as tmp:
        out = Path(tmp) / "pcm.wav"  # a file, not a pipe: read once into the array (no second copy)
        cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-i", str(path), "-t", str(seconds), "-vn", "-sn",
               "-dn", *layout, "-ar", str(rate), "-c:a", "pcm_f32le", "-bitexact", "-fs", str(limit), "-f", "wav",
               str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL,
                                  preexec_fn=limit_memory)
        except subprocess.TimeoutExpired as exc:
            raise CallerError(f"decoding {path.name} took longer than {timeout:g} s") from exc
        if proc.returncode != 0 or not out.exists():
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise UnsupportedMediaError(f"cannot decode {path.name}: {detail[-1][:200] if detail else 'ffmpeg failed'}")
        width, offset = _wav_layout(out)
        pcm: Float32Array = np.fromfile(out, dtype="<f4", offset=offset).astype(np.float32, copy=False)
    if channels != 1:
        pcm = pcm[: pcm.size - pcm.size % width].reshape(-1, width)
    if pcm.shape[0] < MIN_SECONDS * rate:
        raise UnsupportedMediaError(f"{path.name} holds less than {MIN_SECONDS:g} s of audio")
    if not np.isfinite(pcm).all():  # a decoder's NaN or inf: zeroed (checked first: nan_to_num allocates)
        np.nan_to_num(pcm, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return pcm


def _wav_layout(path: Path) -> tuple[int, int]:
    """``(channels, offset of the samples)`` of the float32 WAV file ffmpeg wrote."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise UnsupportedMediaError("ffmpeg decoded no audio")
    pos, channels = 12, 0
    while pos + 8 <= len(head):
        tag, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if tag == b"fmt ":
            channels = int.from_bytes(head[pos + 10:pos + 12], "little")
        elif tag == b"data":
            if not 1 <= channels <= 2:
                raise UnsupportedMediaError("ffmpeg decoded no audio")
            return channels, pos + 8
        pos += 8 + size + (size & 1)
    raise UnsupportedMediaError("ffmpeg decoded no audio")


def limit_memory(limit: int = DECODE_MEMORY) -> None:
    """Cap this process's address space at ``limit`` bytes (never above its hard limit); for
    ``preexec_fn``: runs in a child before exec."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)  # never above what this process may have
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def analyse(path: Path, *, seconds: float = MAX_SECONDS) -> Analysis:
    """Measure ``path`` (module doc); ``UnsupportedMediaError`` / ``CallerError`` as ``decode``."""
    stereo = decode(path, LOUDNESS_RATE, None, seconds=seconds)
    loudness = integrated_loudness(stereo, LOUDNESS_RATE)
    peak = true_peak(stereo)
    del stereo
    mono = decode(path, FEATURE_RATE, 1, seconds=seconds)
    bpm, (key, mode, confidence), vector = _features(mono)
    return Analysis(bpm=round(bpm, 2), key=key, mode=mode, key_confidence=round(confidence, 4),
                    loudness=round(loudness, 2), true_peak=round(peak, 2), duration=round(mono.size / FEATURE_RATE, 2),
                    vector=vector.astype("<f4").tobytes())


def _features(mono: Float32Array) -> tuple[float, tuple[str, str, float], Float32Array]:
    """Tempo, key and vector of ``mono`` at ``FEATURE_RATE``: every librosa call of ``analyse``."""
    bpm = tempo(mono, FEATURE_RATE)
    return bpm, estimate_key(mono, FEATURE_RATE), feature_vector(mono, FEATURE_RATE, bpm)


_warm_up = threading.RLock()
_warmed = False


def _librosa() -> ModuleType:
    """librosa, once its numba functions are compiled (and cached) in this process (module doc)."""
    global _warmed
    import librosa

    if not _warmed:
        with _warm_up, compile_lock():
            if not _warmed:
                _warmed = True  # first: the warm-up below comes back here
                try:
                    t = np.arange(4 * FEATURE_RATE, dtype=np.float32) / FEATURE_RATE
                    clicks = (np.arange(t.size) % (FEATURE_RATE // 2) < 200).astype(np.float32)  # 120 BPM
                    _features((0.3 * np.sin(2 * np.pi * 440 * t) + 0.5 * clicks).astype(np.float32))
                except BaseException:
                    _warmed = False
                    raise
    return librosa


@contextmanager
def compile_lock() -> Iterator[None]:
    """Hold the exclusive lock file under which one process at a time compiles librosa's numba
    functions (module doc): in ``NUMBA_CACHE_DIR`` when set, else the temporary directory; one
    per user.  Where no lock file can be made (a read-only directory), nothing is held."""
    folder = os.environ.get("NUMBA_CACHE_DIR") or tempfile.gettempdir()
    try:
        fd = os.open(Path(folder) / f"osp-numba-compile-{os.getuid()}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if this process dies holding it
        yield
    finally:
        os.close(fd)


def integrated_loudness(pcm: Float32Array, rate: int) -> float:
    """BS.1770-4 integrated loudness of ``pcm`` (``(n,)`` or ``(n, channels)``), LUFS;
    ``SILENCE_LUFS`` when everything is gated out (silence)."""
    import pyloudnorm

    value = float(pyloudnorm.Meter(rate).integrated_loudness(pcm))  # float32: half the memory of float64
    return value if math.isfinite(value) and value > SILENCE_LUFS else SILENCE_LUFS


def true_peak(pcm: Float32Array, *, block: int = 1 << 17) -> float:
    """The 4× oversampled peak of ``pcm`` (``(n,)`` or ``(n, channels)``) in dBTP
    (BS.1770-4 Annex 2, with ``scipy.signal.resample_poly``'s polyphase filter), over
    overlapping blocks of ``block`` samples so memory stays bounded; -200 for silence."""
    from scipy.signal import resample_poly

    data = pcm.reshape(pcm.shape[0], -1)
    n = data.shape[0]
    pad = 64  # input samples each side of a block: more than the filter's reach
    peak = 0.0
    for start in range(0, n, block):
        lo, hi = max(0, start - pad), min(n, start + block + pad)
        up = resample_poly(data[lo:hi], OVERSAMPLE, 1, axis=0)
        inner = up[(start - lo) * OVERSAMPLE: (start - lo + min(block, n - start)) * OVERSAMPLE]
        peak = max(peak, float(np.max(np.abs(inner))))
    return 20 * math.log10(peak) if peak > 1e-10 else -200.0


def tempo(mono: Float32Array, rate: int) -> float:
    """Tempo of ``mono`` in BPM (librosa's onset autocorrelation estimate); 0 when none."""
    librosa = _librosa()

    onset = librosa.onset.onset_strength(y=mono, sr=rate)
    if not np.any(onset > 0):
        return 0.0
    value = librosa.feature.tempo(onset_envelope=onset, sr=rate, aggregate=np.median)
    bpm = float(np.asarray(value).reshape(-1)[0])
    if not math.isfinite(bpm) or bpm <= 0:
        return 0.0
    # the estimate is quantized to the onset frame rate (~2 % at 130 BPM): refine it with the
    # slope of the beat times that beat tracking finds near it (least squares over every beat)
    _tempo, beats = librosa.beat.beat_track(onset_envelope=onset, sr=rate, bpm=bpm, units="time", trim=False)
    if len(beats) >= 8:
        slope = float(np.polyfit(np.arange(len(beats)), beats, 1)[0])
        refined = 60.0 / slope if slope > 0 else 0.0
        if abs(refined - bpm) <= 0.06 * bpm:
            return refined
    return bpm


def key_scores(chroma: NDArray[np.floating]) -> NDArray[np.float64]:
    """Pearson correlation of a 12-bin chroma (C first) with each of the 24 keys' profiles:
    shape ``(2, 12)``, row 0 major, row 1 minor, column the tonic's pitch class."""
    chroma = np.asarray(chroma, dtype=np.float64)
    scores = np.zeros((2, 12))
    for row, profile in enumerate((MAJOR_PROFILE, MINOR_PROFILE)):
        for tonic in range(12):
            rotated = np.roll(np.asarray(profile), tonic)
            if np.std(chroma) == 0:
                continue
            scores[row, tonic] = float(np.corrcoef(chroma, rotated)[0, 1])
    return scores


def best_key(chroma: NDArray[np.floating]) -> tuple[str, str, float]:
    """``(tonic, mode, confidence)`` of a 12-bin chroma (Krumhansl–Schmuckler)."""
    scores = key_scores(chroma)
    order = np.argsort(scores, axis=None)[::-1]
    row, tonic = divmod(int(order[0]), 12)
    runner = scores.flat[int(order[1])]
    return PITCHES[tonic], ("major", "minor")[row], float(scores[row, tonic] - runner)


def estimate_key(mono: Float32Array, rate: int) -> tuple[str, str, float]:
    """``(tonic, mode, confidence)`` of ``mono`` from its mean constant-Q chroma; C major
    with confidence 0 for silence."""
    librosa = _librosa()

    if float(np.max(np.abs(mono))) < 1e-5:
        return PITCHES[0], "major", 0.0
    chroma = librosa.feature.chroma_cqt(y=mono, sr=rate, hop_length=2048)
    return best_key(np.mean(chroma, axis=1))


def feature_vector(mono: Float32Array, rate: int, bpm: float) -> Float32Array:
    """The ``VECTOR_DIM``-float "sounds like" vector of ``mono`` (module doc), L2-normalised."""
    librosa = _librosa()

    mfcc = librosa.feature.mfcc(y=mono, sr=rate, n_mfcc=13, hop_length=1024)[1:]
    contrast = librosa.feature.spectral_contrast(y=mono, sr=rate, hop_length=1024)
    parts = [np.mean(mfcc, axis=1) / 40.0, np.std(mfcc, axis=1) / 20.0,
             (np.mean(contrast, axis=1) - 20.0) / 10.0, np.asarray([(bpm - 120.0) / 60.0])]
    vector: Float32Array = np.nan_to_num(np.concatenate(parts)).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return (vector / np.float32(norm)).astype(np.float32) if norm > 0 else vector


def similarity(query: bytes, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Cosine similarity of the stored vector ``query`` (``VECTOR_DIM`` float32 bytes) with each
    row of ``vectors`` (``(n, VECTOR_DIM)``, L2-normalised): shape ``(n,)``, -1 … 1."""
    q = np.frombuffer(query, dtype="<f4")
    if q.size != VECTOR_DIM or vectors.ndim != 2 or vectors.shape[1] != VECTOR_DIM:
        raise CallerError(f"vectors must hold {VECTOR_DIM} floats")
    result: NDArray[np.float32] = vectors @ q
    return result

