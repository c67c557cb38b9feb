"""The audio search filters: BPM ranges and key names (``osp.provenance.audio_query``)."""

from __future__ import annotations

import pytest

from osp.core.errors import CallerError
from osp.provenance.audio_query import AudioFilter, parse_bpm, parse_key


def test_bpm_range_and_single_value() -> None:
    assert parse_bpm("120-130") == (120.0, 130.0)
    assert parse_bpm(" 90.5 - 91 ") == (90.5, 91.0)
    assert parse_bpm("128") == (125.44, 130.56)  # ±2 %
    assert parse_bpm("100-100") == (100.0, 100.0)


@pytest.mark.parametrize("bad", ["", "fast", "130-120", "5", "1000", "120-", "-5", "1e3", "120–130x", "12" * 20])
def test_bad_bpm_is_a_caller_error(bad: str) -> None:
    with pytest.raises(CallerError, match="bpm"):
        parse_bpm(bad)


@pytest.mark.parametrize(("text", "key"), [
    ("A minor", ("A", "minor")), ("a MINOR", ("A", "minor")), ("Am", ("A", "minor")), ("A min", ("A", "minor")),
    ("am", ("A", "minor")), ("C", ("C", "major")), ("C major", ("C", "major")), ("CM", ("C", "major")),
    ("c maj", ("C", "major")), ("F# major", ("F#", "major")), ("Gb", ("F#", "major")), ("Eb", ("Eb", "major")),
    ("D#m", ("Eb", "minor")), ("bbm", ("Bb", "minor")), ("B", ("B", "major")), ("Cb", ("B", "major")),
    ("E♭ minor", ("Eb", "minor")), ("A flat major", ("Ab", "major")),
])
def test_key_names(text: str, key: tuple[str, str]) -> None:
    assert parse_key(text) == key


@pytest.mark.parametrize("bad", ["", "H minor", "A dorian", "A minor minor", "Amm", "minor", "A" * 40])
def test_bad_key_is_a_caller_error(bad: str) -> None:
    with pytest.raises(CallerError, match="key"):
        parse_key(bad)


def test_filter_matches_only_known_analysis() -> None:
    f = AudioFilter.parse("120-130", "Am")
    assert f and f.describe() == "120-130 BPM, A minor"
    assert f.matches(125.0, "A", "minor")
    assert not f.matches(125.0, "C", "major") and not f.matches(131.0, "A", "minor")
    assert not f.matches(None, "A", "minor")  # unknown tempo never passes a tempo filter
    assert AudioFilter.parse(None, "  ") == AudioFilter() and not AudioFilter()
    assert AudioFilter.parse(bpm="90").matches(90.0, None, None)
    with pytest.raises(CallerError, match="bpm must be a string"):
        AudioFilter.parse(bpm=120)
