"""What an audio file's tags say: title, artist, album, lyrics, genres, date, comment,
the embedded cover and any generator metadata, read with ``tinytag`` (MIT; not mutagen:
GPL) from ID3v2 (incl. ``TXXX`` user frames, ``USLT``, ``APIC``), Vorbis comments (Ogg,
FLAC, incl. ``METADATA_BLOCK_PICTURE``), MP4 atoms (incl. ``----`` freeform atoms) and
RIFF INFO.

``read_tags`` is the adapter (one file in, ``FileTags`` out); ``provenance_from_tags`` and
``released_from_tag`` are pure.  They map only what is unambiguous into the record's
``provenance`` (OSP v0.1 §5 and the issue-10 shape) and never guess more:

* ``generator`` / ``ai_generator`` → ``generator`` ``{"name": X}`` (the structured form
  ``osp publish --ai-generator X`` writes); ``model`` / ``ai_model`` → ``model``; ``model_version`` →
  ``modelVersion``; ``prompt`` / ``ai_prompt`` → ``prompt``; ``negative_prompt`` →
  ``negativePrompt``; ``seed`` → ``seed`` when it is a decimal integer 0…2^53−1;
* ``ai_generated`` → ``aiGenerated`` when it is a clear yes/no (``true``/``false``,
  ``yes``/``no``, ``1``/``0``);
* ``digital_source_type`` → ``digitalSourceType`` when it is an IPTC Digital Source Type
  term (short name or its ``http://cv.iptc.org/newscodes/digitalsourcetype/`` URI);
* a comment that says "Made with X" (or created/generated with or by) where X is a known
  AI music generator (``AI_GENERATORS``) → ``generator`` X and ``aiGenerated`` true, unless a
  generator tag says otherwise.  "Made with" anything else maps to nothing.

The importer (``osp.node.bulk``) adds the default ``digitalSourceType``
(``osp.records.provenance.default_source_type``) when the result says ``aiGenerated`` true.

Encoder tags (``encoder``, ``encoded_by``, ``software``: ``Lavf…``) are never a generator.
Values over the record's caps are dropped, each with a note saying so (``FileTags.notes``).
"""

from __future__ import annotations

import itertools
import re
import struct
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

#: known AI music generators, casefolded → the name they go by
AI_GENERATORS = {
    "suno": "Suno", "suno ai": "Suno", "udio": "Udio", "riffusion": "Riffusion", "stable audio": "Stable Audio",
    "musicgen": "MusicGen", "mureka": "Mureka", "aiva": "AIVA", "boomy": "Boomy", "soundraw": "Soundraw",
    "beatoven": "Beatoven", "beatoven.ai": "Beatoven", "soundful": "Soundful", "loudly": "Loudly",
}

#: IPTC Digital Source Type terms (http://cv.iptc.org/newscodes/digitalsourcetype/)
IPTC_TERMS = frozenset({
    "digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print", "humanEdits",
    "minorHumanEdits", "compositeCapture", "algorithmicallyEnhanced", "dataDrivenMedia", "digitalArt",
    "digitalCreation", "virtualRecording", "compositeSynthetic", "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "screenCapture",
})
IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"

MAX_SEED = 2**53 - 1
#: the record's caps (OSP v0.1 §5, track.schema.json) on what tags give
CAPS = {"title": 512, "artistName": 256, "album": 512, "lyrics": 32768, "generator": 256, "model": 256,
        "modelVersion": 128, "prompt": 8192, "negativePrompt": 8192}
MAX_TAG = 64  #: characters of one record tag (a genre longer than this is dropped)
MAX_GENRES = 32
MAX_GENRE_PARTS = 1024  #: genre values read from one file at most
MAX_NOTES = 8  #: notes about over-long genres at most

