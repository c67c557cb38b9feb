"""Regenerate spec/vectors/*.json deterministically (OSP v0.1 test vectors).

    .venv/bin/python scripts/make_vectors.py [--check]

--check compares instead of writing and exits 1 on any difference (the tests do this).
Inputs for CIDs come from the ChaCha20 generator (key = SHA-256(seed), zero nonce);
keys from fixed seeds; timestamps are fixed.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import base58

from osp.content.testdata import chacha_stream
from osp.content.unixfs import PROFILES, import_stream
from osp.core.errors import IntegrityError
from osp.discovery.feed import FEED_SALT, FeedValue, catalog_encode, expanded_secret, signing_bytes
from osp.discovery.keys import STOP_WORDS, record_keys, rendezvous_key, title_words
from osp.distribution.engine import make_v1_torrent, parse_metainfo
from osp.distribution.pieces import piece_count, piece_length_for
from osp.identity import SigningKey, did_document
from osp.records import build_track, derive_id, jcs, sign_track, verify_track
from osp.records.proof import sign as di_sign

VECTORS = Path(__file__).resolve().parents[1] / "spec" / "vectors"
KiB, MiB = 1024, 1024 * 1024
CREATED = "2026-11-21T12:00:00Z"
SEEDS = {
    "rfc8032-test-1": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "zeros": "00" * 32,
    "counting": bytes(range(32)).hex(),
    "artist-b": bytes(range(32, 64)).hex(),
}


def did_keys() -> dict[str, Any]:
    out = []
    for name, seed in SEEDS.items():
        key = SigningKey.from_seed(bytes.fromhex(seed))
        out.append({"name": name, "seed": seed, "publicKey": key.public_key.hex(), "did": key.did,
                    "didDocument": did_document(key.did)})
    return {"description": "Ed25519 seed (RFC 8032 private key) -> public key -> did:key and DID document (Multikey)",
            "vectors": out}


def cids() -> dict[str, Any]:
    cases = []
    for name, profile in PROFILES.items():
        c, links = profile.chunk_size, profile.max_links
        sizes = sorted({0, 1, 1000, c - 1, c, c + 1, 3 * c + 17, min(links * c + 1, 45 * MiB)})
        for size in sizes:
            seed = f"osp-vector-{size}"
            cid = import_stream(chacha_stream(seed, size), profile)
            cases.append({"profile": name, "seed": seed, "size": size, "cid": str(cid)})
    return {"description": "UnixFS file CIDs per import profile; input = ChaCha20 keystream (RFC 8439), "
                           "key = SHA-256(UTF-8 seed), 12-byte zero nonce, counter 0, first `size` bytes",
            "vectors": cases}


def pieces() -> dict[str, Any]:
    sizes = [1, 16 * KiB, 1_000_000, 3_000_000, 5_000_000, 16 * MiB, 16 * MiB + 1, 32 * MiB, 32 * MiB + 1,
             50_000_000, 500_000_000, 4 * 1024 * MiB, 16 * 1024 * MiB, 16 * 1024 * MiB + 1, 100 * 1024 * MiB]
    return {"description": "file size in bytes -> torrent piece length (the OSP v0.1 rule: smallest power of two "
                           ">= 16384 giving at most 1024 pieces, capped at 16777216) and number of pieces",
            "vectors": [{"size": n, "pieceLength": piece_length_for(n), "pieces": piece_count(n)} for n in sizes],
            "torrents": [torrent_vector(n) for n in (1000, 1_000_000, 16 * MiB + 1)]}


def torrent_vector(size: int) -> dict[str, Any]:
    """The v1 torrent of a ChaCha20 input under the rule: its info dict holds only ``length``,
    ``name``, ``piece length`` and ``pieces`` (BEP 3), so the infohash pins the rule."""
    seed, name = f"osp-vector-{size}", "track.ogg"
    length, hashes, piece = piece_length_for(size), [], b""
    for chunk in chacha_stream(seed, size):
        piece += chunk
        while len(piece) >= length:
            hashes.append(hashlib.sha1(piece[:length]).digest())
            piece = piece[length:]
    if piece:
        hashes.append(hashlib.sha1(piece).digest())
    info = parse_metainfo(make_v1_torrent(name, size, hashes))
    return {"seed": seed, "size": size, "name": name, "pieceLength": info.piece_length, "infohash": info.infohash}


def sample_fields(did: str) -> dict[str, Any]:
    return {
        "title": "Glacier Drift", "artist": did, "artistName": "Test Artist", "duration": 195.514,
        "format": "audio/ogg", "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu",
        "cidProfile": "unixfs-v1-2025", "size": 2300248, "audio": {"sampleRate": 44100, "channels": 2, "bitrate": 96.0},
        "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87&dn=bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu.ogg&xl=2300248",
        "released": "2026-11-21", "license": "CC0-1.0", "tags": ["ambient", "ai"],
        "provenance": {"aiGenerated": True, "generator": "example-generator", "model": "example-model",
                       "modelVersion": "1.0", "prompt": "icy ambient synths", "seed": 42,
                       "parameters": {"temperature": 0.9, "steps": 50}, "humanContribution": "arrangement"},
    }


PARENT_A = "osp:track:bagaaieraxj3qg7qo6epjkdfttmhk6i2cedwzi6aq6disilcbuhilliagufwa"  # the first (counting) vector
PARENT_B = "osp:track:bagaaierap2aoghm5gtnkb537q53ncslnjrfqnf35hqcfat4we3a25vvktbna"  # the artist-b vector


def structured_fields(did: str) -> dict[str, Any]:
    """``sample_fields`` with the full structured provenance (spec §5.1) and lyrics."""
    return {**sample_fields(did), "title": "Glacier Drift (Night Remix)", "lyrics": "ice on the river\nlight in the hall\n",
            "provenance": {
                "aiGenerated": True, "digitalSourceType": "compositeWithTrainedAlgorithmicMedia",
                "generator": {"name": "example-generator", "version": "4.5", "url": "https://generator.example/"},
                "model": "example-model", "modelVersion": "1.0", "prompt": "icy ambient synths, slow, 70 bpm",
                "negativePrompt": "drums", "seed": 9007199254740991,
                "parameters": {"temperature": 0.9, "steps": 50, "guidance": {"scale": 3.5}},
                "humanContribution": ["lyrics", "arrangement", "mixing"],
                "parents": [{"id": PARENT_A, "relation": "remix"}, {"id": PARENT_B, "relation": "samples"}],
                "stems": [{"cid": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "role": "vocals"},
                          {"cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "role": "drums"}],
            }}


def records() -> dict[str, Any]:
    out = []
    cases = (("counting", sample_fields), ("artist-b", sample_fields), ("counting", structured_fields))
    for name, make in cases:
        key = SigningKey.from_seed(bytes.fromhex(SEEDS[name]))
        unsigned = build_track(make(key.did))
        body = {k: v for k, v in unsigned.items() if k != "id"}
        signed = sign_track(unsigned, key, CREATED)
        verify_track(signed)
        out.append({"keySeed": SEEDS[name], "unsigned": body, "jcs": jcs(body).decode("utf-8"),
                    "id": unsigned["id"], "created": CREATED, "signed": signed})
    return {"description": "record without id and proof -> JCS (RFC 8785) -> id (CIDv1 json, sha2-256, base32) "
                           "-> record with id signed with eddsa-jcs-2022 at `created`", "vectors": out}


def resigned(record: dict[str, Any], key: SigningKey, **changes: Any) -> dict[str, Any]:
    """``record`` changed, its id recomputed and signed again: valid except for ``changes``."""
    body = {k: v for k, v in record.items() if k not in ("id", "proof")}
    body.update(changes)
    return di_sign({**body, "id": derive_id(body)}, key, CREATED)


def small_order_forgery() -> dict[str, Any]:
    """A record 'signed' by the identity point's did:key with R = identity, S = 0."""
    identity = bytes([1]) + bytes(31)
    did = "did:key:z" + base58.b58encode(b"\xed\x01" + identity).decode("ascii")
    record = build_track({**sample_fields(did), "title": "Anything at all"})
    record["proof"] = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": CREATED,
                       "verificationMethod": f"{did}#{did[8:]}", "proofPurpose": "assertionMethod",
                       "@context": record["@context"],
                       "proofValue": "z" + base58.b58encode(identity + bytes(32)).decode("ascii")}
    return record


