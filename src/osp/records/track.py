"""The OSP Track Record: build, derive its id, sign, verify.

Source: design.md §3 and ``spec/`` (OSP v0.1).  A Track Record is a JSON-LD object with
``@context: ["https://w3id.org/osp/v0.1"]``, ``type: "osp:Track"``, ``version: "0.1"``.

* **id** = ``osp:track:`` + CIDv1 (multicodec ``json`` 0x0200, sha2-256, base32) of the
  RFC 8785 JCS bytes of the record *without* ``id`` and ``proof``;
* the **proof** (``eddsa-jcs-2022``) then signs the record *with* ``id``, by the key of
  the ``artist`` did:key.

Verification order (cheapest and most hostile first): size cap and strict JSON parse →
JSON Schema → id → proof by the artist's own key → (optionally) the CID of the bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from osp.content.cid import CID, JSON
from osp.core.errors import CallerError, IntegrityError
from osp.identity.keys import SigningKey
from osp.records import proof as di
from osp.records.canonical import check_depth, jcs, strict_loads
from osp.records.provenance import provenance_problem

CONTEXT_URL = "https://w3id.org/osp/v0.1"
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"  #: the one extra context v0.1 allows
TRACK_TYPE = "osp:Track"
VERSION = "0.1"
ID_PREFIX = "osp:track:"


@functools.cache
def track_schema() -> dict[str, Any]:
    """The Track Record JSON Schema (draft 2020-12) shipped in the package."""
    text = resources.files("osp.records").joinpath("schema/track.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@functools.cache
def context_document() -> dict[str, Any]:
    """The pinned JSON-LD context for ``CONTEXT_URL`` (never fetched at run time)."""
    text = resources.files("osp.records").joinpath("context/osp-v0.1.jsonld").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")
FORMAT_HINTS = {"date": "a calendar date YYYY-MM-DD", "date-time": "an RFC 3339 date-time such as 2026-11-21T12:00:00Z"}


def is_date(value: object) -> bool:
    """RFC 3339 ``full-date`` (``YYYY-MM-DD``) naming a real calendar day; non-strings pass."""
    if not isinstance(value, str):
        return True
    m = _DATE.fullmatch(value)
    try:
        return m is not None and bool(dt.date(int(m[1]), int(m[2]), int(m[3])))
    except ValueError:
        return False


def is_date_time(value: object) -> bool:
    """RFC 3339 §5.6 ``date-time`` naming a real instant (a leap second ``:60`` allowed);
    non-strings pass."""
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.fullmatch(value)
    if m is None:
        return False
    offset = m[8] if m[8] not in ("Z", "z") else "+00:00"
    try:
        dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), min(int(m[6]), 59))
        return int(m[6]) <= 60 and int(offset[1:3]) <= 23 and int(offset[4:6]) <= 59
    except ValueError:
        return False


@functools.cache
def format_checker() -> Any:
    """A ``jsonschema.FormatChecker`` for every ``format`` the Track schema declares
    (``date``, ``date-time``), strict and with no optional dependency: an impossible date
    such as ``2024-13-45`` fails the ``schema`` check."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date")(is_date)
    checker.checks("date-time")(is_date_time)
    return checker


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/x"}`` replaced by ``x`` (none is recursive):
    jsonschema resolves a ``$ref`` on every use, which made up a third of a record's check."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


@functools.cache
def _validator(*, signed: bool = True) -> Any:
    import jsonschema

    schema = _inline_refs(track_schema(), track_schema()["$defs"])
    if not signed:  # a built, not yet signed record: the same schema less the proof
        schema = {**schema, "required": [r for r in schema["required"] if r != "proof"]}
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=format_checker())


def prepare() -> None:
    """Build the JSON Schema validator now: the first verification otherwise pays for its
    import and compilation (~0.1–0.2 s here), on a listener's first play request."""
    _validator()


def _schema_problem(error: Any) -> str:
    while error.context:  # a oneOf (older string form or the structured one): the branch the value took
        branch = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = max(branch, key=lambda e: len(e.absolute_path))
    where = "/".join(str(p) for p in error.absolute_path) or "(record)"
    if error.validator == "format":
        hint = FORMAT_HINTS.get(str(error.validator_value), str(error.validator_value))
        return f"{where}: {str(error.instance)[:80]!r} is not {hint}"
    return f"{where}: {error.message[:200]}"


@functools.cache
def _provenance_validator() -> Any:
    import jsonschema

    schema = track_schema()
    sub = {"$schema": schema["$schema"], **_inline_refs(schema["properties"]["provenance"], schema["$defs"])}
    return jsonschema.validators.validator_for(sub)(sub, format_checker=format_checker())


