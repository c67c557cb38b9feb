"""C2PA content credentials for audio: read and validate, and sign (the only module that
imports ``c2pa``, c2pa-python 0.38; C2PA specification 2.x, as c2pa-rs implements it).

Formats: WAV, MP3, FLAC and M4A (``SUPPORTED``).  Ogg and Opus cannot carry a manifest
("C2PA does not support Ogg"): reading gives ``unsupported``, signing raises ``CallerError``.

Reading (``read_credential``) looks for a manifest embedded in the file, else a sidecar
``<name>.c2pa`` next to it, and validates it with c2pa-rs: the claim signature, the hash of
the asset's bytes (``assertion.dataHash``/``bmffHash``: a changed audio byte or tag breaks
it), the certificate chain and — when trust anchors are given — whether the chain ends at
one of them.  Nothing is fetched: remote manifests and OCSP are off, and there is no time
stamp authority offline.  The result is a frozen ``Credential``:

==============  =============================================================================
state           meaning
==============  =============================================================================
``absent``      no manifest, embedded or sidecar
``valid``       the manifest validates; its signer is not on the trust list
``trusted``     the manifest validates and its signing chain ends at a trust anchor
``invalid``     a manifest is there but fails validation (``errors`` says why)
``unsupported`` the format cannot carry C2PA (Ogg, Opus …)
``error``       not checked: the file is not here or cannot be read (``message``)
==============  =============================================================================

Caps: ``MAX_ERRORS`` errors of at most ``MAX_TEXT`` characters each, ``MAX_INGREDIENTS``
ingredients, a sidecar of at most ``MAX_SIDECAR`` bytes, a ``provenance`` assertion of at
most ``MAX_ASSERTION`` JSON bytes (a peer's file cannot fill the library).

Signing (``sign_file``) writes a copy of an audio file with an embedded manifest: a
``c2pa.created`` action declaring the IPTC ``digitalSourceType`` (full URI) and the
generator as its ``softwareAgent``, plus the record's provenance as the custom assertion
``org.opensound.provenance``.  Algorithms: ES256/ES384/ES512 (EC P-256/384/521 keys) and
Ed25519, chosen from the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from osp.core.errors import CallerError

__all__ = [
    "ASSERTION", "Credential", "Ingredient", "Issue", "OGG_MESSAGE", "STATES", "SUPPORTED",
    "NOT_AUDIO", "read_credential", "sign_file", "sniff_mime", "source_type_term", "source_type_uri",
]

SUPPORTED = {  #: MIME type of the record's ``format`` → the MIME type c2pa-rs takes
    "audio/wav": "audio/wav", "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
    "audio/mpeg": "audio/mpeg", "audio/mp3": "audio/mpeg",
    "audio/flac": "audio/flac", "audio/x-flac": "audio/flac",
    "audio/mp4": "audio/mp4", "audio/m4a": "audio/mp4", "audio/x-m4a": "audio/mp4", "audio/aac": "audio/mp4",
}
OGG_MESSAGE = "C2PA does not support Ogg; no credential can be embedded or read"
NOT_AUDIO = "not a WAV, MP3, FLAC or M4A file"
STATES = ("absent", "valid", "trusted", "invalid", "unsupported", "error")
ASSERTION = "org.opensound.provenance"  #: label of the custom assertion holding the record's provenance
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
MAX_ERRORS = 16
MAX_TEXT = 300
MAX_INGREDIENTS = 32
MAX_SIDECAR = 4 * 1024 * 1024
MAX_ASSERTION = 8192
_TRUST_FAILURES = {"signingCredential.untrusted"}  #: a failure that only says "not on the trust list"


@dataclass(frozen=True)
class Issue:
    """One validation failure: ``code`` (a C2PA status code, e.g. ``assertion.dataHash.mismatch``)
    and ``text`` (c2pa-rs's explanation, at most ``MAX_TEXT`` characters)."""

    code: str
    text: str


@dataclass(frozen=True)
class Ingredient:
    """An ingredient the manifest names: ``title``, ``format`` (MIME), ``hash`` (its
    instance id or hash as the manifest gives it) and ``relationship`` (``parentOf``,
    ``componentOf``, ``inputTo``); each ``None`` when absent."""

    title: str | None
    format: str | None
    hash: str | None
    relationship: str | None


@dataclass(frozen=True)
class Credential:
    """What a file's C2PA manifest says and whether it validates (module doc for ``state``)."""

    state: str  #: one of ``STATES``
    message: str  #: one line for people
    signer: str | None = None  #: common name (CN) of the signing (end-entity) certificate
    #: the organization (O) named in the signing certificate: what c2pa-rs and Content Credentials
    #: tools call the credential's issuer (c2pa-python 0.38 does not expose the CA's own name)
    issuer: str | None = None
    claim_generator: str | None = None  #: the software that made the claim, "name version"
    digital_source_type: str | None = None  #: IPTC term of the ``c2pa.created`` action (short name)
    software_agent: str | None = None  #: the ``softwareAgent`` of that action (the generator)
    ingredients: tuple[Ingredient, ...] = ()
    errors: tuple[Issue, ...] = ()
    signed_at: str | None = None  #: the signing time (only with a time stamp authority; none offline)
    sidecar: bool = False  #: read from ``<name>.c2pa`` rather than embedded
    provenance: Mapping[str, Any] | None = field(default=None, hash=False)  #: the ``org.opensound.provenance`` assertion

    def to_json(self) -> dict[str, Any]:
        """The JSON shape (the control API's ``c2pa``): camelCase keys, lists for tuples."""
        return {
            "state": self.state, "message": self.message, "signer": self.signer, "issuer": self.issuer,
            "claimGenerator": self.claim_generator, "digitalSourceType": self.digital_source_type,
            "softwareAgent": self.software_agent,
            "ingredients": [{"title": i.title, "format": i.format, "hash": i.hash, "relationship": i.relationship}
                            for i in self.ingredients],
            "errors": [{"code": e.code, "text": e.text} for e in self.errors],
            "signedAt": self.signed_at, "sidecar": self.sidecar,
            "provenance": dict(self.provenance) if self.provenance is not None else None,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Credential:
        """The inverse of ``to_json`` (for rows this node stored); ``ValueError`` if malformed."""
        if obj.get("state") not in STATES:
            raise ValueError(f"unknown credential state {obj.get('state')!r}")
        return cls(
            state=str(obj["state"]), message=str(obj.get("message") or ""), signer=obj.get("signer"),
            issuer=obj.get("issuer"), claim_generator=obj.get("claimGenerator"),
            digital_source_type=obj.get("digitalSourceType"), software_agent=obj.get("softwareAgent"),
            ingredients=tuple(Ingredient(i.get("title"), i.get("format"), i.get("hash"), i.get("relationship"))
                              for i in obj.get("ingredients") or ()),
            errors=tuple(Issue(str(e.get("code")), str(e.get("text"))) for e in obj.get("errors") or ()),
            signed_at=obj.get("signedAt"), sidecar=bool(obj.get("sidecar")), provenance=obj.get("provenance"),
        )


def c2pa_mime(mime: str) -> str | None:
    """The MIME type c2pa-rs reads for the audio type ``mime``; ``None`` when C2PA cannot carry it."""
    return SUPPORTED.get(mime.split(";")[0].strip().lower())


def sniff_mime(head: bytes) -> str | None:
    """The audio type the first bytes ``head`` (12 or more) of a file announce: ``RIFF…WAVE``
    → ``audio/wav``, ``ID3`` or an MPEG audio frame sync (11 set bits, a layer) → ``audio/mpeg``,
    ``fLaC`` → ``audio/flac``, ``….ftyp`` (ISO BMFF) → ``audio/mp4``, ``OggS`` →
    ``audio/ogg``; ``None`` for anything else.  Pure."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                              and head[1] & 0x06):  # layer bits 00: ADTS AAC, not MPEG audio
        return "audio/mpeg"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head[:4] == b"OggS":
        return "audio/ogg"
    return None


def source_type_term(value: str | None) -> str | None:
    """The IPTC short term of a digital source type given as a full URI or a term."""
    if not value:
        return None
    return value.rsplit("/", 1)[-1] if value.startswith(("http://", "https://")) else value


def source_type_uri(term: str) -> str:
    """The full IPTC URI of a digital source type term (a URI is returned as it is)."""
    return term if term.startswith(("http://", "https://")) else IPTC + term


def _settings(trust_anchors: str | None) -> c2pa.Settings:
    """Reading settings: nothing fetched (no remote manifests, no OCSP); the trust anchors
    (PEM, possibly several certificates) when given."""
    config: dict[str, Any] = {"verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_anchors:
        config["trust"] = {"trust_anchors": trust_anchors}
    return c2pa.Settings.from_dict(config)


def read_credential(path: Path, mime: str, *, trust_anchors: str | None = None, sidecar: bool = True) -> Credential:
    """Read and validate the C2PA manifest of the audio file ``path`` of type ``mime``.

    ``trust_anchors``: PEM certificates of the signing CAs the user trusts (``None``: no
    trust list: a credential is at best ``valid``).  ``sidecar``: also look for
    ``<path without suffix>.c2pa`` when nothing is embedded.  Never raises for what the
    file holds (a broken manifest is ``invalid``; an unreadable file, or one whose first
    bytes are no WAV, MP3, FLAC or M4A (``sniff_mime``), ``error``; Ogg bytes ``unsupported``).
    """
    fmt = c2pa_mime(mime)
    if fmt is None:
        return Credential("unsupported", OGG_MESSAGE if "ogg" in mime or "opus" in mime
                          else f"C2PA does not support {mime}; no credential can be embedded or read")
    manifest: bytes | None = None
    side = path.with_suffix(".c2pa")
    try:
        with open(path, "rb") as f:
            sniffed = sniff_mime(f.read(12))  # the bytes decide, not the name or the stated type
            if sniffed is None:
                return Credential("error", f"not checked: {path.name} is {NOT_AUDIO}")
            fmt = c2pa_mime(sniffed)
            if fmt is None:
                return Credential("unsupported", OGG_MESSAGE)
            f.seek(0)
            found = _read(fmt, f, None, trust_anchors)
            if found is None and sidecar and side.is_file():
                if side.stat().st_size > MAX_SIDECAR:
                    return Credential("invalid", f"the sidecar {side.name} is over {MAX_SIDECAR} bytes",
                                      sidecar=True, errors=(Issue("osp.sidecarTooLarge", "sidecar too large"),))
                manifest = side.read_bytes()
                f.seek(0)
                found = _read(fmt, f, manifest, trust_anchors)
    except OSError as exc:
        return Credential("error", f"cannot read {path.name}: {exc.strerror or exc}")
    except c2pa.C2paError as exc:  # a manifest is there but cannot be parsed: it fails validation
        text = _clip(str(exc))
        return Credential("invalid", f"the C2PA manifest cannot be read: {text}", sidecar=manifest is not None,
                          errors=(Issue(type(exc).__name__.lstrip("_").removeprefix("C2pa") or "c2pa", text),))
    if found is None:
        return Credential("absent", "no C2PA manifest in the file" + (" or next to it" if sidecar else ""))
    return _credential(found, sidecar=manifest is not None)


def _read(fmt: str, stream: Any, manifest: bytes | None, trust_anchors: str | None) -> dict[str, Any] | None:
    context = c2pa.Context(_settings(trust_anchors))
    reader = c2pa.Reader.try_create(fmt, stream, manifest, context)
    if reader is None:
        return None
    with reader:
        data: dict[str, Any] = json.loads(reader.json())
        return data


def _clip(text: object, limit: int = MAX_TEXT) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _opt(value: object) -> str | None:
    return _clip(value, 200) if isinstance(value, str | int | float) and str(value) else None


def _credential(store: dict[str, Any], *, sidecar: bool) -> Credential:
    """A ``Credential`` from c2pa-rs's manifest-store JSON (``Reader.json()``)."""
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "") or {}
    failures = ((store.get("validation_results") or {}).get("activeManifest") or {}).get("failure") or []
    legacy = store.get("validation_status") or []  # older c2pa-rs shape
    errors = tuple(dict.fromkeys(  # unique, in order (c2pa-rs may report one failure twice)
        Issue(_clip(f.get("code"), 100), _clip(f.get("explanation") or ""))
        for f in [*failures, *legacy][:256] if isinstance(f, dict) and f.get("code") not in _TRUST_FAILURES))
    state = {"Trusted": "trusted", "Valid": "valid"}.get(str(store.get("validation_state")), "invalid")
    if errors and state != "invalid":
        state = "invalid"
    sig = active.get("signature_info") or {}
    created = _created_action(active.get("assertions") or [])
    agent = created.get("softwareAgent")
    agent_name = agent.get("name") if isinstance(agent, dict) else agent
    gen = (active.get("claim_generator_info") or [{}])[0] if active.get("claim_generator_info") else {}
    claim_generator = " ".join(str(gen.get(k)) for k in ("name", "version") if gen.get(k)) or active.get(
        "claim_generator")
    ingredients = tuple(
        Ingredient(_opt(i.get("title")), _opt(i.get("format")), _opt(i.get("instance_id") or i.get("document_id")
                                                                     or (i.get("c2pa_manifest") or {}).get("hash")),
                   _opt(i.get("relationship")))
        for i in (active.get("ingredients") or [])[:MAX_INGREDIENTS] if isinstance(i, dict))
    who = _opt(sig.get("common_name")) or "an unnamed signer"
    message = {
        "trusted": f"valid C2PA credential signed by {who}, whose CA is on your trust list",
        "valid": f"valid C2PA credential signed by {who} (not on your trust list)",
        "invalid": "INVALID C2PA credential: " + "; ".join(e.code for e in errors[:4]) if errors
        else "INVALID C2PA credential",
    }[state]
    return Credential(
        state=state, message=message, signer=_opt(sig.get("common_name")), issuer=_opt(sig.get("issuer")),
        claim_generator=_opt(claim_generator), digital_source_type=source_type_term(_opt(created.get("digitalSourceType"))),
        software_agent=_opt(agent_name), ingredients=ingredients, errors=errors[:MAX_ERRORS],
        signed_at=_opt(sig.get("time")), sidecar=sidecar, provenance=_provenance(active.get("assertions") or []),
    )


def _created_action(assertions: list[Any]) -> dict[str, Any]:
    """The first ``c2pa.created`` (else ``c2pa.opened``, else first) action of the ``c2pa.actions`` assertion."""
    actions: list[dict[str, Any]] = []
    for a in assertions:
        if isinstance(a, dict) and str(a.get("label", "")).startswith("c2pa.actions"):
            actions += [x for x in (a.get("data") or {}).get("actions") or [] if isinstance(x, dict)]
    for name in ("c2pa.created", "c2pa.opened"):
        for action in actions:
            if action.get("action") == name:
                return action
    return actions[0] if actions else {}


def _provenance(assertions: list[Any]) -> dict[str, Any] | None:
    for a in assertions:
        if isinstance(a, dict) and a.get("label") == ASSERTION and isinstance(a.get("data"), dict):
            data: dict[str, Any] = a["data"]
            return data if len(json.dumps(data)) <= MAX_ASSERTION else None
    return None


# --- signing -----------------------------------------------------------------------------


def signing_alg(key_pem: bytes) -> c2pa.C2paSigningAlg:
    """The C2PA algorithm for a PEM private key; ``CallerError`` for a key C2PA cannot use."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CallerError(f"the C2PA signing key is not an unencrypted PEM private key: {exc}") from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return c2pa.C2paSigningAlg.ED25519
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": c2pa.C2paSigningAlg.ES256, "secp384r1": c2pa.C2paSigningAlg.ES384,
                "secp521r1": c2pa.C2paSigningAlg.ES512}
        if key.curve.name in algs:
            return algs[key.curve.name]
    raise CallerError("the C2PA signing key must be Ed25519 or EC P-256/P-384/P-521")


def manifest_for(title: str, provenance: Mapping[str, Any], generator: tuple[str, str]) -> dict[str, Any]:
    """The manifest definition ``sign_file`` signs (pure): the claim generator ``generator``
    (name, version), a ``c2pa.created`` action with the source type and software agent,
    and the provenance as ``org.opensound.provenance``.

    The source type: the provenance's ``digitalSourceType``, else ``trainedAlgorithmicMedia``
    when ``aiGenerated`` is true, ``digitalCreation`` when it is false, and C2PA's "empty"
    type when the artist declared nothing."""
    term = provenance.get("digitalSourceType")
    if not isinstance(term, str) or not term:
        ai = provenance.get("aiGenerated")
        term = "trainedAlgorithmicMedia" if ai is True else "digitalCreation" if ai is False else None
    action: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": source_type_uri(term) if term else "http://c2pa.org/digitalsourcetype/empty",
    }
    gen = provenance.get("generator")
    if isinstance(gen, str) and gen:
        action["softwareAgent"] = {"name": gen}
    elif isinstance(gen, dict) and isinstance(gen.get("name"), str):
        action["softwareAgent"] = {k: str(gen[k]) for k in ("name", "version") if gen.get(k)}
    assertions: list[dict[str, Any]] = [{"label": "c2pa.actions", "data": {"actions": [action]}}]
    if provenance:
        assertions.append({"label": ASSERTION, "data": dict(provenance)})
    return {"claim_generator_info": [{"name": generator[0], "version": generator[1]}], "title": title,
            "assertions": assertions}


def sign_file(src: Path, dst: Path, mime: str, *, chain_pem: bytes, key_pem: bytes, title: str,
              provenance: Mapping[str, Any], generator: tuple[str, str] = ("osp-node", "0.1")) -> None:
    """Write ``dst``: ``src`` (an audio file of type ``mime``) with an embedded manifest
    (``manifest_for``) signed by the key ``key_pem`` and the chain ``chain_pem`` (PEM: the
    end-entity certificate first, then its CA; C2PA needs the EKU emailProtection or
    documentSigning).  ``src`` is only read.

    Raises ``CallerError``: a format C2PA cannot carry (Ogg: ``OGG_MESSAGE``), a bad key or
    chain, or c2pa refusing to sign.
    """
    fmt = c2pa_mime(mime)
    if fmt is None:
        raise CallerError((OGG_MESSAGE if "ogg" in mime or "opus" in mime
                           else f"C2PA does not support {mime}; no credential can be embedded")
                          + ": publish it without --c2pa-sign, or as WAV, MP3, FLAC or M4A")
    alg = signing_alg(key_pem)
    manifest = manifest_for(title, provenance, generator)
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg, chain_pem, key_pem, None))
        context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
        with c2pa.Builder(manifest, context) as builder, open(src, "rb") as s, open(dst, "w+b") as d:
            builder.sign(signer, fmt, s, d)
    except c2pa.C2paError as exc:
        raise CallerError(f"C2PA signing failed: {_clip(exc)}") from exc
