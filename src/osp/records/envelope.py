"""What every OSP record shares: the JSON-LD context, the content id and the JSON Schema
machinery (design.md §3, spec/osp-v0.1.md §6 and §10).

* ``content_id(prefix, record)`` = ``prefix`` + CIDv1 (multicodec ``json`` 0x0200,
  sha2-256, base32) of the RFC 8785 JCS bytes of ``record`` *without* ``id`` and ``proof``
  (spec §6.1; social records §10.1 use the same rule with their own prefix);
* ``compile_validator`` turns a draft 2020-12 schema into a ``jsonschema`` validator with
  the strict ``date``/``date-time`` format checks and every local ``$ref`` inlined;
* ``schema_problem`` renders a validation error as one line (``where: why``).

Pure; used by ``osp.records.track`` and ``osp.records.social``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from importlib import resources
from typing import Any

from osp.content.cid import CID, JSON
from osp.records.canonical import jcs

CONTEXT_URL = "https://w3id.org/osp/v0.1"
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"  #: the one extra context v0.1 allows
VERSION = "0.1"

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")
FORMAT_HINTS = {"date": "a calendar date YYYY-MM-DD", "date-time": "an RFC 3339 UTC date-time such as 2026-11-21T12:00:00Z "
                                                                 "(a real day, seconds 00-59)"}


@functools.cache
def context_document() -> dict[str, Any]:
    """The pinned JSON-LD context for ``CONTEXT_URL`` (never fetched at run time)."""
    text = resources.files("osp.records").joinpath("context/osp-v0.1.jsonld").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``schema/<name>`` shipped in the package (parsed anew: cache it)."""
    text = resources.files("osp.records").joinpath(f"schema/{name}").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def content_id(prefix: str, record: dict[str, Any]) -> str:
    """``prefix`` + ``b…``: the JSON-codec CIDv1 of JCS(record minus ``id`` and ``proof``)."""
    body = {k: v for k, v in record.items() if k not in ("id", "proof")}
    return prefix + str(CID.of(jcs(body), codec=JSON))


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
    """RFC 3339 §5.6 ``date-time`` naming a real instant that every consumer can parse
    (Python's ``datetime``, JavaScript's ``Date``, SQLite): a real calendar day from year
    0001, hours 00–23, minutes and seconds 00–59 — a leap second ``:60`` is refused (OSP
    v0.1 §6.1: no parser we know takes it, and a record's ``created`` is only ever a signer's
    clock reading); non-strings pass."""
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.fullmatch(value)
    if m is None:
        return False
    offset = m[8] if m[8] not in ("Z", "z") else "+00:00"
    try:
        dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]))
        return int(offset[1:3]) <= 23 and int(offset[4:6]) <= 59
    except ValueError:
        return False


@functools.cache
def format_checker() -> Any:
    """A ``jsonschema.FormatChecker`` for every ``format`` the OSP schemas declare
    (``date``, ``date-time``), strict and with no optional dependency: an impossible date
    such as ``2024-13-45`` fails the ``schema`` check."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date")(is_date)
    checker.checks("date-time")(is_date_time)
    return checker


def inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/x"}`` replaced by ``x`` (none is recursive):
    jsonschema resolves a ``$ref`` on every use, which made up a third of a record's check."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [inline_refs(v, defs) for v in node]
    return node


def compile_validator(schema: dict[str, Any]) -> Any:
    """A draft 2020-12 ``jsonschema`` validator for ``schema`` (its ``$ref``s already
    inlined) with ``format_checker()``."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=format_checker())


def first_error(validator: Any, instance: Any) -> Any | None:
    """The first error ``validator`` finds in ``instance`` (by path), or ``None``.  An
    ``unevaluatedProperties`` error comes after every other: when a member fails the
    envelope's ``allOf`` (a bad ``created``), that member is what to name, not the list of
    envelope members the failed branch left "unevaluated"."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: (e.validator == "unevaluatedProperties",
                                                                    list(e.path)))
    return errors[0] if errors else None


def schema_problem(error: Any) -> str:
    """One line for a ``jsonschema`` error: ``<path>: <why>`` (``(record)`` at the top)."""
    while error.context:  # a oneOf (older string form or the structured one): the branch the value took
        branch = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = max(branch, key=lambda e: len(e.absolute_path))
    where = "/".join(str(p) for p in error.absolute_path) or "(record)"
    fmt = error.validator_value if error.validator == "format" else (
        error.schema.get("format") if error.validator == "pattern" and isinstance(error.schema, dict) else None)
    if fmt is not None:  # a date-time's pattern (UTC, ``T``, ``Z``) says the same as its format
        hint = FORMAT_HINTS.get(str(fmt), str(fmt))
        return f"{where}: {str(error.instance)[:80]!r} is not {hint}"
    return f"{where}: {error.message[:200]}"
