"""What "verified AI-generated" means on this node: levels of evidence, never a guess
(docs/provenance.md).  Pure functions over a track's record and its stored C2PA result.

No offline detector tells AI audio from human audio reliably, so the node never says
"this is AI" or "this is human" on its own.  It reports four levels, each with what it
proves and what it does not:

1. ``declaration``: the artist's signed declaration — the record's ``provenance``, signed
   by the artist's did:key (every stored record verified).  Proves who says it; not that
   it is true.
2. ``credential``: a C2PA credential in the file that validates.  Proves which certificate
   signed these exact bytes and what that signer declared; not how the audio was made.
3. ``trustList``: the credential's signer chains to a CA on the listener's trust list.
   Proves the signer is someone the listener chose to trust; still not how it was made.
4. ``webOfTrust``: the artist's standing in the listener's web of trust (spec §10; computed
   by ``osp.social.trust`` on the node, passed in here): people the listener follows or
   endorses, and those they vouch for, vouch for this artist, and nobody trusted flagged the
   artist or the track.  Proves that people the listener trusts stand behind the artist;
   still not how the audio was made.

``compare`` lists where the record and the credential disagree (source type, AI flag,
generator); a mismatch is shown next to the levels, never silently resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["AI_TERMS", "HUMAN_TERMS", "compare", "credential_levels"]

#: IPTC digital source types that say a machine (a trained model or an algorithm) made the content
AI_TERMS = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia",
                      "compositeSynthetic", "algorithmicallyEnhanced"})
#: IPTC digital source types that say people made or captured it
HUMAN_TERMS = frozenset({"digitalCapture", "digitalCreation", "humanEdits", "minorHumanEdits", "compositeCapture",
                         "negativeFilm", "positiveFilm", "print", "virtualRecording", "digitalArt"})

PROVES = {
    "declaration": ("the artist (this did:key) signed this provenance statement about the track",
                    "that the statement is true: an artist can declare anything"),
    "credential": ("which certificate signed these exact bytes, and what that signer declared about them",
                   "how the audio was made: a valid credential proves who signed, not what happened before"),
    "trustList": ("the signer chains to a certificate authority you chose to trust",
                  "how the audio was made, or that the signer tells the truth"),
    "webOfTrust": ("people you follow or endorse, and those they vouch for, stand behind this artist, and nobody "
                   "you trust flagged the artist or this track",
                   "how the audio was made: trust is in the artist, not in any one claim of theirs"),
}


def _generator_name(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        return str(value["name"]) or None
    return None


def _term(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.rsplit("/", 1)[-1]


def compare(provenance: Mapping[str, Any] | None, credential: Mapping[str, Any] | None) -> list[str]:
    """Where the record's ``provenance`` and a C2PA result (``Credential.to_json()`` shape)
    disagree, one sentence each; ``[]`` when they agree or either says nothing.  Only
    ``valid``/``trusted``/``invalid`` results carry a declaration to compare."""
    if not credential or credential.get("state") not in ("valid", "trusted", "invalid"):
        return []
    prov = provenance or {}
    found: list[str] = []
    c_term = _term(credential.get("digitalSourceType"))
    r_term = _term(prov.get("digitalSourceType"))
    ai = prov.get("aiGenerated")
    if r_term and c_term and r_term != c_term:
        found.append(f"the record says {r_term}; the credential says {c_term}")
    if c_term in AI_TERMS and (ai is False or r_term in HUMAN_TERMS):
        found.append(f"the record says human-made; the credential says {c_term}")
    elif c_term in HUMAN_TERMS and (ai is True or r_term in AI_TERMS):
        found.append(f"the record says AI-generated; the credential says {c_term}")
    r_gen, c_gen = _generator_name(prov.get("generator")), credential.get("softwareAgent")
    if r_gen and isinstance(c_gen, str) and c_gen and r_gen.strip().casefold() != c_gen.strip().casefold():
        found.append(f"the record names the generator {r_gen!r}; the credential names {c_gen!r}")
    return found


def _web_of_trust(standing: Mapping[str, Any] | None) -> tuple[str, bool, str]:
    """Level 4's ``(status, met, says)`` from the artist's ``standing`` (see
    ``credential_levels``)."""
    if standing is None:
        return "unknown", False, "trust is computed by a running node (osp node); not known here"
    if standing.get("self"):
        return "you", True, "this is your own track"
    hidden = standing.get("hidden")
    if isinstance(hidden, Mapping):
        return "hidden", False, f"hidden by your quality gate: {hidden.get('why')}"
    relative = standing.get("relative")
    if not isinstance(relative, (int, float)) or relative <= 0:
        return "outside", False, "outside your web of trust: nobody you trust follows or endorses this artist"
    return "trusted", True, f"trusted: {relative:.2g}× a typical identity you trust"


def credential_levels(record: Mapping[str, Any], credential: Mapping[str, Any] | None,
                      standing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The control API's ``credentials`` object for a verified ``record``, its stored
    C2PA result (``None``: not checked yet) and its artist's ``standing`` in the listener's
    web of trust (``{"self": bool, "relative": float, "hidden": {"why", "by"}|None}``, as
    ``osp.node.trust.artist_standing`` gives it; ``None``: not computed here).

    Shape: ``{"levels": [{"level", "name", "status", "met", "says", "proves", "doesNotProve"}…],
    "mismatches": [str…], "aiGenerated": {"declared": bool|None, "credential": bool|None},
    "summary": str}``.  ``status`` per level: declaration ``signed``/``none``; credential
    ``valid``/``invalid``/``absent``/``unsupported``/``unchecked``/``error``; trustList
    ``trusted``/``untrusted``/``n/a``; webOfTrust ``trusted``/``you``/``outside``/``hidden``/``unknown``.
    """
    prov = record.get("provenance") if isinstance(record.get("provenance"), Mapping) else None
    declared_ai = prov.get("aiGenerated") if prov and isinstance(prov.get("aiGenerated"), bool) else None
    d_term = _term(prov.get("digitalSourceType")) if prov else None
    if declared_ai is None and d_term:
        declared_ai = True if d_term in AI_TERMS else False if d_term in HUMAN_TERMS else None
    state = str(credential.get("state")) if credential else "unchecked"
    c_term = _term(credential.get("digitalSourceType")) if credential else None
    c_ai = None if state not in ("valid", "trusted") or not c_term else (
        True if c_term in AI_TERMS else False if c_term in HUMAN_TERMS else None)

    says_decl = "nothing declared" if not prov else (
        ("AI-generated" if declared_ai else "human-made" if declared_ai is False else "no AI flag")
        + (f" ({d_term})" if d_term else "")
        + (f", generator {_generator_name(prov.get('generator'))}" if _generator_name(prov.get("generator")) else ""))
    cred_status = {"trusted": "valid"}.get(state, state)
    signer = credential.get("signer") if credential else None
    says_cred = (str(credential.get("message")) if credential else "not checked yet") + (
        f"; declares {c_term}" if c_term and state in ("valid", "trusted", "invalid") else "")
    trust_status = "trusted" if state == "trusted" else "untrusted" if state == "valid" else "n/a"

    def level(n: int, name: str, status: str, met: bool, says: str) -> dict[str, Any]:
        proves, not_proves = PROVES[name]
        return {"level": n, "name": name, "status": status, "met": met, "says": says, "proves": proves,
                "doesNotProve": not_proves}

    levels = [
        level(1, "declaration", "signed" if prov else "none", bool(prov), says_decl),
        level(2, "credential", cred_status, state in ("valid", "trusted"), says_cred),
        level(3, "trustList", trust_status, state == "trusted",
              f"{signer} is on your trust list" if state == "trusted"
              else f"{signer or 'the signer'} is not on your trust list" if state == "valid" else "no valid credential"),
        level(4, "webOfTrust", *_web_of_trust(standing)),
    ]
    mismatches = compare(prov, credential)
    if state == "invalid":
        summary = "the file's C2PA credential is INVALID: the bytes or the manifest changed after signing"
    elif mismatches:
        summary = "the record and the C2PA credential disagree: " + "; ".join(mismatches)
    elif state == "trusted":
        summary = f"declared by the artist and signed by {signer}, a signer you trust"
    elif state == "valid":
        summary = f"declared by the artist; a valid credential signed by {signer}, not on your trust list"
    elif prov:
        summary = "declared by the artist only (signed record); no credential backs it"
    else:
        summary = "nothing declared: the node cannot tell whether this is AI-generated"
    return {"levels": levels, "mismatches": mismatches, "aiGenerated": {"declared": declared_ai, "credential": c_ai},
            "summary": summary}
