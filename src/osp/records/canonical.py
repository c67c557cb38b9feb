"""Canonical JSON (RFC 8785 JCS) and strict parsing of untrusted JSON.

``strict_loads`` caps the input size and the nesting depth (counted on the raw text,
before the recursive parser runs), rejects duplicate keys, ``NaN``/``Infinity`` (also
as an overflowing literal such as ``1e999``) and integer literals longer than
``MAX_INT_DIGITS`` digits, before anything else looks at the data (design.md §4
"Parsing untrusted input").  Every malformed input raises ``IntegrityError`` with
``check="json"``; nothing else escapes (no ``RecursionError``, no ``ValueError``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import rfc8785

from osp.core.errors import IntegrityError

MAX_RECORD_BYTES = 64 * 1024
MAX_DEPTH = 16
MAX_INT_DIGITS = 20  #: covers every 64-bit integer; JCS (RFC 8785) itself stops at 2**53 - 1

_TOKEN = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)  # an escape pair, a quote or a bracket


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise IntegrityError(f"value cannot be canonicalized (RFC 8785): {exc}", check="jcs") from exc
    except RecursionError:
        raise IntegrityError("value nested too deeply to canonicalize (RFC 8785)", check="jcs") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise IntegrityError(f"duplicate JSON key {key!r}", check="json")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise IntegrityError(f"non-finite number {name} in JSON", check="json")


def _parse_int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise IntegrityError(f"integer literal of {digits} digits (at most {MAX_INT_DIGITS})", check="json")
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise IntegrityError(f"number {literal[:20]}… overflows to a non-finite value", check="json")
    return value


def _raw_depth(raw: bytes, limit: int) -> None:
    """Reject nesting deeper than ``limit`` by counting brackets outside strings, in
    linear time and without recursion, so the recursive parser never sees it."""
    depth = 0
    in_string = False
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token == b'"':
            in_string = not in_string
        elif in_string or token[0] == 0x5C:  # inside a string, or an escape pair
            continue
        elif token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise IntegrityError(f"JSON nested deeper than {limit} levels", check="json")
        else:
            depth -= 1


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """``IntegrityError(check="json")`` if a parsed value nests deeper than ``limit``
    levels (a scalar inside one array is at level 2); iterative, never recurses."""
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
    """Parse untrusted JSON (RFC 8259, UTF-8) of at most ``max_bytes`` bytes and
    ``max_depth`` levels of arrays/objects.

    Raises ``IntegrityError(check="json")`` on any violation: too large, too deep,
    malformed, not UTF-8, duplicate keys, ``NaN``/``Infinity`` or a number that overflows
    to them, an integer literal of more than ``MAX_INT_DIGITS`` digits.
    """
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeEncodeError as exc:
        raise IntegrityError(f"malformed JSON text: {exc}", check="json") from None
    if len(raw) > max_bytes:
        raise IntegrityError(f"JSON document of {len(raw)} bytes exceeds the {max_bytes}-byte limit", check="json")
    _raw_depth(raw, max_depth)
    try:
        value = json.loads(
            raw,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"malformed JSON: {exc}", check="json") from exc
    except (RecursionError, ValueError) as exc:  # belt and braces: the checks above stop these first
        raise IntegrityError(f"malformed JSON: {type(exc).__name__}", check="json") from None
    check_depth(value, max_depth)
    return value
