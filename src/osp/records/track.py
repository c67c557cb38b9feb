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
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from osp.content.cid import CID, JSON
from osp.core.errors import IntegrityError
from osp.identity.keys import SigningKey
from osp.records import proof as di
from osp.records.canonical import jcs, strict_loads

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


@functools.cache
def _validator() -> Any:
    import jsonschema

    schema = track_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def derive_id(record: dict[str, Any]) -> str:
    """``osp:track:b…``: the JSON-codec CIDv1 of JCS(record minus ``id`` and ``proof``)."""
    body = {k: v for k, v in record.items() if k not in ("id", "proof")}
    return ID_PREFIX + str(CID.of(jcs(body), codec=JSON))


def build_track(fields: dict[str, Any]) -> dict[str, Any]:
    """An unsigned record with envelope fields and ``id`` set; ``None`` values dropped."""
    body: dict[str, Any] = {"@context": [CONTEXT_URL], "type": TRACK_TYPE, "version": VERSION}
    for key, value in fields.items():
        if value is None or value == {} or (key != "tags" and value == []):
            continue
        body[key] = value
    body.setdefault("tags", [])
    return {**body, "id": derive_id(body)}


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
    errors = sorted(_validator().iter_errors(record), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(record)"
        raise IntegrityError(f"record does not match the OSP v0.1 schema at {where}: {first.message[:200]}", check="schema")
    expected = derive_id(record)
    if record["id"] != expected:
        raise IntegrityError(f"record id {record['id']} does not match its content ({expected})", check="id")
    try:
        CID.decode(record["cid"])
    except ValueError as exc:
        raise IntegrityError(f"bad cid: {exc}", check="schema") from exc
    di.verify(record, record["artist"])
    return VerifiedTrack(record)