_KEYS = {  # tag name (lower case, ``-``/space → ``_``) → provenance member
    "generator": "generator", "ai_generator": "generator",
    "model": "model", "ai_model": "model",
    "model_version": "modelVersion", "modelversion": "modelVersion", "ai_model_version": "modelVersion",
    "prompt": "prompt", "ai_prompt": "prompt",
    "negative_prompt": "negativePrompt", "negativeprompt": "negativePrompt", "ai_negative_prompt": "negativePrompt",
}
_YES, _NO = frozenset({"true", "yes", "1", "y"}), frozenset({"false", "no", "0", "n"})
#: "Made with X" at the start of a comment whose white space was collapsed (``made_with``):
#: no two quantifiers here can take the same space (the old pattern's ``\s+([\w. ]+?)\s*``
#: backtracked cubically: 320 spaces took 9.5 s, a thousand hours)
_MADE_WITH = re.compile(r"(?:made|created|generated|produced) (?:with|by|using|on) ([\w.]+(?: [\w.]+)*)", re.IGNORECASE)
MAX_COMMENT_READ = 256  #: characters of a comment read for "Made with X"


@dataclass(frozen=True)
class Cover:
    """An embedded picture: its ``data`` and the MIME type the tag claims (unchecked)."""

    data: bytes
    claimed_mime: str | None


@dataclass(frozen=True)
class FileTags:
    """The tags of one file, trimmed; ``None``/empty when absent.

    ``date`` is the tag's text (see ``released_from_tag``); ``extra`` the other text tags,
    names lower-cased with ``-`` and spaces as ``_``, first value each; ``notes`` what was
    dropped and why (over a cap, unreadable picture).
    """

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    lyrics: str | None = None
    genres: tuple[str, ...] = ()
    date: str | None = None
    comment: str | None = None
    cover: Cover | None = None
    extra: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _text(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).replace("\x00", " ").strip()
    return text or None


def _key(name: str) -> str:
    name = name.lower().strip().replace("-", "_").replace(" ", "_")
    for prefix in ("----:com.apple.itunes:", "com.apple.itunes:", "txxx:"):
        name = name.removeprefix(prefix)
    return name.lstrip("_")


def read_tags(path: Path) -> FileTags:
    """The tags of the audio file at ``path`` (already probed: ``osp.content.probe``).

    Never raises for bad tags: a file whose tags cannot be parsed gives empty ``FileTags``
    with a note (the probe decides whether the audio itself is acceptable)."""
    from tinytag import TinyTag, TinyTagException

    try:
        tag = TinyTag.get(str(path), image=True)
    except (TinyTagException, struct.error, ValueError, IndexError, KeyError, OSError, UnicodeError) as exc:
        return FileTags(notes=(f"tags unreadable ({str(exc)[:200]})",))
    except Exception as exc:  # noqa: BLE001 - a parser bug on one hostile file must not end an import
        return FileTags(notes=(f"tags unreadable ({type(exc).__name__})",))
    notes: list[str] = []
    extra: dict[str, str] = {}
    other: dict[str, Any] = dict(tag.other or {})
    for name, values in other.items():
        value = _text(values)
        if value is not None and len(name) <= 128:
            extra.setdefault(_key(name), value)
    lyrics = extra.pop("lyrics", None) or extra.pop("uslt", None) or extra.pop("unsyncedlyrics", None)
    comment = _text(tag.comment) or extra.pop("comment", None) or extra.pop("description", None)
    genres: list[str] = []
    seen: set[str] = set()
    raw_genres = tag.genre if isinstance(tag.genre, list) else [tag.genre] if tag.genre else []
    parts = (part.strip() for item in [str(g) for g in raw_genres] + list(other.get("genre") or [])
             for part in re.split(r"[;,\x00]", str(item)))
    for g in itertools.islice(parts, MAX_GENRE_PARTS):  # a tag of 100 000 genres: only the first are read
        if g and g.casefold() not in seen and len(genres) < MAX_GENRES:
            seen.add(g.casefold())
            if len(g) > MAX_TAG:
                if len(notes) < MAX_NOTES:
                    notes.append(f"genre {g[:20]!r}… longer than {MAX_TAG} characters: not a tag")
            else:
                genres.append(g)
    cover = None
    images = getattr(tag, "images", None)
    picture = images.front_cover or images.any if images is not None else None
    if picture is not None and picture.data:
        cover = Cover(bytes(picture.data), picture.mime_type)
    return FileTags(
        title=_capped("title", _text(tag.title), notes),
        artist=_capped("artistName", _text(tag.artist), notes),
        album=_capped("album", _text(tag.album), notes),
        lyrics=_capped("lyrics", lyrics, notes),
        genres=tuple(genres[:MAX_GENRES]),
        date=_text(tag.year),
        comment=comment,
        cover=cover,
        extra=extra,
        notes=tuple(notes),
    )


