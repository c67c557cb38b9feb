"""OSP social records: Playlist, Follow, Like, Comment, Endorsement, Flag, Tombstone
(spec/osp-v0.1.md §10, schema ``spec/social.schema.json``).

Same envelope, id rule and proof as Track Records (design.md §3, spec §6)::

    {"@context": ["https://w3id.org/osp/v0.1"], "type": "osp:<Type>", "version": "0.1",
     "id": "osp:<kind>:<CIDv1 json sha2-256 base32 of JCS without id and proof>",
     "author": "did:key:z6Mk…", "created": "<RFC 3339 UTC date-time, Z>", …body…,
     "proof": {… eddsa-jcs-2022 by the author's did:key …}}

Bodies (``subject`` names what the record is about):

========== ================================================================================
kind       body
========== ================================================================================
playlist   ``playlist`` (series id ``pl-`` + 16 base64url), ``seq`` (1…2^53−1), ``title``
           (1–200), ``description``? (1–2000), ``tracks`` (≤ 500 track ids, order kept)
follow     ``subject``: a did:key
like       ``subject``: a track id
comment    ``subject``: a track id, ``text`` (1–2000), ``at``? (seconds, 0…86400),
           ``replyTo``? (a comment id)
endorsement ``subject``: a did:key, ``text``? (1–500)
flag       ``subject``: a track id or a did:key, ``reason`` (``FLAG_REASONS``), ``text``?
           (1–1000), ``duplicateOf``? (a track id; only with reason ``duplicate``)
tombstone  ``subject``: a social id of any kind but ``tombstone``; of a playlist version
           optionally ``playlist`` and ``seq`` (both or neither): the series and seq it ends
========== ================================================================================

``verify_social`` checks, in order: size (64 KiB of input and of JCS) and strict JSON →
the kind's JSON Schema (ids: ``osp:<kind>:`` + the sha2-256 JSON CIDv1 of spec §6.1),
then what it cannot say (a did:key subject is a usable Ed25519 key) → id → proof by
``author``'s key.
That a Tombstone's author is its subject's author needs the subject: the repository
(``osp.library.social``) checks it.  Pure.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from osp.core.errors import CallerError, IntegrityError
from osp.identity.didkey import DidKeyError, public_key_from_bare_did
from osp.identity.keys import SigningKey
from osp.records import proof as di
from osp.records.canonical import check_depth, jcs, strict_loads
from osp.records.envelope import (
    CONTEXT_URL,
    VERSION,
    compile_validator,
    content_id,
    first_error,
    inline_refs,
    load_schema,
    schema_problem,
)

#: kind (the id's middle part) → JSON-LD type, in spec order
TYPES: dict[str, str] = {
    "playlist": "osp:Playlist",
    "follow": "osp:Follow",
    "like": "osp:Like",
    "comment": "osp:Comment",
    "endorsement": "osp:Endorsement",
    "flag": "osp:Flag",
    "tombstone": "osp:Tombstone",
}
KINDS: tuple[str, ...] = tuple(TYPES)
FLAG_REASONS: tuple[str, ...] = ("spam", "impersonation", "not-ai", "malicious", "duplicate")
MAX_SOCIAL_BYTES = 64 * 1024  #: a signed social record's JCS bytes, at most
MAX_PLAYLIST_TRACKS = 500
MAX_SEQ = 2**53 - 1
ENVELOPE = frozenset({"@context", "type", "version", "id", "author", "created", "proof"})

_KIND_OF_TYPE = {t: k for k, t in TYPES.items()}
#: ``osp:<kind>:`` + the base32 CIDv1 of spec §6.1: 0x01 (v1), 0x80 0x04 (json), 0x12 0x20
#: (sha2-256, 32 bytes) = ``bagaaiera``, then the digest's 256 bits (the last character
#: carries one bit and four zero bits: ``a`` or ``q``)
_ID = re.compile(r"osp:([a-z]+):bagaaiera[a-z2-7]{51}[aq]")
_OPTIONAL_TEXT = frozenset({"description", "text"})  #: dropped by build_social when empty (comment text is required)


def social_kind(value: object) -> str | None:
    """The kind of a social record id (``osp:<kind>:`` + a CID of spec §6.1, ``<kind>`` in
    ``KINDS``), or ``None`` if ``value`` is not one."""
    m = _ID.fullmatch(value) if isinstance(value, str) else None
    return m[1] if m is not None and m[1] in TYPES else None


def is_social_id(value: object) -> bool:
    """Whether ``value`` is a social record id (``osp:<kind>:bagaaiera…``, spec §10.1)."""
    return social_kind(value) is not None


def is_track_id(value: object) -> bool:
    """Whether ``value`` is a track id (``osp:track:`` + a CID of spec §6.1)."""
    m = _ID.fullmatch(value) if isinstance(value, str) else None
    return m is not None and m[1] == "track"


@functools.cache
def social_schema() -> dict[str, Any]:
    """The social records' JSON Schema (draft 2020-12, ``oneOf`` by type) shipped in the package."""
    return load_schema("social.schema.json")


