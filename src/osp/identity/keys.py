"""Ed25519 signing keys (RFC 8032) on top of ``cryptography``."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from osp.identity._edwards import check_public_key, check_signature
from osp.identity.didkey import did_from_public_key


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key and its did:key.

    ``seed`` is the 32-byte RFC 8032 private key; ``public_key`` the 32-byte public key.
    """

    _key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Key from a 32-byte seed; ``ValueError`` on another length."""
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return self._key

    @property
    def seed(self) -> bytes:
        from cryptography.hazmat.primitives import serialization as s

        return self._key.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())

    @property
    def public_key(self) -> bytes:
        from cryptography.hazmat.primitives import serialization as s

        return self._key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)

    @property
    def did(self) -> str:
        """``did:key:z6Mk…`` of this key."""
        return did_from_public_key(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """64-byte Ed25519 signature of ``message`` (RFC 8032 §5.1.6)."""
        return self._key.sign(message)


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True iff ``signature`` (64 bytes) is a valid Ed25519 signature of ``message`` by
    ``public_key`` (32 bytes), RFC 8032 §5.1.7, strictly.

    False, before OpenSSL is asked, for a public key or ``R`` that is non-canonical
    (``y >= p``), off the curve or of small order, and for ``S >= L``: OpenSSL accepts
    small-order keys, for which an identity-point signature verifies any message.
    Never raises.
    """
    try:
        check_public_key(public_key)
        check_signature(signature)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