def _capped(member: str, value: str | None, notes: list[str]) -> str | None:
    if value is not None and len(value) > CAPS[member]:
        notes.append(f"{member} tag longer than {CAPS[member]} characters: ignored")
        return None
    return value


def released_from_tag(text: str | None) -> str | None:
    """``YYYY-MM-DD`` from a date tag: ``2024-05-06`` (or an ISO 8601 date-time starting
    with one) as is, ``2024-05`` → ``2024-05-01``, ``2024`` → ``2024-01-01``; ``None`` for
    anything else (no real calendar date, a year before 1000)."""
    if not text:
        return None
    m = re.match(r"^\s*(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:$|[T ])", text)
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        when = date(year, month, day)
    except ValueError:
        return None
    return when.isoformat() if year >= 1000 else None


def made_with(comment: str) -> str | None:
    """X of a comment that is "Made with X" (or created/generated/produced with/by/using/on),
    optionally followed by ``(…)``/``[…]`` and a final ``.`` or ``!``; ``None`` otherwise.
    Pure and linear: white space is collapsed and only ``MAX_COMMENT_READ`` characters read."""
    text = " ".join(comment[: MAX_COMMENT_READ * 4].split())[:MAX_COMMENT_READ]
    m = _MADE_WITH.match(text)
    if m is None:
        return None
    name, rest = m.group(1), text[m.end():].lstrip(" ")
    if rest[:1] in ("(", "["):
        rest = ""
    if rest in ("", ".", "!"):
        return name.removesuffix(".") if rest == "" and name.endswith(".") and not name.endswith("..") else name
    return None


def provenance_from_tags(tags: FileTags) -> dict[str, Any]:
    """The ``provenance`` members the tags state unambiguously (module doc); ``{}`` if none."""
    out: dict[str, Any] = {}
    for name, value in tags.extra.items():
        member = _KEYS.get(name)
        if member is not None and member not in out and len(value) <= CAPS[member]:
            out[member] = value
    seed = tags.extra.get("seed") or tags.extra.get("ai_seed")
    if seed is not None and seed.isascii() and seed.isdigit() and len(seed) <= 16 and int(seed) <= MAX_SEED:
        out["seed"] = int(seed)
    flag = (tags.extra.get("ai_generated") or tags.extra.get("aigenerated") or "").casefold()
    if flag in _YES:
        out["aiGenerated"] = True
    elif flag in _NO:
        out["aiGenerated"] = False
    stated = tags.extra.get("digital_source_type") or tags.extra.get("digitalsourcetype")
    if stated is not None:
        term = stated.removeprefix(IPTC_PREFIX).removeprefix(IPTC_PREFIX.replace("http:", "https:"))
        if term in IPTC_TERMS:
            out["digitalSourceType"] = term
    if "generator" not in out and tags.comment:
        tool = made_with(tags.comment)
        made_with_ai = AI_GENERATORS.get(tool.casefold()) if tool else None
        if made_with_ai is not None:
            out["generator"] = made_with_ai
            out.setdefault("aiGenerated", True)
    elif isinstance(out.get("generator"), str) and out["generator"].casefold() in AI_GENERATORS:
        out.setdefault("aiGenerated", True)
    if isinstance(out.get("generator"), str):
        out["generator"] = {"name": out["generator"]}
    return out
