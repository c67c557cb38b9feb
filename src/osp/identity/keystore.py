"""The identity keystore: one Ed25519 key in ``<data_dir>/identity/key.pem``.

The key is a PKCS#8 PEM file with mode 0600, encrypted with the passphrase when one is
given (``cryptography``'s best available PKCS#8 encryption).  A missing, corrupt,
wrongly-protected or world-readable key raises ``KeystoreError``; an existing key is
never overwritten.  Writes go to a temporary file that is fsynced and renamed, so a
crash leaves either no key or a whole one.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from osp.core.errors import ConflictError, KeystoreError
from osp.identity.keys import SigningKey

KEY_FILE = "key.pem"


class Keystore:
    """The key file under ``directory`` (``Settings.identity_dir``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / KEY_FILE

    def exists(self) -> bool:
        return self.path.exists()

    def create(self, passphrase: bytes | None = None, *, key: SigningKey | None = None) -> SigningKey:
        """Generate (or store ``key``) and write it; ``ConflictError`` if one exists."""
        if self.path.exists():
            raise ConflictError(f"an identity key already exists at {self.path}; refusing to overwrite it")
        key = key or SigningKey.generate()
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        pem = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, self.path)  # fails if a key appeared meanwhile: never overwrite
        os.unlink(tmp)
        return key

    def is_encrypted(self) -> bool:
        return b"ENCRYPTED" in self._read_bytes()

    def load(self, passphrase: bytes | None = None) -> SigningKey:
        """Read the key; ``KeystoreError`` names what is wrong."""
        data = self._read_bytes()
        encrypted = b"ENCRYPTED" in data
        if encrypted and not passphrase:
            raise KeystoreError(
                f"the identity key at {self.path} is encrypted: give --passphrase-file or set OSP_PASSPHRASE"
            )
        try:
            key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
        except (ValueError, TypeError) as exc:
            reason = "wrong passphrase or corrupt key" if encrypted else "corrupt key file"
            raise KeystoreError(f"cannot read the identity key at {self.path}: {reason}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeystoreError(f"the key at {self.path} is not an Ed25519 key")
        return SigningKey(key)

    def _read_bytes(self) -> bytes:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise KeystoreError(f"no identity key at {self.path}: run `osp id init` first") from None
        if not stat.S_ISREG(st.st_mode):
            raise KeystoreError(f"{self.path} is not a regular file")
        if st.st_mode & 0o077:
            raise KeystoreError(
                f"the identity key at {self.path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                f"run `chmod 600 {self.path}` if that is intended to be private"
            )
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise KeystoreError(f"cannot read {self.path}: {exc.strerror}") from exc
