"""Asking other nodes whether they know some audio (``GET /osp/v0/match``, spec §9.7).

The asker sends a raw Chromaprint excerpt (at most ``MATCH_VALUES`` values, ~120 s) and
gets at most ``MAX_MATCHES`` ``{"record", "offset", "overlap", "score"}``.  Every record is
verified (signature and id) before it is returned; the match itself — that the peer's audio
sounds like ours at that offset — is the peer's claim, which the asker cannot check without
fetching the audio.  A peer that answers out of shape or with a forged record raises
``IntegrityError``; one that cannot be reached in time, ``PeerError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from osp.core.errors import IntegrityError
from osp.distribution.peer_client import PeerClient
from osp.node.fingerprints import MATCH_VALUES, MAX_MATCHES
from osp.provenance import fingerprint as fp
from osp.records.canonical import MAX_RECORD_BYTES, strict_loads
from osp.records.track import VerifiedTrack, verify_track

MAX_ANSWER = MAX_MATCHES * (MAX_RECORD_BYTES + 256) + 64  #: bytes a match answer may have


@dataclass(frozen=True)
class PeerMatch:
    """A verified record a ``peer`` says matches: ``offset`` and ``overlap`` seconds, ``score`` 0…1."""

    peer: str
    track: VerifiedTrack
    offset: float
    overlap: float
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"peer": self.peer, "id": self.track.id, "title": self.track.record.get("title"),
                "artist": self.track.record.get("artist"), "artistName": self.track.record.get("artistName"),
                "released": self.track.record.get("released"), "offset": self.offset, "overlap": self.overlap,
                "score": self.score, "record": self.track.record}


def excerpt(values: Sequence[int] | fp.Values) -> fp.Values:
    """What a query sends: the whole fingerprint when it fits ``MATCH_VALUES``, else the
    ``MATCH_VALUES`` values from its middle (intros and outros are where copies differ)."""
    arr = np.asarray(values, dtype=np.uint32)
    if len(arr) <= MATCH_VALUES:
        return arr
    start = (len(arr) - MATCH_VALUES) // 2
    return arr[start:start + MATCH_VALUES]


def ask_peer(peer: str, values: Sequence[int] | fp.Values, *, allow_private: bool, deadline: float) -> list[PeerMatch]:
    """``GET {peer}/osp/v0/match?fp=…`` with ``excerpt(values)``; the verified matches, as answered.

    ``offset`` is relative to the excerpt's first value, shifted back so that it is relative
    to the start of ``values`` (as a local match's)."""
    sent = excerpt(values)
    shift = (len(np.asarray(values)) - len(sent)) // 2 * fp.ITEM_SECONDS
    with PeerClient(peer, allow_private=allow_private, deadline=deadline) as client:
        data = client.get_bytes("/osp/v0/match?fp=" + fp.encode_param(sent), MAX_ANSWER, "application/json")
    answer = strict_loads(data, max_bytes=MAX_ANSWER, max_depth=32)
    matches = answer.get("matches") if isinstance(answer, dict) else None
    if not isinstance(matches, list) or len(matches) > MAX_MATCHES:
        raise IntegrityError(f"{peer}: a match answer is {{\"matches\": [at most {MAX_MATCHES}]}}", check="json")
    out = []
    for m in matches:
        if not isinstance(m, dict) or not isinstance(m.get("record"), dict) or not all(
                _number(m.get(k)) for k in ("offset", "overlap", "score")):
            raise IntegrityError(f"{peer}: a match is {{\"record\", \"offset\", \"overlap\", \"score\"}}", check="json")
        track = verify_track(m["record"])  # IntegrityError: a forged record
        out.append(PeerMatch(peer, track, round(float(m["offset"]) - shift, 2), float(m["overlap"]),
                             max(0.0, min(1.0, float(m["score"])))))
    return out


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
