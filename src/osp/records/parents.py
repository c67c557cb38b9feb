"""A Track Record's parents: the tracks it remixes, extends, covers or samples (spec §5,
``provenance.parents``).

Two forms are valid, and a reader accepts both in one list:

* ``{"id": "osp:track:b…", "relation": "remix" | "extends" | "cover" | "samples"}``;
* a bare track id string (the older form): the relation is unknown (``None``).

``parent_refs`` is tolerant, for data that already passed the schema *and* for anything
else (a known record from an older node, a test dict): items that are neither form, ids
that are not ``osp:track:`` ids, and repeats are skipped, never raised on; at most
``MAX_PARENTS`` are read.  Pure, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_PARENTS = 64  #: parents a record may name (the schema's ``maxItems``)
MAX_ID_CHARS = 256  #: longest track id read (a real one is ~69 characters)
RELATIONS = ("remix", "extends", "cover", "samples")  #: the relation vocabulary (spec §5)
_ID = re.compile(r"osp:track:b[a-z2-7]{58,}")


@dataclass(frozen=True)
class ParentRef:
    """One parent named by a record: its track ``id`` and the ``relation`` (one of
    ``RELATIONS``, or ``None`` when the record used the bare-id form or an unknown term)."""

    id: str
    relation: str | None


def is_track_id(value: object) -> bool:
    """True for a string shaped as a track id (the schema's ``^osp:track:b[a-z2-7]{58,}$``,
    at most ``MAX_ID_CHARS``)."""
    return isinstance(value, str) and len(value) <= MAX_ID_CHARS and _ID.fullmatch(value) is not None


def parent_refs(record: Mapping[str, Any]) -> list[ParentRef]:
    """The parents ``record`` names, in its order, each id once (the first entry wins),
    at most ``MAX_PARENTS``; ``[]`` when it names none or ``provenance`` is malformed."""
    provenance = record.get("provenance")
    parents = provenance.get("parents") if isinstance(provenance, Mapping) else None
    if not isinstance(parents, list):
        return []
    out: list[ParentRef] = []
    seen: set[str] = set()
    for item in parents[:MAX_PARENTS]:
        track_id, relation = (item.get("id"), item.get("relation")) if isinstance(item, Mapping) else (item, None)
        if not isinstance(track_id, str) or not is_track_id(track_id) or track_id in seen:
            continue
        seen.add(track_id)
        out.append(ParentRef(track_id, relation if isinstance(relation, str) and relation in RELATIONS else None))
    return out


def parent_ids(record: Mapping[str, Any]) -> list[str]:
    """The ids of ``parent_refs(record)``, in order."""
    return [p.id for p in parent_refs(record)]


def names_parent(record: Mapping[str, Any], track_id: str) -> bool:
    """True when ``record`` names ``track_id`` among its parents (either form)."""
    return any(p.id == track_id for p in parent_refs(record))
