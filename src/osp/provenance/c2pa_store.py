"""The node's C2PA configuration on disk: the artist's signing chain and key, and the trust
list of signing CAs (``<data-dir>/c2pa/``; ``osp c2pa signer``, ``osp c2pa trust``).

Layout (every file mode 0600, the directories 0700)::

    c2pa/signer-chain.pem   the end-entity certificate, then its CA(s) (PEM)
    c2pa/signer-key.pem     the end-entity's private key (unencrypted PKCS#8 PEM)
    c2pa/trust/<fp>.pem     one trust anchor each; <fp> = first 16 hex digits of its SHA-256

Nothing is downloaded: the official C2PA trust list is a PEM bundle the user gives to
``trust_add`` (each certificate becomes one anchor).  Caps: ``MAX_PEM`` bytes per file
given, ``MAX_ANCHORS`` anchors.  Errors are ``CallerError`` with the reason.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from osp.core.errors import CallerError, NotFoundError

MAX_PEM = 1024 * 1024
MAX_ANCHORS = 1000
_EKUS = {ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12"),  # documentSigning (MS)
         x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")}  # id-kp-documentSigning (RFC 9336)


@dataclass(frozen=True)
class Anchor:
    """A trust anchor: ``fingerprint`` (16 hex digits of the certificate's SHA-256), its
    ``subject`` (RFC 4514 string) and ``expires`` (ISO 8601)."""

    fingerprint: str
    subject: str
    expires: str

    def to_json(self) -> dict[str, str]:
        return {"fingerprint": self.fingerprint, "subject": self.subject, "expires": self.expires}


@dataclass(frozen=True)
class SignerInfo:
    """The configured signer: subject CN/O of the end-entity certificate, its issuer, expiry."""

    subject: str
    issuer: str
    expires: str
    chain: Path
    key: Path

    def to_json(self) -> dict[str, str]:
        return {"subject": self.subject, "issuer": self.issuer, "expires": self.expires, "chain": str(self.chain),
                "key": str(self.key)}


def _read_pem(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > MAX_PEM:
            raise CallerError(f"{what} {path} is over {MAX_PEM} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise CallerError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def load_certs(data: bytes, what: str) -> list[x509.Certificate]:
    """Every PEM certificate in ``data``; ``CallerError`` if there is none or one is malformed."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CallerError(f"{what} is not a PEM certificate file: {exc}") from exc
    if not certs:
        raise CallerError(f"{what} holds no certificate")
    return certs


def _name(cert: x509.Certificate, attr: x509.ObjectIdentifier = NameOID.COMMON_NAME) -> str:
    values = cert.subject.get_attributes_for_oid(attr)
    return str(values[0].value) if values else cert.subject.rfc4514_string()


def _end_entity(cert: x509.Certificate) -> bool:
    """Whether ``cert`` says it is no CA (a basicConstraints extension with CA false)."""
    try:
        return not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()[:16]


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class C2paStore:
    """The ``<data-dir>/c2pa`` directory (module doc)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.chain_path = root / "signer-chain.pem"
        self.key_path = root / "signer-key.pem"
        self.trust_dir = root / "trust"

    # -- signer ---------------------------------------------------------------------

    def set_signer(self, chain: Path, key: Path) -> SignerInfo:
        """Copy the chain and key in (0600) after checking them: PEM, at least two
        certificates (end-entity first, then its CA), the key matches the end-entity, the
        end-entity is not a CA and has the EKU emailProtection or documentSigning."""
        chain_pem, key_pem = _read_pem(chain, "certificate chain"), _read_pem(key, "key")
        certs = load_certs(chain_pem, f"certificate chain {chain}")
        if len(certs) < 2:
            raise CallerError("C2PA needs a certificate chain: the signing certificate, then the CA that issued it")
        try:
            private = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise CallerError(f"{key} is not an unencrypted PEM private key: {exc}") from exc
        pub = serialization.PublicFormat.SubjectPublicKeyInfo
        if private.public_key().public_bytes(serialization.Encoding.DER, pub) != \
                certs[0].public_key().public_bytes(serialization.Encoding.DER, pub):
            raise CallerError(f"{key} is not the key of the first certificate in {chain}")
        try:
            eku = set(certs[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        except x509.ExtensionNotFound:
            eku = set()
        if not eku & _EKUS:
            raise CallerError("the signing certificate needs the extended key usage emailProtection or documentSigning")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(self.chain_path, chain_pem)
        _write_private(self.key_path, key_pem)
        return self.signer_info()  # type: ignore[return-value]

    def signer_info(self) -> SignerInfo | None:
        """The configured signer, or ``None`` when none is."""
        if not (self.chain_path.is_file() and self.key_path.is_file()):
            return None
        cert = load_certs(_read_pem(self.chain_path, "certificate chain"), "the stored chain")[0]
        org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        subject = _name(cert) + (f" ({org[0].value!s})" if org else "")
        return SignerInfo(subject, cert.issuer.rfc4514_string(), cert.not_valid_after_utc.isoformat(),
                          self.chain_path, self.key_path)

    def signer(self) -> tuple[bytes, bytes]:
        """The chain and key PEM bytes; ``CallerError`` when no signer is configured."""
        if self.signer_info() is None:
            raise CallerError("no C2PA signer configured: run `osp c2pa signer --cert CHAIN.pem --key KEY.pem`")
        return self.chain_path.read_bytes(), self.key_path.read_bytes()

    # -- trust list ----------------------------------------------------------------------

    def trust_add(self, pem: Path) -> list[Anchor]:
        """Add every CA certificate of the PEM file ``pem`` (a CA, or a bundle such as the
        official C2PA trust list) as an anchor; returns those added (already present ones too).
        An end-entity certificate (basicConstraints CA false: a signer's own, as in a chain
        file) anchors nothing and is left out; ``CallerError`` when no CA certificate is left."""
        certs = [c for c in load_certs(_read_pem(pem, "trust anchor file"), str(pem)) if not _end_entity(c)]
        if not certs:
            raise CallerError(f"{pem} holds no CA certificate, only a signer's own (basicConstraints CA false): "
                              "add the CA that issued it")
        if len(self.anchors()) + len(certs) > MAX_ANCHORS:
            raise CallerError(f"the trust list holds at most {MAX_ANCHORS} anchors")
        self.trust_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        added = []
        for cert in certs:
            fp = _fingerprint(cert)
            _write_private(self.trust_dir / f"{fp}.pem", cert.public_bytes(serialization.Encoding.PEM))
            added.append(Anchor(fp, cert.subject.rfc4514_string(), cert.not_valid_after_utc.isoformat()))
        return added

    def anchors(self) -> list[Anchor]:
        """The trust list, by fingerprint (an unreadable file is skipped)."""
        result = []
        for path in sorted(self.trust_dir.glob("*.pem")) if self.trust_dir.is_dir() else []:
            try:
                cert = x509.load_pem_x509_certificate(path.read_bytes())
            except (OSError, ValueError):
                continue
            result.append(Anchor(path.stem, cert.subject.rfc4514_string(), cert.not_valid_after_utc.isoformat()))
        return result

    def trust_rm(self, fingerprint: str) -> Anchor:
        """Remove the anchor whose fingerprint starts with ``fingerprint`` (4+ hex digits);
        ``NotFoundError`` if none, ``CallerError`` if several match."""
        prefix = fingerprint.strip().lower()
        if len(prefix) < 4 or any(ch not in "0123456789abcdef" for ch in prefix):
            raise CallerError("give at least 4 hex digits of the anchor's fingerprint (`osp c2pa trust ls`)")
        found = [a for a in self.anchors() if a.fingerprint.startswith(prefix)]
        if not found:
            raise NotFoundError(f"no trust anchor {prefix}")
        if len(found) > 1:
            raise CallerError(f"{prefix} matches {len(found)} anchors: give more digits")
        (self.trust_dir / f"{found[0].fingerprint}.pem").unlink()
        return found[0]

    def anchors_pem(self) -> str | None:
        """Every anchor as one PEM string (what c2pa's ``trust.trust_anchors`` takes); ``None``
        when the list is empty."""
        parts = []
        for a in self.anchors():
            try:
                parts.append((self.trust_dir / f"{a.fingerprint}.pem").read_text("ascii"))
            except (OSError, UnicodeDecodeError):
                continue
        return "".join(parts) or None

    def trust_hash(self) -> str:
        """A digest of the trust list ('' when empty): stored results checked against another list are rechecked."""
        fps = ",".join(a.fingerprint for a in self.anchors())
        return hashlib.sha256(fps.encode()).hexdigest()[:16] if fps else ""
