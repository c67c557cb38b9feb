"""Search filters on audio analysis: a BPM range and a key (``osp search --bpm --key``,
``POST /api/search`` ``bpm`` / ``key``).  Pure parsing and matching; ``CallerError`` for
anything that is not understood, with the accepted forms in the message.

* BPM: ``"120-130"`` (inclusive range, ``lo <= hi``), or ``"128"`` (±``BPM_TOLERANCE``, 2 %);
  numbers from ``MIN_BPM`` to ``MAX_BPM``, decimals allowed.
* Key: a tonic (``A``…``G`` with ``#``/``♯`` or ``b``/``♭``, enharmonics folded to the
  names in ``osp.provenance.analysis.PITCHES``) then a mode: ``major``/``maj``/``M``/nothing
  or ``minor``/``min``/``m`` — ``"A minor"``, ``"Am"``, ``"a min"``, ``"F# major"``,
  ``"Gb"``; case-insensitive except the one-letter ``M``/``m`` suffix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from osp.core.errors import CallerError
from osp.provenance.analysis import PITCHES

BPM_TOLERANCE = 0.02  #: a single BPM matches within ±2 %
MIN_BPM, MAX_BPM = 20.0, 400.0
_NUM = r"\d{1,3}(?:\.\d{1,3})?"
_BPM = re.compile(rf"\s*({_NUM})\s*(?:-\s*({_NUM})\s*)?")
_KEY = re.compile(r"\s*([A-Ga-g])\s*(#|♯|b|♭|sharp|flat)?\s*(major|maj|minor|min|M|m)?\s*", re.IGNORECASE)
_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def parse_bpm(text: str) -> tuple[float, float]:
    """``(lo, hi)`` of a BPM filter (module doc); ``CallerError`` when malformed."""
    m = _BPM.fullmatch(text) if isinstance(text, str) and len(text) <= 32 else None
    if m is None:
        raise CallerError(f"bpm must be a number or a range like 120-130, not {str(text)[:40]!r}")
    lo = float(m.group(1))
    hi = float(m.group(2)) if m.group(2) else lo
    if not m.group(2):
        lo, hi = lo * (1 - BPM_TOLERANCE), hi * (1 + BPM_TOLERANCE)
    if lo > hi:
        raise CallerError(f"bpm range {text.strip()} goes down: write the lower number first")
    if lo < MIN_BPM * (1 - BPM_TOLERANCE) or hi > MAX_BPM * (1 + BPM_TOLERANCE):
        raise CallerError(f"bpm must be within {MIN_BPM:g}-{MAX_BPM:g}")
    return round(lo, 3), round(hi, 3)


def parse_key(text: str) -> tuple[str, str]:
    """``(tonic, mode)`` of a key filter, e.g. ``("A", "minor")``; ``CallerError`` when malformed."""
    m = _KEY.fullmatch(text) if isinstance(text, str) and len(text) <= 32 else None
    if m is None:
        raise CallerError(f"key must be like \"A minor\", \"Am\", \"F# major\" or \"Eb\", not {str(text)[:40]!r}")
    letter, accidental, mode = m.group(1).upper(), (m.group(2) or "").lower(), m.group(3) or ""
    shift = 1 if accidental in ("#", "♯", "sharp") else -1 if accidental in ("b", "♭", "flat") else 0
    minor = mode == "m" or mode.lower() in ("minor", "min")
    return PITCHES[(_SEMITONE[letter] + shift) % 12], "minor" if minor else "major"


@dataclass(frozen=True)
class AudioFilter:
    """A search's audio filters; each ``None``: any."""

    bpm: tuple[float, float] | None = None  #: inclusive BPM range
    key: tuple[str, str] | None = None  #: ``(tonic, mode)``

    @classmethod
    def parse(cls, bpm: object = None, key: object = None) -> AudioFilter:
        """From the strings of a request (``None`` or ``""``: not given); ``CallerError``."""
        for name, value in (("bpm", bpm), ("key", key)):
            if value is not None and not isinstance(value, str):
                raise CallerError(f"{name} must be a string")
        return cls(parse_bpm(bpm) if isinstance(bpm, str) and bpm.strip() else None,
                   parse_key(key) if isinstance(key, str) and key.strip() else None)

    def __bool__(self) -> bool:
        return self.bpm is not None or self.key is not None

    def matches(self, bpm: float | None, tonic: str | None, mode: str | None) -> bool:
        """Whether a track analysed as ``bpm``, ``tonic`` ``mode`` passes (unknown: no)."""
        if self.bpm is not None and (bpm is None or not self.bpm[0] <= bpm <= self.bpm[1]):
            return False
        return self.key is None or (tonic, mode) == self.key

    def describe(self) -> str:
        """``"120-130 BPM, A minor"``."""
        parts = [f"{self.bpm[0]:g}-{self.bpm[1]:g} BPM"] if self.bpm else []
        return ", ".join(parts + ([f"{self.key[0]} {self.key[1]}"] if self.key else []))
