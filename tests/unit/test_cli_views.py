"""Pure views of the CLI: file names from peer strings, sorting, durations, sizes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from osp.apps.cli.views import format_duration, format_size, ls_rows, printable, safe_filename, sort_tracks


def test_safe_filename_artist_title() -> None:
    assert safe_filename("The Band", "Song", ".ogg", "bafy") == "The Band \u2013 Song.ogg"
    assert safe_filename("", "Song", ".mp3", "bafy") == "Song.mp3"
    assert safe_filename("", "", ".mp3", "bafyabc") == "bafyabc.mp3"


def test_safe_filename_refuses_what_a_peer_could_abuse() -> None:
    assert safe_filename("..", "..", ".ogg", "bafy") == "\u2013.ogg"  # no "..", no hidden file
    name = safe_filename("../../etc", "passwd\x1b[31m\n", ".ogg", "bafy")
    assert "/" not in name and "\x1b" not in name and "\n" not in name and not name.startswith(".")
    assert safe_filename("...", "", ".ogg", "bafy") == "bafy.ogg"
    assert safe_filename("a\\b", "c:d*e?f", ".ogg", "x") == "a_b \u2013 c_d_e_f.ogg"
    assert safe_filename("x", "\u202etxt.exe", ".ogg", "y") == "x \u2013 txt.exe.ogg"  # bidi override dropped
    long = safe_filename("\u00e9" * 300, "t", ".flac", "bafy")
    assert len(long.encode()) <= 200 and long.endswith(".flac")


@given(st.text(), st.text())
def test_safe_filename_is_always_one_plain_name(artist: str, title: str) -> None:
    name = safe_filename(artist, title, ".ogg", "bafyfallback")
    assert name.endswith(".ogg") and len(name.encode()) <= 200
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name not in (".ogg", "..ogg")
    assert all(ch.isprintable() or ch == " " for ch in name)


def _t(title: str, artist: str, duration: float, size: int, added: str) -> dict[str, Any]:
    return {"id": f"osp:track:{title}", "added": added, "origin": "fetched",
            "record": {"title": title, "artistName": artist, "artist": "did:key:z6Mk" + "x" * 40,
                       "duration": duration, "size": size, "license": "CC0-1.0"}}


def test_sort_tracks_by_each_key() -> None:
    tracks = [_t("b", "Zed", 30, 500, "2026-01-02"), _t("A", "alpha", 200, 100, "2026-01-03"),
              _t("c", "Mid", 5, 900, "2026-01-01")]
    titles = {key: [t["record"]["title"] for t in sort_tracks(tracks, key)]
              for key in ("title", "artist", "duration", "size", "added")}
    assert titles == {"title": ["A", "b", "c"], "artist": ["A", "c", "b"], "duration": ["c", "b", "A"],
                      "size": ["A", "b", "c"], "added": ["c", "b", "A"]}


def test_ls_rows_and_units() -> None:
    (row,) = ls_rows([_t("Song\x1b[2J", "Band", 187.4, 2_345_678, "x")])
    assert row[:7] == ("Song\ufffd[2J", "Band", "3:07", "2.3 MB", "CC0-1.0", "", "fetched")
    invalid = _t("Bad", "Band", 1, 1, "x") | {"c2pa": {"state": "invalid"}, "duplicateOf": "osp:track:a"}
    valid = _t("Good", "Band", 1, 1, "x") | {"c2pa": {"state": "valid"}}
    assert [r[6] for r in ls_rows([invalid, valid])] == ["fetched · DUPLICATE · C2PA INVALID", "fetched"]
    assert format_duration(3723) == "1:02:03" and format_size(999) == "999 B" and format_size(1500) == "1.5 kB"
    assert printable("a\u202eb") == "a\ufffdb"


def test_printable_replaces_line_and_paragraph_separators() -> None:
    """U+2028/U+2029 (Zl/Zp) start a new line in some terminals: a peer's comment must not forge lines."""
    assert printable("ok\u2028fake line\u2029x\x85y") == "ok\ufffdfake line\ufffdx\ufffdy"