def provenance_error(provenance: Any) -> str | None:
    """Everything wrong with a ``provenance`` value on its own, as one line
    (``provenance/<member>: why``), or ``None``: spec §5.1's rules, then its JSON Schema
    (lengths, patterns).  For callers that check it before there is a record to build
    (``osp publish``'s flags, ``POST /api/publish``)."""
    problem = provenance_problem(provenance)
    if problem or provenance is None:
        return problem
    errors = sorted(_provenance_validator().iter_errors(provenance), key=lambda e: list(e.path))
    return f"provenance/{_schema_problem(errors[0])}".replace("/(record)", "") if errors else None


def derive_id(record: dict[str, Any]) -> str:
    """``osp:track:b…``: the JSON-codec CIDv1 of JCS(record minus ``id`` and ``proof``)."""
    body = {k: v for k, v in record.items() if k not in ("id", "proof")}
    return ID_PREFIX + str(CID.of(jcs(body), codec=JSON))


def build_track(fields: dict[str, Any]) -> dict[str, Any]:
    """An unsigned record with envelope fields and ``id`` set; ``None`` values dropped.

    The result is checked against the schema (all but ``proof``), formats included, so a
    record that no verifier would accept is never signed: ``CallerError`` names the first
    bad field (e.g. ``released: '2024-13-45' is not a calendar date YYYY-MM-DD``).  The
    ``provenance`` rules beyond the schema (``osp.records.provenance``: vocabularies, the
    ``parameters`` byte cap, ``none`` alone) are checked first, with their own messages.
    """
    problem = provenance_problem(fields.get("provenance") or None)
    if problem:
        raise CallerError(f"invalid track metadata: {problem}")
    body: dict[str, Any] = {"@context": [CONTEXT_URL], "type": TRACK_TYPE, "version": VERSION}
    for key, value in fields.items():
        if value is None or value == {} or (key != "tags" and value == []):
            continue
        body[key] = value
    body.setdefault("tags", [])
    record = {**body, "id": derive_id(body)}
    errors = sorted(_validator(signed=False).iter_errors(record), key=lambda e: list(e.path))
    if errors:
        raise CallerError(f"invalid track metadata: {_schema_problem(errors[0])}")
    return record


def sign_track(unsigned: dict[str, Any], key: SigningKey, created: str) -> dict[str, Any]:
    """Sign a built record; ``ValueError`` if ``key`` is not the record's artist."""
    if unsigned.get("artist") != key.did:
        raise ValueError("a Track Record is signed by its artist's own key")
    return di.sign(unsigned, key, created)


@dataclass(frozen=True)
class VerifiedTrack:
    """A record that passed every check; ``record`` is the parsed JSON object."""

    record: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def cid(self) -> CID:
        return CID.decode(self.record["cid"])

    @property
    def infohash(self) -> str:
        """Hex v1 infohash from the ``torrent`` magnet's ``urn:btih``."""
        return str(self.record["torrent"]).split("urn:btih:", 1)[1][:40]

    def to_json(self) -> bytes:
        """Compact canonical bytes (JCS) of the signed record."""
        return jcs(self.record)


def verify_track(data: bytes | str | dict[str, Any]) -> VerifiedTrack:
    """Verify a signed Track Record from bytes or a parsed object.

    Raises ``IntegrityError`` whose ``check`` is one of ``json``, ``schema``, ``id``,
    ``proof``, ``proof-type``, ``proof-purpose``, ``proof-context``,
    ``verification-method``.  The CID against the audio bytes is checked separately
    (``osp.content.cid_of_file``) because the bytes are not always at hand.
    """
    record = strict_loads(data) if isinstance(data, (bytes, str)) else data
    if not isinstance(record, dict):
        raise IntegrityError("a Track Record is a JSON object", check="json")
    check_depth(record)  # a parsed object from elsewhere gets the same depth limit
    errors = sorted(_validator().iter_errors(record), key=lambda e: list(e.path))
    if errors:
        first = list(errors[0].absolute_path)[:1] == ["provenance"] and provenance_problem(record["provenance"])
        raise IntegrityError(f"record does not match the OSP v0.1 schema at {first or _schema_problem(errors[0])}",
                             check="schema")
    problem = provenance_problem(record.get("provenance"))
    if problem:  # the rules JSON Schema cannot say (spec §5.1): part of the schema check
        raise IntegrityError(f"record does not match the OSP v0.1 schema at {problem}", check="schema")
    expected = derive_id(record)
    if record["id"] != expected:
        raise IntegrityError(f"record id {record['id']} does not match its content ({expected})", check="id")
    try:
        CID.decode(record["cid"])
    except ValueError as exc:
        raise IntegrityError(f"bad cid: {exc}", check="schema") from exc
    di.verify(record, record["artist"])
    return VerifiedTrack(record)
