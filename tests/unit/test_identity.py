import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osp.core.errors import ConflictError, KeystoreError
from osp.identity import Keystore, SigningKey, did_document, did_from_public_key, public_key_from_did
from osp.identity.didkey import DidKeyError, verification_method_id


def test_did_key_of_rfc8032_test_1_key() -> None:
    # RFC 8032 §7.1 TEST 1 public key; did:key = z + base58btc(0xed01 || key)
    pub = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    did = did_from_public_key(pub)
    assert did == "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
    assert public_key_from_did(did) == pub
    key = SigningKey.from_seed(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    assert key.public_key == pub and key.did == did


@given(st.binary(min_size=32, max_size=32))
def test_did_key_round_trip(seed: bytes) -> None:
    pub = SigningKey.from_seed(seed).public_key
    did = did_from_public_key(pub)
    assert did.startswith("did:key:z6Mk")
    assert public_key_from_did(did) == pub
    assert public_key_from_did(verification_method_id(did)) == pub


@pytest.mark.parametrize("bad", ["did:web:example.com", "did:key:abc", "did:key:z111", "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", ""])
def test_bad_did_keys_are_refused(bad: str) -> None:
    with pytest.raises(DidKeyError):
        public_key_from_did(bad)


def test_did_document_shape() -> None:
    key = SigningKey.generate()
    doc = did_document(key.did)
    vm = doc["verificationMethod"][0]  # type: ignore[index]
    assert vm["id"] == f"{key.did}#{key.did[8:]}" and vm["publicKeyMultibase"] == key.did[8:]
    assert doc["assertionMethod"] == [vm["id"]]


def test_keystore_creates_0600_and_never_overwrites(tmp_path) -> None:
    store = Keystore(tmp_path / "identity")
    key = store.create()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load().did == key.did
    with pytest.raises(ConflictError):
        store.create()
    assert store.load().did == key.did


def test_keystore_passphrase(tmp_path) -> None:
    store = Keystore(tmp_path / "identity")
    key = store.create(b"correct horse")
    assert store.is_encrypted()
    assert store.load(b"correct horse").did == key.did
    with pytest.raises(KeystoreError, match="encrypted"):
        store.load()
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        store.load(b"battery staple")


def test_keystore_errors_are_clear(tmp_path) -> None:
    store = Keystore(tmp_path / "identity")
    with pytest.raises(KeystoreError, match="osp id init"):
        store.load()
    store.create()
    os.chmod(store.path, 0o644)
    with pytest.raises(KeystoreError, match="readable by others"):
        store.load()
    os.chmod(store.path, 0o600)
    store.path.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeystoreError, match="corrupt"):
        store.load()


# --- issue 6 item 10 (corrupt key exit code) and `id show` without the passphrase ------


@pytest.mark.parametrize("content", [
    b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n",  # not base64
    b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",  # truncated DER
    b"\x00\x01 not a key at all",
    b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n!!!!\n-----END ENCRYPTED PRIVATE KEY-----\n",  # damaged armor
])
def test_corrupt_key_is_local_data_exit_3(tmp_path, content: bytes) -> None:
    from osp.core.errors import CorruptKeyError

    store = Keystore(tmp_path / "identity")
    store.create()
    store.path.write_bytes(content)
    with pytest.raises(CorruptKeyError, match="corrupt") as exc:
        store.load(b"pass")
    assert exc.value.exit_code == 3 and isinstance(exc.value, KeystoreError)


def test_non_ed25519_and_unreadable_keys_are_corrupt(tmp_path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from osp.core.errors import CorruptKeyError

    store = Keystore(tmp_path / "identity")
    store.directory.mkdir()
    store.path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    store.path.chmod(0o600)
    with pytest.raises(CorruptKeyError, match="not an Ed25519 key"):
        store.load()
    store.path.unlink()
    store.path.mkdir(mode=0o700)
    with pytest.raises(CorruptKeyError, match="not a regular file"):
        store.load()


def test_caller_faults_stay_exit_2(tmp_path) -> None:
    from osp.core.errors import CorruptKeyError

    store = Keystore(tmp_path / "identity")
    with pytest.raises(KeystoreError) as missing:
        store.load()
    store.create(b"right")
    with pytest.raises(KeystoreError) as wrong:
        store.load(b"wrong")
    os.chmod(store.path, 0o644)
    with pytest.raises(KeystoreError) as open_mode:
        store.load(b"right")
    for exc in (missing, wrong, open_mode):
        assert exc.value.exit_code == 2 and not isinstance(exc.value, CorruptKeyError)


def test_public_did_is_stored_beside_the_key(tmp_path) -> None:
    store = Keystore(tmp_path / "identity")
    key = store.create(b"secret")
    assert store.did_path.read_text() == key.did + "\n"
    assert stat.S_IMODE(store.did_path.stat().st_mode) == 0o600
    assert store.stored_did() == key.did  # no passphrase asked
    assert not list(store.directory.glob("*.tmp"))


def test_old_keystore_without_did_file_falls_back_and_backfills(tmp_path) -> None:
    store = Keystore(tmp_path / "identity")
    key = store.create(b"secret")
    store.did_path.unlink()
    assert store.stored_did() is None
    assert store.load(b"secret").did == key.did
    assert store.stored_did() == key.did  # written on the first passphrase load
    store.did_path.write_text("did:key:z6Mkgarbage\n")
    assert store.stored_did() is None
    store.load(b"secret")
    assert store.stored_did() == key.did


def test_a_new_data_directory_is_private(tmp_path: Path) -> None:
    """Which tracks a listener holds and fetched is theirs: a data directory the node
    creates is 0700 (hostile review: it was 0755 with a 0644 library)."""
    from osp.core.settings import Settings
    from osp.node import Node

    store = Keystore(tmp_path / "a" / "identity")
    store.create()
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    Node(Settings(data_dir=tmp_path / "b")).close()
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o700