@functools.cache
def _validator(kind: str, stage: str = "signed") -> Any:
    """The kind's validator; ``stage`` ``built`` (no id, created, proof yet), ``unsigned``
    (no proof) or ``signed``."""
    schema = social_schema()
    sub = inline_refs(schema["$defs"][TYPES[kind].removeprefix("osp:")], schema["$defs"])
    dropped = {"built": {"id", "created", "proof"}, "unsigned": {"proof"}, "signed": set()}[stage]
    envelope = {**sub["allOf"][0], "required": [r for r in sub["allOf"][0]["required"] if r not in dropped]}
    if kind == "playlist":  # its up to 500 track ids: one regex each in _semantic_problem, not
        # jsonschema's per-item descent (7 of a 500-track playlist's 8 ms)
        tracks = {k: v for k, v in sub["properties"]["tracks"].items() if k != "items"}
        sub = {**sub, "properties": {**sub["properties"], "tracks": tracks}}
    return compile_validator({"$schema": schema["$schema"], **sub, "allOf": [envelope]})


def prepare() -> None:
    """Compile every kind's validator now (the first verification otherwise pays for it)."""
    for kind in KINDS:
        _validator(kind)


def _semantic_problem(record: dict[str, Any]) -> str | None:
    """What the schema cannot say, for a record that matched it: a did:key subject must be
    a usable Ed25519 key (on the curve, not of small order); and a playlist's ``tracks``
    items, which the schema file checks with ``trackId`` and our validator leaves here."""
    for i, track in enumerate(record.get("tracks") or ()):
        if not is_track_id(track):
            return f"tracks/{i}: {str(track)[:80]!r} is not a track id (osp:track:bagaaiera…)"
    subject = record.get("subject")
    if isinstance(subject, str) and subject.startswith("did:"):
        try:
            public_key_from_bare_did(subject)
        except DidKeyError as exc:
            return f"subject: not a usable did:key ({exc})"
    return None


def _kind_of(record: dict[str, Any]) -> str | None:
    t = record.get("type")
    return _KIND_OF_TYPE.get(t) if isinstance(t, str) else None


def build_social(kind: str, author: str, fields: dict[str, Any]) -> dict[str, Any]:
    """An unsigned social record of ``kind`` by ``author`` with ``fields`` (its body:
    see the module table), without ``id``, ``created`` and ``proof``.

    ``None`` values, and an empty ``description``/optional ``text``, are dropped.
    ``CallerError`` for an unknown kind, an envelope member in ``fields``, or a body that
    no verifier would accept (the schema and the checks beyond it; the message names the
    member, e.g. ``text: '' is too short``)."""
    if kind not in TYPES:
        raise CallerError(f"unknown social record kind {str(kind)[:40]!r}; one of {', '.join(KINDS)}")
    clash = ENVELOPE & set(fields)
    if clash:
        raise CallerError(f"{', '.join(sorted(clash))}: set by the record envelope, not a body field")
    body: dict[str, Any] = {"@context": [CONTEXT_URL], "type": TYPES[kind], "version": VERSION, "author": author}
    for key, value in fields.items():
        if value is None or (key in _OPTIONAL_TEXT and value == "" and not (kind == "comment" and key == "text")):
            continue
        body[key] = value
    error = first_error(_validator(kind, "built"), body)
    problem = schema_problem(error) if error is not None else _semantic_problem(body)
    if problem:
        raise CallerError(f"invalid {kind}: {problem}")
    try:
        jcs(body)  # NaN passes a JSON Schema's bounds, and JCS refuses it
    except IntegrityError as exc:
        raise CallerError(f"invalid {kind}: {exc.message}") from exc
    return body


