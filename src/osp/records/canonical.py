"""Canonical JSON (RFC 8785 JCS) and strict parsing of untrusted JSON.

``strict_loads`` caps the input size, rejects duplicate keys, ``NaN``/``Infinity``,
and nesting deeper than ``max_depth`` before anything else looks at the data
(design.md §4 "Parsing untrusted input").
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from osp.core.errors import IntegrityError

MAX_RECORD_BYTES = 64 * 1024
MAX_DEPTH = 16


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise IntegrityError(f"value cannot be canonicalized (RFC 8785): {exc}", check="jcs") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise IntegrityError(f"duplicate JSON key {key!r}", check="json")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise IntegrityError(f"non-finite number {name} in JSON", check="json")


def _depth(value: Any, limit: int) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise IntegrityError(f"JSON nested deeper than {limit} levels", check="json")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def strict_loads(data: bytes | str, *, max_bytes: int = MAX_RECORD_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse untrusted JSON; ``IntegrityError(check="json")`` on any violation."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise IntegrityError(f"JSON document of {len(raw)} bytes exceeds the {max_bytes}-byte limit", check="json")
    try:
        value = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"malformed JSON: {exc}", check="json") from exc
    _depth(value, max_depth)
    return value
