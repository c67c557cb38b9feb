"""Ed25519 edge cases (issue 6 item 2): RFC 8032 §7.1 vectors, every Wycheproof Ed25519
case, and the small-order / non-canonical keys and signatures OpenSSL alone accepts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import base58
import pytest

from osp.identity import SigningKey, did_from_public_key, public_key_from_did, verify_signature
from osp.identity._edwards import L, decode_point, is_small_order
from osp.identity.didkey import DidKeyError

VECTORS = Path(__file__).parent / "vectors"

# RFC 8032 §7.1: (name, secret key, public key, message, signature), hex.
MSG_1024 = (
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1"
    "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a"
    "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10"
    "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d"
    "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b"
    "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
    "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d"
    "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7"
    "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09"
    "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161"
    "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca"
    "c60c905c15fc910840b94c00a0b9d0"
)
RFC8032 = [
    ("TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
     "d25bf5f0595bbe24655141438e7a100b"),
    ("TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
     "387b2eaeb4302aeeb00d291612bb0c00"),
    ("TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659"
     "4a7c15e9716ed28dc027beceea1ec40a"),
    ("TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e", MSG_1024,
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b"
     "5e8fcd4f681e30a6ac00a9704a188a03"),
    ("TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf", hashlib.sha512(b"abc").hexdigest(),
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e030"
     "3dca179c138ac17ad9bef1177331a704"),
]

# The eight points of order 1, 2, 4 and 8, canonically encoded ("Taming the many EdDSAs",
# Chalkias et al. 2020; libsodium's blocklist) ...
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",  # identity (order 1)
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
    "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
    "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  # order 8
]
# ... and their non-canonical encodings: y >= p, or x = 0 with the sign bit set.
NON_CANONICAL = [
    "0100000000000000000000000000000000000000000000000000000000000080",  # identity, "-0"
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  # order 2, "-0"
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p (order 4)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p + 1 (identity)
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
]
IDENTITY_SIGNATURE = bytes.fromhex(SMALL_ORDER[0]) + bytes(32)  # R = identity, S = 0


def did_of(raw_key: bytes) -> str:
    """A did:key built by hand (the codec itself refuses to encode such keys)."""
    return "did:key:z" + base58.b58encode(b"\xed\x01" + raw_key).decode()


@pytest.mark.parametrize("name,sk,pk,msg,sig", RFC8032, ids=[v[0] for v in RFC8032])
def test_rfc8032_vectors(name: str, sk: str, pk: str, msg: str, sig: str) -> None:
    key = SigningKey.from_seed(bytes.fromhex(sk))
    message, signature = bytes.fromhex(msg), bytes.fromhex(sig)
    assert key.public_key.hex() == pk and key.sign(message) == signature
    assert verify_signature(key.public_key, signature, message)
    assert public_key_from_did(did_from_public_key(key.public_key)) == key.public_key
    assert not verify_signature(key.public_key, signature, message + b"\x00")
    s_plus_l = (int.from_bytes(signature[32:], "little") + L).to_bytes(32, "little")
    assert not verify_signature(key.public_key, signature[:32] + s_plus_l, message)  # S >= L (RFC 8032 §5.1.7)


def wycheproof_cases() -> list[Any]:
    data = json.loads((VECTORS / "wycheproof_ed25519_test.json").read_text())
    cases = [pytest.param(group["publicKey"]["pk"], test, id=f"tc{test['tcId']}")
             for group in data["testGroups"] for test in group["tests"]]
    assert len(cases) == data["numberOfTests"] == 151
    return cases


@pytest.mark.parametrize("pk,case", wycheproof_cases())
def test_wycheproof_ed25519(pk: str, case: dict[str, Any]) -> None:
    assert case["result"] in ("valid", "invalid")
    ok = verify_signature(bytes.fromhex(pk), bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
    assert ok == (case["result"] == "valid"), f"{case['comment']} {case['flags']}"


@pytest.mark.parametrize("encoded", SMALL_ORDER)
def test_small_order_points_are_found(encoded: str) -> None:
    x, y = decode_point(bytes.fromhex(encoded))
    assert is_small_order(x, y)


def test_ordinary_keys_are_not_small_order() -> None:
    for seed in range(20):
        x, y = decode_point(SigningKey.from_seed(bytes([seed]) * 32).public_key)
        assert not is_small_order(x, y)


@pytest.mark.parametrize("encoded", SMALL_ORDER + NON_CANONICAL)
def test_small_order_and_non_canonical_did_keys_are_refused(encoded: str) -> None:
    raw = bytes.fromhex(encoded)
    did = did_of(raw)
    assert did.startswith("did:key:z6Mk")
    with pytest.raises(DidKeyError):
        public_key_from_did(did)
    with pytest.raises(DidKeyError):
        did_from_public_key(raw)
    assert not verify_signature(raw, IDENTITY_SIGNATURE, b"Anything at all")


def test_off_curve_did_key_is_refused() -> None:
    raw = (2).to_bytes(32, "little")  # y = 2: (y^2 - 1)/(d y^2 + 1) is not a square mod p
    with pytest.raises(DidKeyError, match="not a point"):
        public_key_from_did(did_of(raw))


@pytest.mark.parametrize("r", SMALL_ORDER)
def test_small_order_r_is_refused_for_a_real_key(r: str) -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    assert not verify_signature(key.public_key, bytes.fromhex(r) + bytes(32), b"message")


def test_small_order_y_values_match_the_points() -> None:
    from osp.identity._edwards import SMALL_ORDER_Y, P

    ys = {decode_point(bytes.fromhex(e))[1] for e in SMALL_ORDER}
    assert ys == SMALL_ORDER_Y and len(SMALL_ORDER_Y) == 5
    for seed in range(20):  # and no ordinary key shares one
        y = int.from_bytes(SigningKey.from_seed(bytes([seed]) * 32).public_key, "little") & ((1 << 255) - 1)
        assert y < P and y not in SMALL_ORDER_Y


@pytest.mark.parametrize("r", NON_CANONICAL)
def test_non_canonical_r_is_refused(r: str) -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    assert not verify_signature(key.public_key, bytes.fromhex(r) + bytes(32), b"message")
