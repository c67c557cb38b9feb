"""Readable views of tracks for the CLI: pure functions from JSON shapes to text.

Every string shown here may come from a peer's signed record (title, artist name,
tags): the signature proves who wrote it, not that it is harmless.  Terminal output
goes through ``printable`` (control characters replaced), and file names through
``safe_filename`` (no separators, control characters, leading dots; capped length).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

__all__ = [
    "SORT_KEYS",
    "format_duration",
    "format_size",
    "ls_rows",
    "printable",
    "resolve_lines",
    "safe_filename",
    "sort_tracks",
    "table_lines",
]

SORT_KEYS = ("title", "artist", "duration", "size", "added")

_DROP = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # control, format, surrogate, private, unassigned
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # what ``printable`` replaces
_MAX_NAME_BYTES = 200  # well under the 255-byte NAME_MAX of ext4/btrfs/APFS, room for ".partial" suffixes


def printable(text: object) -> str:
    """``text`` with control, format and line/paragraph separator characters (C0, C1, bidi overrides,
    U+2028, U+2029) replaced by U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(ch) in _UNPRINTABLE else ch for ch in str(text))


def format_duration(seconds: float) -> str:
    """``"3:07"`` or ``"1:02:03"`` from seconds (rounded)."""
    total = int(round(max(0.0, float(seconds))))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_size(size: int) -> str:
    """Bytes in decimal units (``"2.3 MB"``), as file managers and rich's progress show them."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_binary_size(size: int) -> str:
    """Bytes in powers of 1024 (``"4.0 GiB"``), the units ``--cache-size 4G`` is given in."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _record(track: dict[str, Any]) -> dict[str, Any]:
    record = track.get("record", track)
    return record if isinstance(record, dict) else {}


def artist_name(record: dict[str, Any]) -> str:
    """The record's ``artistName``, else the DID shortened to its last 8 characters."""
    name = record.get("artistName")
    if isinstance(name, str) and name.strip():
        return name
    did = str(record.get("artist", "?"))
    return f"…{did[-8:]}" if len(did) > 12 else did


def _ai(record: dict[str, Any]) -> bool:
    provenance = record.get("provenance")
    return isinstance(provenance, dict) and provenance.get("aiGenerated") is True


def sort_tracks(tracks: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Tracks (``/api/tracks`` / ``ls --json`` shapes) ordered by one of ``SORT_KEYS``.

    Text sorts casefolded; ``added`` is the library's ISO 8601 time (oldest first);
    ``duration`` in seconds and ``size`` in bytes, smallest first.  Ties keep input order.
    """
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r}")

    def value(t: dict[str, Any]) -> Any:
        r = _record(t)
        if key == "title":
            return str(r.get("title", "")).casefold()
        if key == "artist":
            return artist_name(r).casefold()
        if key == "duration":
            return float(r.get("duration", 0))
        if key == "size":
            return int(r.get("size", 0))
        return str(t.get("added", ""))

    return sorted(tracks, key=value)


def ls_rows(tracks: Sequence[dict[str, Any]]) -> list[tuple[str, ...]]:
    """``(title, artist, duration, size, license, AI, origin, id)`` per track, printable."""
    rows: list[tuple[str, ...]] = []
    for t in tracks:
        r = _record(t)
        origin = {"published": "published here", "fetched": "fetched"}.get(str(t.get("origin", "")), "-")
        state = str(t.get("file", "ok"))
        if state != "ok":
            origin = f"file {printable(state)}: not seeded"
        if t.get("duplicateOf"):
            origin += " · DUPLICATE"  # of another artist's earlier track (osp.node.fingerprints)
        c2pa = t.get("c2pa")
        if isinstance(c2pa, dict) and c2pa.get("state") == "invalid":
            origin += " · C2PA INVALID"  # e.g. published with --allow-invalid-c2pa (osp c2pa show ID)
        rows.append((
            printable(r.get("title", "?")), printable(artist_name(r)), format_duration(r.get("duration", 0)),
            format_size(int(r.get("size", 0))), printable(r.get("license", "-")), "AI" if _ai(r) else "",
            origin, str(t.get("id", "")),
        ))
    return rows


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = (),
                width_cap: int = 40) -> list[str]:
    """Plain aligned columns (two spaces apart; cells over ``width_cap`` end in "…"; the last
    column is never cut, so ids stay whole and lines may be long, as ``ls -l``'s are)."""
    cut = [[c if i == len(r) - 1 or len(c) <= width_cap else c[: width_cap - 1] + "…" for i, c in enumerate(r)]
           for r in [list(header), *map(list, rows)]]
    widths = [max(len(r[i]) for r in cut) for i in range(len(header))]
    lines = []
    for r in cut:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
    return lines


def resolve_lines(summary: dict[str, Any], verified: bool = True) -> list[tuple[str, str]]:
    """``(label, value)`` lines of ``osp resolve``'s readable summary of a verified track."""
    r = _record(summary)
    lines = [
        ("title", printable(r.get("title", "?"))),
        ("artist", f"{printable(artist_name(r))}  {r.get('artist', '?')}"),
        ("duration", format_duration(r.get("duration", 0))),
        ("format", str(r.get("format", "?"))),
        ("size", f"{format_size(int(r.get('size', 0)))} ({int(r.get('size', 0))} bytes)"),
        ("license", printable(r.get("license", "-"))),
    ]
    for label, field in (("album", "album"), ("released", "released")):
        if r.get(field):
            lines.append((label, printable(r[field])))
    tags = r.get("tags") or []
    lines.append(("tags", printable(", ".join(map(str, tags))) if tags else "-"))
    from osp.apps.cli.provenance_view import provenance_lines  # it builds on this module

    lines += provenance_lines(r.get("provenance"))
    lines += [("cid", str(r.get("cid", "?"))), ("id", str(r.get("id", "?"))),
              ("verified", "signature, id and schema" if verified else "no")]
    return lines


_UNSAFE = re.compile(r"[/\\:*?\"<>|]")


def safe_filename(artist: str, title: str, ext: str, fallback: str) -> str:
    """``"Artist – Title.ext"`` made safe to create in any directory from peer-given strings.

    NFC-normalized; path separators and characters Windows refuses become ``_``; control,
    format, surrogate, private-use and unassigned characters are dropped; leading dots and spaces and trailing dots and
    spaces are stripped (no hidden files, no ``..``); the stem is capped so the UTF-8
    name stays within ``_MAX_NAME_BYTES``.  When nothing is left, ``fallback`` (our own
    CID) names the file.  ``ext`` (``".ogg"``) is the suffix of our stored file, which
    the probe chose from the audio's content, never from the peer's strings.
    """

    def clean(text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROP)
        text = _UNSAFE.sub("_", text)
        return " ".join(text.split())

    artist_c, title_c = clean(artist), clean(title)
    stem = f"{artist_c} \u2013 {title_c}" if artist_c and title_c else artist_c or title_c
    stem = stem.lstrip(". ").rstrip(". ")
    if not stem:
        stem = fallback
    budget = _MAX_NAME_BYTES - len(ext.encode())
    while len(stem.encode()) > budget:
        stem = stem[:-1]
    stem = stem.rstrip(". ") or fallback[:budget]
    return stem + ext