def provenance_cases(key: SigningKey) -> list[tuple[str, dict[str, Any]]]:
    """Signed records (id and proof right) whose ``provenance`` breaks one rule of spec §5.1."""
    good = sign_track(build_track(structured_fields(key.did)), key, CREATED)
    base = good["provenance"]

    def bad(**changes: Any) -> dict[str, Any]:
        return resigned(good, key, provenance={**base, **changes})

    return [
        ("provenance: digitalSourceType not an IPTC term, signed", bad(digitalSourceType="aiMusic")),
        ("provenance: humanContribution term not in the vocabulary, signed", bad(humanContribution=["vibes"])),
        ("provenance: humanContribution 'none' with other terms, signed", bad(humanContribution=["none", "mixing"])),
        ("provenance: parent relation not in the vocabulary, signed",
         bad(parents=[{"id": PARENT_A, "relation": "inspired-by"}])),
        ("provenance: stem role not in the vocabulary, signed",
         bad(stems=[{"cid": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "role": "kazoo"}])),
        ("provenance: parameters over 4096 bytes as JCS (64 members or fewer), signed",
         bad(parameters={f"p{i}": "x" * 100 for i in range(41)})),
        ("provenance: seed 2^53, over 2^53 - 1 (JCS cannot canonicalize it, so id and proof are the unchanged "
         "record's)", {**good, "provenance": {**base, "seed": 2**53}}),
        ("provenance: seed negative, signed", bad(seed=-1)),
        ("provenance: a member the spec does not define, signed", bad(temperature=0.9)),
        ("provenance: generator object with an unknown member, signed",
         bad(generator={"name": "example-generator", "license": "MIT"})),
    ]


