"""The did:key method for Ed25519 keys.

Source: W3C CCG "The did:key Method v0.7" §3 (format) and §3.1.2 (document creation).
A did:key is ``did:key:`` + multibase base58btc (``z``) of the multicodec
``ed25519-pub`` prefix ``0xed 0x01`` followed by the 32-byte public key, so every
Ed25519 did:key starts with ``did:key:z6Mk``.

Decoding (and encoding) accept only keys that can sign: a canonical encoding (``y < p``)
of a point on edwards25519 that is not of small order (RFC 8032 §5.1.3; the identity and
the points of order 2, 4 and 8 would let anyone forge the key's signatures, design.md §8).
"""

from __future__ import annotations

import base58

from osp.identity._edwards import check_public_key

ED25519_PUB_PREFIX = b"\xed\x01"
DID_KEY_PREFIX = "did:key:"


class DidKeyError(ValueError):
    """A string is not a well-formed Ed25519 did:key."""


def check_ed25519_public_key(public_key: bytes) -> None:
    """``DidKeyError`` unless ``public_key`` is 32 bytes encoding, canonically, an
    edwards25519 point that is not of small order (RFC 8032 §5.1.3)."""
    if len(public_key) != 32:
        raise DidKeyError("an Ed25519 public key is 32 bytes")
    try:
        check_public_key(public_key)
    except ValueError as exc:
        raise DidKeyError(f"unusable Ed25519 public key: {exc}") from None


def multibase_from_public_key(public_key: bytes) -> str:
    """``z6Mk…``: multibase base58btc of ``0xed01 || public_key`` (32 bytes);
    ``DidKeyError`` if the key is not a usable Ed25519 key (``check_ed25519_public_key``)."""
    check_ed25519_public_key(public_key)
    return "z" + base58.b58encode(ED25519_PUB_PREFIX + public_key).decode("ascii")


def public_key_from_multibase(value: str) -> bytes:
    """Inverse of ``multibase_from_public_key``; ``DidKeyError`` if malformed, or if the
    key is small-order, non-canonical or not on the curve."""
    if not value.startswith("z"):
        raise DidKeyError(f"not a base58btc multibase value: {value[:16]!r}")
    try:
        raw = base58.b58decode(value[1:])
    except ValueError as exc:
        raise DidKeyError(f"bad base58btc in {value[:16]!r}") from exc
    if len(raw) != 34 or raw[:2] != ED25519_PUB_PREFIX:
        raise DidKeyError("not an Ed25519 multikey (multicodec 0xed01, 32-byte key)")
    check_ed25519_public_key(raw[2:])
    return raw[2:]


def did_from_public_key(public_key: bytes) -> str:
    """``did:key:z6Mk…`` for a 32-byte Ed25519 public key."""
    return DID_KEY_PREFIX + multibase_from_public_key(public_key)


def public_key_from_did(did: str) -> bytes:
    """The 32-byte Ed25519 key inside ``did`` (fragment ignored); ``DidKeyError`` if not one
    or if the key is small-order, non-canonical or not on the curve."""
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise DidKeyError(f"not a did:key: {str(did)[:40]!r}")
    return public_key_from_multibase(did[len(DID_KEY_PREFIX):].split("#", 1)[0])


def public_key_from_bare_did(did: str) -> bytes:
    """Like ``public_key_from_did`` for a did:key that names an identity (an artist, a feed's
    author): a ``#fragment`` is refused too (``DidKeyError``)."""
    if isinstance(did, str) and "#" in did:
        raise DidKeyError("a did:key without a #fragment")
    return public_key_from_did(did)


def verification_method_id(did: str) -> str:
    """``did:key:z6Mk…#z6Mk…``: the key's verification method (did:key §3.1.2)."""
    public_key_from_did(did)
    return f"{did}#{did[len(DID_KEY_PREFIX):]}"


def did_document(did: str) -> dict[str, object]:
    """The DID document of an Ed25519 did:key (Multikey representation).

    Source: did:key v0.7 §3.1.2 with ``publicKeyFormat = Multikey``.
    """
    public_key_from_did(did)
    vm = verification_method_id(did)
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": did[len(DID_KEY_PREFIX):],
            }
        ],
        "authentication": [vm],
        "assertionMethod": [vm],
        "capabilityDelegation": [vm],
        "capabilityInvocation": [vm],
    }
