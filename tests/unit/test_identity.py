import os
import stat

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
def test_did_key_round_trip(pub: bytes) -> None:
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
