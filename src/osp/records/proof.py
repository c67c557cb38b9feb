"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite.

Source: W3C "Data Integrity EdDSA Cryptosuites v1.0" §3.3 (eddsa-jcs-2022):

* proof configuration = the proof's options (``type``, ``cryptosuite``, ``created``,
  ``verificationMethod``, ``proofPurpose``) plus the document's ``@context``;
* hashData = SHA-256(JCS(proof configuration)) || SHA-256(JCS(document without proof));
* ``proofValue`` = multibase base58btc (``z…``) of the Ed25519 signature of hashData.

A verifier (§3.3.2 and Data Integrity §4.3) checks the type and cryptosuite, that the
proof's ``@context`` is a prefix of the document's, that the verification method is the
``expected_did``'s did:key method, and the signature.
"""

from __future__ import annotations

import hashlib
from typing import Any

import base58

from osp.core.errors import IntegrityError
from osp.identity.didkey import DidKeyError, public_key_from_did, verification_method_id
from osp.identity.keys import SigningKey, verify_signature
from osp.records.canonical import jcs

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"


def hash_data(document: dict[str, Any], proof_config: dict[str, Any]) -> bytes:
    """The 64 bytes signed: SHA-256(JCS(proof_config)) || SHA-256(JCS(document))."""
    return hashlib.sha256(jcs(proof_config)).digest() + hashlib.sha256(jcs(document)).digest()


def sign(document: dict[str, Any], key: SigningKey, created: str, purpose: str = "assertionMethod") -> dict[str, Any]:
    """Return ``document`` with a ``proof`` by ``key`` (``created``: XML Schema dateTime, UTC)."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method_id(key.did),
        "proofPurpose": purpose,
    }
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    signature = key.sign(hash_data(unsecured, config))
    return {**unsecured, "proof": {**config, "proofValue": "z" + base58.b58encode(signature).decode("ascii")}}


def verify(document: dict[str, Any], expected_did: str, purpose: str = "assertionMethod") -> None:
    """Check ``document``'s proof; ``IntegrityError`` naming the failed check otherwise."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise IntegrityError("the record has no Data Integrity proof", check="proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise IntegrityError(
            f"unsupported proof {proof.get('type')!r}/{proof.get('cryptosuite')!r}; "
            f"expected {PROOF_TYPE}/{CRYPTOSUITE}",
            check="proof-type",
        )
    if proof.get("proofPurpose") != purpose:
        raise IntegrityError(f"proof purpose must be {purpose!r}", check="proof-purpose")
    try:
        expected_vm = verification_method_id(expected_did)
        public_key = public_key_from_did(expected_did)
    except DidKeyError as exc:
        raise IntegrityError(f"the signer is not an Ed25519 did:key: {exc}", check="verification-method") from exc
    if proof.get("verificationMethod") != expected_vm:
        raise IntegrityError(
            f"signed by {str(proof.get('verificationMethod'))[:80]!r}, not by the record's own key {expected_vm}",
            check="verification-method",
        )
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in config:
        doc_ctx = unsecured.get("@context")
        pctx, dctx = config["@context"], doc_ctx
        pl = pctx if isinstance(pctx, list) else [pctx]
        dl = dctx if isinstance(dctx, list) else [dctx]
        if dl[: len(pl)] != pl:
            raise IntegrityError("the proof's @context is not a prefix of the record's", check="proof-context")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise IntegrityError("proofValue must be multibase base58btc ('z…')", check="proof")
    try:
        signature = base58.b58decode(value[1:])
    except ValueError as exc:
        raise IntegrityError("proofValue is not valid base58btc", check="proof") from exc
    if len(signature) != 64 or not verify_signature(public_key, signature, hash_data(unsecured, config)):
        raise IntegrityError("the signature does not match the record (forged or altered)", check="proof")