def invalid_records() -> dict[str, Any]:
    key = SigningKey.from_seed(bytes.fromhex(SEEDS["counting"]))
    other = SigningKey.from_seed(bytes.fromhex(SEEDS["artist-b"]))
    good = sign_track(build_track(sample_fields(key.did)), key, CREATED)
    def mutated(change: Any) -> dict[str, Any]:
        record = copy.deepcopy(good)
        change(record)
        return record

    def recompute_id(r: dict[str, Any]) -> None:
        r["title"] = "Stolen"
        r["id"] = derive_id(r)

    cases: list[tuple[str, Any]] = [
        ("a field changed after signing (id no longer matches)", mutated(lambda r: r.update(title="Stolen"))),
        ("a field changed and the id recomputed (signature no longer matches)", mutated(recompute_id)),
        ("signed by a key that is not the artist's", di_sign(build_track(sample_fields(key.did)), other, CREATED)),
        ("no proof", mutated(lambda r: r.pop("proof"))),
        ("another cryptosuite", mutated(lambda r: r["proof"].update(cryptosuite="eddsa-rdfc-2022"))),
        ("negative duration", mutated(lambda r: r.update(duration=-3))),
        ("artist is not a did:key", mutated(lambda r: r.update(artist="did:web:example.com"))),
        ("proofValue of the right shape but wrong", mutated(lambda r: r["proof"].update(proofValue="z" + "1" * 86))),
        ("unknown @context", mutated(lambda r: r.update({"@context": ["https://example.com/other"]}))),
        ("a field the schema does not define", mutated(lambda r: r.update(unknownField=True))),
        ("released is not a calendar date (2024-13-45), signed", resigned(good, key, released="2024-13-45")),
        *provenance_cases(key),
        ("artist is a small-order did:key (the identity point) and proofValue the identity point and zeros: "
         "OpenSSL alone would verify it", small_order_forgery()),
    ]
    out = []
    for description, record in cases:
        try:
            verify_track(record)
            raise SystemExit(f"invalid vector verified: {description}")
        except IntegrityError as exc:
            out.append({"description": description, "record": record, "error": exc.check})
    out.append({"description": "duplicate JSON key (raw text)", "json": '{"title": "a", "title": "b"}', "error": "json"})
    out.append({"description": "NaN (raw text)", "json": '{"duration": NaN}', "error": "json"})
    out.append({"description": "a number that overflows to Infinity (raw text)", "json": '{"duration": 1e999}',
                "error": "json"})
    out.append({"description": "an integer of more than 20 digits (raw text)", "json": '{"size": ' + "9" * 30 + "}",
                "error": "json"})
    out.append({"description": "nesting deeper than 16 (raw text)", "json": "[" * 17 + "]" * 17, "error": "json"})
    return {"description": "records a verifier must reject; `error` names the failed check "
                           "(json, schema, id, proof, verification-method, proof-type, proof-context)",
            "vectors": out}


