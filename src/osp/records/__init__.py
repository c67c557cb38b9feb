"""Records: the Track Record model, JCS, Data Integrity proofs and id derivation."""

from osp.records.canonical import jcs, strict_loads
from osp.records.track import (
    CONTEXT_URL,
    VerifiedTrack,
    build_track,
    context_document,
    derive_id,
    sign_track,
    track_schema,
    verify_track,
)

__all__ = [
    "CONTEXT_URL",
    "VerifiedTrack",
    "build_track",
    "context_document",
    "derive_id",
    "jcs",
    "sign_track",
    "strict_loads",
    "track_schema",
    "verify_track",
]
