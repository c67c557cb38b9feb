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

import functools
from dataclasses import dataclass
from typing import Any

from osp.content.cid import CID
from osp.core.errors import CallerError, IntegrityError
from osp.identity.keys import SigningKey
from osp.records import proof as di
from osp.records.canonical import check_depth, jcs, strict_loads
from osp.records.envelope import CONTEXT_URL as CONTEXT_URL
from osp.records.envelope import DATA_INTEGRITY_CONTEXT as DATA_INTEGRITY_CONTEXT
from osp.records.envelope import VERSION, compile_validator, content_id, inline_refs, load_schema, schema_problem
from osp.records.envelope import context_document as context_document
from osp.records.envelope import format_checker as format_checker
from osp.records.provenance import provenance_problem

TRACK_TYPE = "osp:Track"
ID_PREFIX = "osp:track:"


@functools.cache
def track_schema() -> dict[str, Any]:
    """The Track Record JSON Schema (draft 2020-12) shipped in the package."""
    return load_schema("track.schema.json")


@functools.cache
def _validator(*, signed: bool = True) -> Any:
    schema = inline_refs(track_schema(), track_schema()["$defs"])
    if not signed:  # a built, not yet signed record: the same schema less the proof
        schema = {**schema, "required": [r for r in schema["required"] if r != "proof"]}
    return compile_validator(schema)


def prepare() -> None:
    """Build the JSON Schema validator now: the first verification otherwise pays for its
    import and compilation (~0.1–0.2 s here), on a listener's first play request."""
    _validator()


@functools.cache
def _provenance_validator() -> Any:
    schema = track_schema()
    sub = {"$schema": schema["$schema"], **inline_refs(schema["properties"]["provenance"], schema["$defs"])}
    return compile_validator(sub)


def provenance_error(provenance: Any) -> str | None:
    """Everything wrong with a ``provenance`` value on its own, as one line
    (``provenance/<member>: why``), or ``None``: spec §5.1's rules, then its JSON Schema
    (lengths, patterns).  For callers that check it before there is a record to build
    (``osp publish``'s flags, ``POST /api/publish``)."""
    problem = provenance_problem(provenance)
    if problem or provenance is None:
        return problem
    errors = sorted(_provenance_validator().iter_errors(provenance), key=lambda e: list(e.path))
    return f"provenance/{schema_problem(errors[0])}".replace("/(record)", "") if errors else None


def derive_id(record: dict[str, Any]) -> str:
    """``osp:track:b…``: the JSON-codec CIDv1 of JCS(record minus ``id`` and ``proof``)."""
    return content_id(ID_PREFIX, record)


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
        raise CallerError(f"invalid track metadata: {schema_problem(errors[0])}")
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
        raise IntegrityError(f"record does not match the OSP v0.1 schema at {first or schema_problem(errors[0])}",
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
