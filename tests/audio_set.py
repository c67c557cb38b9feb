"""The rendered test set: music of known tempo and key, written as MIDI by the test and
rendered to WAV with FluidSynth (Debian ``fluidsynth`` + ``fluid-soundfont-gm``).

Each ``Piece`` is ~``SECONDS`` s of a four-bar progression looped — I–IV–V–I in a major
key, i–iv–V–i (harmonic minor) in a minor one — with a piano playing the chords, a bass on
the roots, a melody on the chord tones (root, third, fifth, third) and a drum kit (kick on beats 1 and 3, snare on 2
and 4, closed hi-hat on every eighth) for a clear beat.  ``PIECES`` covers slow to fast
tempi and major and minor keys across the circle of fifths.  MIDI bytes are written here
(format 0, no dependency); ``render`` runs ``fluidsynth`` with a timeout.
Used by the analysis tests and by any test that wants real, varied, known audio.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RATE = 44100
SECONDS = 24.0  #: about how long each piece plays
TICKS = 480  #: MIDI ticks per quarter note
PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class Piece:
    """One piece of the set: its ``bpm``, ``tonic`` (one of ``PITCHES``) and ``mode``
    (``major``/``minor``); ``path`` once rendered."""

    bpm: int
    tonic: str
    mode: str
    program: int = 0  #: General MIDI program of the chords (0: acoustic grand piano)
    path: Path | None = None

    @property
    def name(self) -> str:
        return f"{self.bpm}bpm-{self.tonic.replace('#', 's')}-{self.mode}"


#: tempi 75…150 BPM, 6 major and 6 minor keys; chords on piano, organ, strings and guitar
PIECES = (
    Piece(80, "C", "major"), Piece(100, "A", "minor"), Piece(120, "G", "major"), Piece(140, "E", "minor"),
    Piece(90, "F", "major", 19), Piece(110, "D", "minor", 48), Piece(128, "Bb", "major", 24),
    Piece(96, "B", "minor", 19), Piece(132, "D", "major", 48), Piece(85, "G", "minor", 24),
    Piece(115, "Eb", "major"), Piece(150, "F#", "minor"),
)

_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor: the raised 7th makes V major


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _triad(tonic: int, scale: tuple[int, ...], degree: int) -> list[int]:
    """Semitones above the tonic of the triad on scale ``degree`` (0-based)."""
    return [scale[(degree + i) % 7] + 12 * ((degree + i) // 7) for i in (0, 2, 4)]


def midi_bytes(piece: Piece, seconds: float = SECONDS) -> bytes:
    """A format-0 Standard MIDI File of ``piece`` (module doc)."""
    tonic = PITCHES.index(piece.tonic)
    scale = _MAJOR_SCALE if piece.mode == "major" else _MINOR_SCALE
    beat, bar = TICKS, 4 * TICKS
    bars = max(4, round(seconds * piece.bpm / 240))
    events: list[tuple[int, int, bytes]] = []  # (tick, order: offs first, message)

    def note(at: int, length: int, channel: int, key: int, velocity: int) -> None:
        events.append((at, 1, bytes([0x90 | channel, key, velocity])))
        events.append((at + length, 0, bytes([0x80 | channel, key, 0])))

    progression = (0, 3, 4, 0)  # I IV V I / i iv V i
    for b in range(bars):
        start = b * bar
        degree = progression[b % 4]
        chord = _triad(tonic, scale, degree)
        for semis in chord:  # chords, octave 4, held for the bar
            note(start, bar - 20, 0, 60 + tonic + semis, 90)
        note(start, 2 * beat - 20, 2, 36 + tonic + chord[0], 65)  # bass on the root, beats 1 and 3
        note(start + 2 * beat, 2 * beat - 20, 2, 36 + tonic + chord[0], 60)
        for i in range(4):  # melody: root, third, fifth, third of the chord
            semis = chord[(0, 1, 2, 1)[i]]
            note(start + i * beat, beat - 30, 1, 72 + tonic + semis, 85)
        for i in range(8):  # drums: hi-hat eighths, kick 1 and 3, snare 2 and 4
            note(start + i * beat // 2, 60, 9, 42, 70)
        for i, drum in enumerate((36, 38, 36, 38)):
            note(start + i * beat, 120, 9, drum, 110)
    head = [
        (0, 0, b"\xff\x51\x03" + round(60_000_000 / piece.bpm).to_bytes(3, "big")),  # tempo
        (0, 0, b"\xff\x58\x04\x04\x02\x18\x08"),  # 4/4
        (0, 0, bytes([0xC0, piece.program])), (0, 0, bytes([0xC1, 73])), (0, 0, bytes([0xC2, 33])),
    ]
    track, last = bytearray(), 0
    for tick, _order, message in head + sorted(events):
        track += _vlq(tick - last) + message
        last = tick
    track += _vlq(beat) + b"\xff\x2f\x00"  # end of track
    return (b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
            + TICKS.to_bytes(2, "big") + b"MTrk" + len(track).to_bytes(4, "big") + bytes(track))


def can_render() -> bool:
    """Whether ``fluidsynth`` and the General MIDI sound font are installed."""
    return shutil.which("fluidsynth") is not None and SOUNDFONT.exists()


def render(piece: Piece, directory: Path, *, seconds: float = SECONDS, timeout: float = 60.0) -> Piece:
    """``piece`` rendered to ``directory/<name>.wav`` (44.1 kHz stereo 16-bit) by FluidSynth;
    ``subprocess.CalledProcessError`` / ``TimeoutExpired`` if it fails."""
    mid = directory / f"{piece.name}.mid"
    wav = directory / f"{piece.name}.wav"
    mid.write_bytes(midi_bytes(piece, seconds))
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-F", str(wav), "-r", str(RATE), str(SOUNDFONT), str(mid)],
                   check=True, timeout=timeout, stdin=subprocess.DEVNULL, capture_output=True)
    return Piece(piece.bpm, piece.tonic, piece.mode, piece.program, wav)


def render_set(directory: Path, pieces: tuple[Piece, ...] = PIECES) -> list[Piece]:
    """Every piece of ``pieces`` rendered into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return [render(p, directory) for p in pieces]
