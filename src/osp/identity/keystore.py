"""The identity keystore: one Ed25519 key in ``<data_dir>/identity/key.pem``.

The key is a PKCS#8 PEM file with mode 0600, encrypted with the passphrase when one is
given (``cryptography``'s best available PKCS#8 encryption).  Next to it, ``did`` holds
the public did:key (one line, mode 0600) so that the public identity can be shown without
the passphrase.  Writes go to a temporary file that is fsynced and renamed, so a crash
leaves either no file or a whole one; an existing key is never overwritten.

Errors (all ``KeystoreError``), by who can fix them:

* missing key, encrypted key without a passphrase, wrong passphrase, key readable by
  others: caller errors (exit 2);
* a key file that is damaged (not PEM, not a private key, not Ed25519), not a regular
  file, or cannot be read: ``CorruptKeyError`` (local data, exit 3).  A damaged
  *encrypted* key cannot be told from a wrong passphrase (PKCS#8 encryption has no
  integrity check), so that case stays a caller error whose message says both.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from osp.core.errors import ConflictError, CorruptKeyError, KeystoreError
from osp.identity.didkey import DidKeyError, public_key_from_did
from osp.identity.keys import SigningKey

KEY_FILE = "key.pem"
DID_FILE = "did"


class Keystore:
    """The key file under ``directory`` (``Settings.identity_dir``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / KEY_FILE
        self.did_path = directory / DID_FILE

    def exists(self) -> bool:
        return self.path.exists()

    def create(self, passphrase: bytes | None = None, *, key: SigningKey | None = None) -> SigningKey:
        """Generate (or store ``key``) and write it and its ``did``; ``ConflictError`` if one exists."""
        if self.path.exists():
            raise ConflictError(f"an identity key already exists at {self.path}; refusing to overwrite it")
        key = key or SigningKey.generate()
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        pem = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        self.directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data directory, if new
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._write_tmp(self.path, pem)
        os.link(tmp, self.path)  # fails if a key appeared meanwhile: never overwrite
        os.unlink(tmp)
        self._write_did(key.did)
        return key

    def is_encrypted(self) -> bool:
        return b"ENCRYPTED" in self._read_bytes()

    def stored_did(self) -> str | None:
        """The public did:key from ``identity/did``, without the passphrase.

        The key file is checked first (``KeystoreError`` if missing, world-readable or not a
        regular file).  ``None`` when the ``did`` file is absent or not a valid did:key
        (keystores from before it existed): then ``load(passphrase).did`` is the answer.
        """
        self._check_key_file()
        try:
            did = self.did_path.read_text("ascii").strip()
            public_key_from_did(did)
        except (OSError, UnicodeDecodeError, DidKeyError):
            return None
        return did

    def load(self, passphrase: bytes | None = None) -> SigningKey:
        """Read the key; ``KeystoreError`` (or ``CorruptKeyError``) names what is wrong.

        Writes ``identity/did`` when it is missing or stale (keystores made before it).
        """
        data = self._read_bytes()
        encrypted = b"ENCRYPTED" in data
        if encrypted and not passphrase:
            raise KeystoreError(
                f"the identity key at {self.path} is encrypted: give --passphrase-file or set OSP_PASSPHRASE"
            )
        if not _pem_armor_ok(data):
            raise CorruptKeyError(f"cannot read the identity key at {self.path}: corrupt key file (not a PEM key)")
        try:
            key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
        except (ValueError, TypeError) as exc:
            if encrypted:
                raise KeystoreError(
                    f"cannot read the identity key at {self.path}: wrong passphrase or corrupt key"
                ) from exc
            raise CorruptKeyError(f"cannot read the identity key at {self.path}: corrupt key file") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise CorruptKeyError(f"the key at {self.path} is not an Ed25519 key")
        signing = SigningKey(key)
        self._refresh_did(signing.did)
        return signing

    def _check_key_file(self) -> os.stat_result:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise KeystoreError(f"no identity key at {self.path}: run `osp id init` first") from None
        except OSError as exc:
            raise CorruptKeyError(f"cannot read {self.path}: {exc.strerror}") from exc
        if not stat.S_ISREG(st.st_mode):
            raise CorruptKeyError(f"{self.path} is not a regular file")
        if st.st_mode & 0o077:
            raise KeystoreError(
                f"the identity key at {self.path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                f"run `chmod 600 {self.path}` if that is intended to be private"
            )
        return st

    def _read_bytes(self) -> bytes:
        self._check_key_file()
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise CorruptKeyError(f"cannot read {self.path}: {exc.strerror}") from exc

    def _refresh_did(self, did: str) -> None:
        try:
            if self.did_path.read_text("ascii").strip() == did:
                return
        except (OSError, UnicodeDecodeError):
            pass
        try:
            self._write_did(did)
        except OSError:
            pass  # a read-only identity directory still loads; `id show` then asks for the passphrase

    def _write_did(self, did: str) -> None:
        tmp = self._write_tmp(self.did_path, did.encode("ascii") + b"\n")
        os.replace(tmp, self.did_path)

    @staticmethod
    def _write_tmp(path: Path, data: bytes) -> Path:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return tmp


def _pem_armor_ok(data: bytes) -> bool:
    """True iff ``data`` is one PEM block whose body is valid base64 (RFC 7468)."""
    lines = data.strip().splitlines()
    if len(lines) < 3 or not lines[0].startswith(b"-----BEGIN ") or not lines[-1].startswith(b"-----END "):
        return False
    try:
        body = [line.strip() for line in lines[1:-1] if b":" not in line]  # RFC 1421 headers (Proc-Type …)
        base64.b64decode(b"".join(body), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
