"""Records: the Track Record and social record models, JCS, Data Integrity proofs and id derivation."""

from osp.records.canonical import jcs, strict_loads
from osp.records.social import (
    FLAG_REASONS,
    KINDS,
    VerifiedSocial,
    build_social,
    is_social_id,
    sign_social,
    verify_social,
)
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
    "FLAG_REASONS",
    "KINDS",
    "VerifiedSocial",
    "build_social",
    "is_social_id",
    "sign_social",
    "verify_social",
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
