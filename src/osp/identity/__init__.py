"""Identity: Ed25519 keys, the did:key codec and the on-disk keystore."""

from osp.identity.didkey import (
    did_document,
    did_from_public_key,
    public_key_from_did,
    verification_method_id,
)
from osp.identity.keys import SigningKey, verify_signature
from osp.identity.keystore import Keystore

__all__ = [
    "Keystore",
    "SigningKey",
    "did_document",
    "did_from_public_key",
    "public_key_from_did",
    "verification_method_id",
    "verify_signature",
]
