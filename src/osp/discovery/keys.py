"""DHT rendezvous keys (spec/osp-v0.1.md §9.1, design.md §5).

A node that holds a record announces itself (BEP 5 ``announce_peer``) under 20-byte keys
a seeker can compute from what it knows::

    key = SHA-1(b"osp/v0/" + kind + b":" + UTF-8(value'))

``kind`` is ``track`` (value = the track id, verbatim), ``artist`` (the artist's did:key,
verbatim), ``tag`` (a tag, normalized), ``word`` (a title word, normalized) or ``parent``
(the id of a track the record names in ``provenance.parents``, verbatim: a seeker of a
track's remixes, covers and samples looks up holders under it).
Normalization (``normalize``) is NFKC, case folding (full, Unicode ``casefold``), NFKC
again, trimming and collapsing runs of white space to one space; title words
(``title_words``) are the runs of Unicode letters and digits of the normalized title,
minus ``STOP_WORDS`` and one-character words, at most ``MAX_TITLE_WORDS``; a record is
announced under its title words and the words of its ``artistName`` (``record_words``).

Keys are public and predictable by design: anyone crawling the DHT sees them, and a
Sybil can announce under them. Seekers treat what they find as hints and verify every
record (§9.3).  Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from osp.core.errors import CallerError
from osp.records.parents import parent_ids

Kind = Literal["track", "artist", "tag", "word", "parent"]
KINDS: tuple[str, ...] = get_args(Kind)
PREFIX = b"osp/v0/"

#: English function words dropped from titles and queries (spec §9.1); the list is part
#: of the protocol: a word on it is never announced, so a seeker must drop it too.
STOP_WORDS = frozenset(
    "a an and are as at be but by feat for from ft in into is it its of on or the this to vs with".split()
)
MAX_TITLE_WORDS = 16  #: distinct words announced per title (and per record: title + artist name)
MAX_RECORD_KEYS = 24  #: keys per record: track, artist, parents, tags, then title and artist-name words
MAX_VALUE_CHARS = 256  #: longest value a key is derived from (longer is a caller error)

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")  # runs of Unicode letters and digits (\w minus underscore)


def normalize(text: str) -> str:
    """``text`` normalized for tag and word keys: NFKC, ``str.casefold``, NFKC again,
    stripped, inner white space collapsed to one U+0020.

    ``"Ａｍｂｉｅｎｔ"`` → ``"ambient"``; ``"Straße"`` → ``"strasse"``; ``" Lo  Fi "`` →
    ``"lo fi"``.  May return ``""``.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _SPACE.sub(" ", folded).strip()


def title_words(title: str) -> list[str]:
    """Distinct normalized words of ``title`` in first-seen order: the runs of Unicode
    letters and digits of ``normalize(title)``, without ``STOP_WORDS`` and one-character
    words, at most ``MAX_TITLE_WORDS``.  ``"The Glacier, glacier DRIFT (feat. X)"`` →
    ``["glacier", "drift"]``."""
    out: list[str] = []
    for word in _WORD.findall(normalize(title)):
        if len(word) < 2 or word in STOP_WORDS or word in out:
            continue
        out.append(word)
        if len(out) == MAX_TITLE_WORDS:
            break
    return out


@dataclass(frozen=True)
class RendezvousKey:
    """A 20-byte DHT key: ``kind``, the ``value`` it was derived from (already normalized
    for tags and words) and the SHA-1 ``digest``."""

    kind: Kind
    value: str
    digest: bytes

    @property
    def hex(self) -> str:
        """The digest as 40 lowercase hex digits."""
        return self.digest.hex()

    @property
    def label(self) -> str:
        """``"kind:value"``, for logs and the announce plan."""
        return f"{self.kind}:{self.value}"


def rendezvous_key(kind: str, value: str) -> RendezvousKey:
    """The key of ``(kind, value)`` (spec §9.1): ``SHA-1(b"osp/v0/" + kind + b":" +
    UTF-8(value'))`` where ``value'`` is ``value`` verbatim for ``track``, ``artist`` and
    ``parent`` (a track id) and ``normalize(value)`` for ``tag`` and ``word``.

    ``CallerError`` for an unknown kind, an empty (after normalization) value, a value
    longer than ``MAX_VALUE_CHARS`` or one with white space at its ends (track, artist, parent).
    """
    if kind not in KINDS:
        raise CallerError(f"unknown rendezvous key kind {kind!r} (one of {', '.join(KINDS)})")
    if not isinstance(value, str):
        raise CallerError("a rendezvous key value is a string")
    norm = normalize(value) if kind in ("tag", "word") else value
    if not norm:
        raise CallerError(f"empty {kind} for a rendezvous key")
    if len(norm) > MAX_VALUE_CHARS:
        raise CallerError(f"{kind} longer than {MAX_VALUE_CHARS} characters")
    if norm != norm.strip():
        raise CallerError(f"{kind} with white space at its ends")
    digest = hashlib.sha1(PREFIX + kind.encode("ascii") + b":" + norm.encode("utf-8")).digest()
    return RendezvousKey(kind, norm, digest)  # type: ignore[arg-type]  # kind checked above


def record_words(record: Mapping[str, Any]) -> list[str]:
    """The words a record is announced and found under (spec §9.1): the title words, then
    the words of ``artistName`` (split and filtered as title words) not already among them,
    at most ``MAX_TITLE_WORDS`` in all.  Whole words only: a seeker's word matches a record
    word exactly after normalization, never a prefix.  ``"Glacier Drift"`` by ``"Aurora
    Drift"`` → ``["glacier", "drift", "aurora"]``."""
    title, name = record.get("title"), record.get("artistName")
    words = title_words(title if isinstance(title, str) else "")
    for w in title_words(name if isinstance(name, str) else ""):
        if len(words) >= MAX_TITLE_WORDS:
            break
        if w not in words:
            words.append(w)
    return words


def record_keys(record: Mapping[str, Any]) -> list[RendezvousKey]:
    """The keys a holder of ``record`` (a verified Track Record) announces, in priority
    order and without duplicates: track id, artist, each parent (``provenance.parents``,
    either form), each tag, each word of the title and of ``artistName``
    (``record_words``); at most ``MAX_RECORD_KEYS``.  Tags or words that normalize to nothing or are too long are
    skipped; a record without ``id`` or ``artist`` is a ``CallerError``."""
    keys = [rendezvous_key("track", str(record.get("id") or "")), rendezvous_key("artist", str(record.get("artist") or ""))]
    seen = {k.digest for k in keys}
    tags = record.get("tags")
    candidates: list[tuple[str, str]] = [("parent", p) for p in parent_ids(record)]
    candidates += [("tag", t) for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    candidates += [("word", w) for w in record_words(record)]
    for kind, value in candidates:
        try:
            key = rendezvous_key(kind, value)
        except CallerError:
            continue
        if key.digest not in seen:
            seen.add(key.digest)
            keys.append(key)
        if len(keys) == MAX_RECORD_KEYS:
            break
    return keys