def sign_social(unsigned: dict[str, Any], key: SigningKey, created: str) -> dict[str, Any]:
    """The signed record: ``unsigned`` (from ``build_social``) with ``created`` (RFC 3339 UTC,
    ``…Z``; also the proof's ``created``), its ``id`` (spec §10.1) and the eddsa-jcs-2022
    ``proof`` by ``key``.  ``CallerError`` if ``key`` is not the record's author, for a bad
    ``created``, or a record over ``MAX_SOCIAL_BYTES``."""
    if unsigned.get("author") != key.did:
        raise CallerError("a social record is signed by its author's own key")
    kind = _kind_of(unsigned)
    if kind is None:
        raise CallerError("not a social record (build it with build_social)")
    record = {k: v for k, v in unsigned.items() if k not in ("id", "proof")}
    record["created"] = created
    record["id"] = content_id(f"osp:{kind}:", record)
    error = first_error(_validator(kind, "unsigned"), record)
    if error is not None:
        raise CallerError(f"invalid {kind}: {schema_problem(error)}")
    signed = di.sign(record, key, created)
    if len(jcs(signed)) > MAX_SOCIAL_BYTES:
        raise CallerError(f"a social record is at most {MAX_SOCIAL_BYTES} bytes (JCS)")
    return signed


@dataclass(frozen=True)
class VerifiedSocial:
    """A social record that passed every check of ``verify_social``; ``record`` is the
    parsed JSON object."""

    record: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def kind(self) -> str:
        """``playlist``, ``follow``, ``like``, ``comment``, ``endorsement``, ``flag`` or ``tombstone``."""
        return _KIND_OF_TYPE[self.record["type"]]

    @property
    def author(self) -> str:
        return str(self.record["author"])

    @property
    def subject(self) -> str | None:
        """What the record is about (a did:key, a track id or, for a tombstone, a social
        record id); ``None`` for a playlist."""
        subject = self.record.get("subject")
        return None if subject is None else str(subject)

    @property
    def created(self) -> str:
        return str(self.record["created"])

    @property
    def playlist(self) -> str | None:
        """A playlist's series id (``pl-…``), or the one a playlist version's tombstone names
        (spec §10.2 rule 3); ``None`` otherwise."""
        value = self.record.get("playlist")
        return None if value is None else str(value)

    @property
    def seq(self) -> int | None:
        """A playlist's version number, or the one a playlist version's tombstone names;
        ``None`` otherwise."""
        value = self.record.get("seq")
        return None if value is None else int(value)

    def to_json(self) -> bytes:
        """Compact canonical bytes (JCS) of the signed record."""
        return jcs(self.record)


def verify_social(data: bytes | str | dict[str, Any]) -> VerifiedSocial:
    """Verify a signed social record from bytes (at most 64 KiB) or a parsed object.

    Raises ``IntegrityError`` whose ``check`` is ``json`` (size, malformed, too deep, not
    an object), ``schema`` (an unknown ``type``, the kind's schema, or the checks beyond it:
    a did:key subject that is no usable key, a malformed track or record id, a tombstone
    of a tombstone, a record over 64 KiB as JCS), ``id`` (spec §10.1), or one of the
    proof's checks (``proof``, ``proof-type``, ``proof-purpose``, ``proof-context``,
    ``verification-method``: not signed by ``author``), as ``verify_track`` (spec §6.3).
    """
    record = strict_loads(data, max_bytes=MAX_SOCIAL_BYTES) if isinstance(data, (bytes, str)) else data
    if not isinstance(record, dict):
        raise IntegrityError("a social record is a JSON object", check="json")
    check_depth(record)
    kind = _kind_of(record)
    if kind is None:
        raise IntegrityError(f"type: {str(record.get('type'))[:40]!r} is not a social record type "
                             f"({', '.join(TYPES.values())})", check="schema")
    error = first_error(_validator(kind), record)
    problem = schema_problem(error) if error is not None else _semantic_problem(record)
    if problem:
        raise IntegrityError(f"record does not match the OSP v0.1 {kind} schema at {problem}", check="schema")
    try:
        size = len(jcs(record))
    except IntegrityError as exc:  # a parsed object from elsewhere holding NaN
        raise IntegrityError(f"record cannot be canonicalized: {exc.message}", check="schema") from exc
    if size > MAX_SOCIAL_BYTES:
        raise IntegrityError(f"a social record is at most {MAX_SOCIAL_BYTES} bytes (JCS)", check="schema")
    expected = content_id(f"osp:{kind}:", record)
    if record["id"] != expected:
        raise IntegrityError(f"record id {record['id']} does not match its content ({expected})", check="id")
    di.verify(record, record["author"])
    return VerifiedSocial(record)