def rendezvous() -> dict[str, Any]:
    key = SigningKey.from_seed(bytes.fromhex(SEEDS["counting"]))
    record = sign_track(build_track(sample_fields(key.did)), key, CREATED)
    cases = [("track", record["id"]), ("artist", key.did), ("parent", record["id"]),
             ("tag", "ambient"), ("tag", "Ａｍｂｉｅｎｔ"), ("tag", "  Lo \t Fi "), ("tag", "Straße"), ("tag", "ＨＩＰ-ＨＯＰ"),
             ("tag", "ﬁeld recording"), ("word", "Glacier"), ("word", "STRASSE"), ("word", "été"),
             ("word", "e\u0301te\u0301"), ("word", "東京"), ("word", "Ⅳ")]
    keys = []
    for kind, value in cases:
        k = rendezvous_key(kind, value)
        keys.append({"kind": kind, "value": value, "normalized": k.value, "key": k.hex})
    titles = []
    for title in ("Glacier Drift", "The Glacier, glacier DRIFT (feat. X)", "Ａｍｂｉｅｎｔ Straße_Nights—2049",
                  "A Song of the Sea", "Nuit d'été à Paris", "東京 夜 Tokyo", "of the and"):
        words = title_words(title)
        titles.append({"title": title, "words": words, "keys": [rendezvous_key("word", w).hex for w in words]})
    return {"description": "rendezvous keys (spec §9.1): key = SHA-1(\"osp/v0/\" + kind + \":\" + UTF-8(value')), "
                           "value' = value for track, artist and parent (a track id named in provenance.parents), "
                           "normalize(value) for tag and word "
                           "(NFKC, casefold, NFKC, trim, collapse white space); title -> words (letter/digit runs "
                           "of the normalized title, stop words and 1-character words dropped, at most 16)",
            "stopWords": sorted(STOP_WORDS), "vectors": keys, "titles": titles,
            "record": {"record": record, "keys": [{"kind": k.kind, "value": k.value, "key": k.hex}
                                                  for k in record_keys(record)]}}


def feed() -> dict[str, Any]:
    out = []
    for name, seq in (("counting", 1), ("artist-b", 42)):
        key = SigningKey.from_seed(bytes.fromhex(SEEDS[name]))
        record = sign_track(build_track(sample_fields(key.did)), key, CREATED)
        catalog = catalog_encode([jcs(record)])
        infohash = torrent_infohash("catalog.ndjson", catalog)
        value = FeedValue(infohash, seq, 1, 1_800_000_000).encode()
        message = signing_bytes(FEED_SALT, seq, value)
        out.append({"seed": SEEDS[name], "publicKey": key.public_key.hex(), "did": key.did,
                    "expandedSecret": expanded_secret(key.seed).hex(), "salt": FEED_SALT.decode(), "seq": seq,
                    "catalog": catalog.decode("utf-8"), "catalogInfohash": infohash,
                    "value": value.decode("utf-8"), "signingBytes": message.hex(),
                    "signature": key.sign(message).hex()})
    return {"description": "artist feed items (spec §9.5): catalog.ndjson (signed records, JCS, sorted by id) -> "
                           "its single-file v1 torrent infohash -> value (JCS FeedValue) -> BEP 44 signing bytes "
                           "(4:salt<salt>3:seqi<seq>e1:v<len>:<value>) -> Ed25519 signature by the did:key's key; "
                           "expandedSecret = SHA-512(seed) clamped, the 64-byte secret libtorrent signs with",
            "vectors": out}


def torrent_infohash(name: str, data: bytes) -> str:
    length = piece_length_for(len(data))
    hashes = [hashlib.sha1(data[i:i + length]).digest() for i in range(0, len(data), length)]
    return parse_metainfo(make_v1_torrent(name, len(data), hashes)).infohash


def render() -> dict[str, str]:
    files = {"did-key.json": did_keys(), "cid.json": cids(), "records.json": records(),
             "invalid-records.json": invalid_records(), "pieces.json": pieces(),
             "rendezvous.json": rendezvous(), "feed.json": feed()}
    return {name: json.dumps(value, indent=2, ensure_ascii=False) + "\n" for name, value in files.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    differ = []
    for name, text in render().items():
        path = VECTORS / name
        if args.check:
            if not path.exists() or path.read_text("utf-8") != text:
                differ.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
    if differ:
        print("out of date: " + ", ".join(differ), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
