"""Artist feeds: a BEP 44 mutable item pointing at the artist's latest catalog torrent
(BEP 46 idea), spec/osp-v0.1.md §9.5.

* The item lives under the artist's Ed25519 public key (the did:key's key) with salt
  ``FEED_SALT``; its ``v`` is a bencoded byte string holding the JCS JSON of a
  ``FeedValue`` (``{"catalog","count","expires","seq"}``), at most ``MAX_VALUE`` bytes.
* The signature covers the BEP 44 bytes ``signing_bytes(salt, seq, value)``.
  libtorrent signs with the 64-byte expanded secret (``expanded_secret``).
* The catalog torrent is one file, ``catalog.ndjson``: the author's signed records (Track
  Records and social records, §10), one JCS line each, sorted by id (``catalog_encode`` /
  ``catalog_decode_all``).
* Followers run ``FeedGuard.accept`` on every item they get: never below the highest
  ``seq`` seen (BEP 44 lets anyone replay an old signed item), ``value.seq`` equal to the
  item's ``seq`` (the signed value pins its own sequence number) and not expired.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from osp.core.errors import CallerError, IntegrityError
from osp.distribution.dht import bep44_signing_bytes
from osp.identity.keys import verify_signature
from osp.records.canonical import jcs, strict_loads
from osp.records.social import TYPES, VerifiedSocial, verify_social
from osp.records.track import TRACK_TYPE, VerifiedTrack, verify_track

FEED_SALT = b"osp/v0/feed"
MAX_VALUE = 996  #: longest value the libtorrent binding stores (1000-byte BEP 44 limit, bencoded)
MAX_SALT = 64  #: BEP 44
MAX_SEQ = 2**63 - 1  #: BEP 44 seq is a signed 64-bit integer
MAX_COUNT = 1_000_000
MAX_JSON_INT = 2**53 - 1  #: JCS (RFC 8785) integers are exact only up to here: bounds seq, count, expires in the value
FEED_LIFETIME = 30 * 86400  #: seconds a published value stays valid (``expires`` = publish time + this)
CATALOG_FILE = "catalog.ndjson"
MAX_CATALOG_BYTES = 8 * 1024 * 1024
MAX_CATALOG_RECORDS = 10_000  #: lines (records) a catalog may hold (spec §9.5); more: the catalog is refused unread
_HEX = frozenset("0123456789abcdef")
SOCIAL_TYPES = frozenset(TYPES.values())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class FeedValue:
    """The signed pointer: ``catalog`` (hex v1 infohash of the catalog torrent), ``seq``
    (equal to the BEP 44 item's seq), ``count`` (records in the catalog) and ``expires``
    (unix seconds after which followers ignore it).  ``CallerError`` on a field out of
    range."""

    catalog: str
    seq: int
    count: int
    expires: int

    def __post_init__(self) -> None:
        if not (isinstance(self.catalog, str) and len(self.catalog) == 40 and set(self.catalog) <= _HEX):
            raise CallerError("a feed's catalog is a 40-hex-digit lowercase v1 infohash")
        for name, top in (("seq", MAX_JSON_INT), ("count", MAX_COUNT), ("expires", MAX_JSON_INT)):
            value = getattr(self, name)
            if not _is_int(value) or not 0 <= value <= top:
                raise CallerError(f"a feed's {name} is an integer from 0 to {top}")

    def encode(self) -> bytes:
        """JCS JSON bytes: ``{"catalog":"…","count":n,"expires":t,"seq":s}`` (≤ ``MAX_VALUE``)."""
        return jcs({"catalog": self.catalog, "count": self.count, "expires": self.expires, "seq": self.seq})

    @classmethod
    def decode(cls, data: bytes) -> FeedValue:
        """Parse a value that came from the DHT.  ``IntegrityError`` (``check="feed"``) for
        more than ``MAX_VALUE`` bytes, bad JSON, a non-object, a missing member or one of
        the wrong type or range.  Unknown members are ignored (later versions)."""
        if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_VALUE:
            raise IntegrityError(f"feed value over {MAX_VALUE} bytes or not bytes", check="feed")
        try:
            obj = strict_loads(bytes(data), max_bytes=MAX_VALUE, max_depth=4)
        except IntegrityError as exc:
            raise IntegrityError(f"feed value is not JSON: {exc.message}", check="feed") from exc
        if not isinstance(obj, dict):
            raise IntegrityError("feed value is not a JSON object", check="feed")
        try:
            return cls(obj["catalog"], obj["seq"], obj["count"], obj["expires"])
        except KeyError as exc:
            raise IntegrityError(f"feed value lacks {exc.args[0]!r}", check="feed") from exc
        except CallerError as exc:
            raise IntegrityError(f"bad feed value: {exc.message}", check="feed") from exc


def signing_bytes(salt: bytes, seq: int, value: bytes) -> bytes:
    """The bytes a BEP 44 mutable item's signature covers, for a byte-string ``v``::

        4:salt<len>:<salt>3:seqi<seq>e1:v<len>:<value>

    (the ``salt`` part is left out when ``salt`` is empty).  ``CallerError`` for a salt
    over 64 bytes, a seq out of 0..2**63-1, or a value over ``MAX_VALUE`` bytes."""
    if len(salt) > MAX_SALT:
        raise CallerError(f"a BEP 44 salt is at most {MAX_SALT} bytes")
    if not _is_int(seq) or not 0 <= seq <= MAX_SEQ:
        raise CallerError("a BEP 44 seq is an integer from 0 to 2**63-1")
    if len(value) > MAX_VALUE:
        raise CallerError(f"a feed value is at most {MAX_VALUE} bytes")
    return bep44_signing_bytes(salt, seq, value)


def verify_item(public_key: bytes, salt: bytes, seq: int, value: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is the Ed25519 signature by ``public_key`` of
    ``signing_bytes(salt, seq, value)`` (strict verification, small-order keys refused).
    Never raises."""
    try:
        message = signing_bytes(bytes(salt), seq, bytes(value))
    except (CallerError, TypeError):
        return False
    return verify_signature(bytes(public_key), bytes(signature), message)


def expanded_secret(seed: bytes) -> bytes:
    """The 64-byte Ed25519 secret libtorrent (orlp/ed25519) signs with: SHA-512 of the
    32-byte RFC 8032 ``seed``, the first half clamped (``[0] &= 248``, ``[31] &= 63``,
    ``[31] |= 64``) as the scalar, the second half the nonce prefix (RFC 8032 §5.1.5).
    ``CallerError`` for a seed that is not 32 bytes."""
    if len(seed) != 32:
        raise CallerError("an Ed25519 seed is 32 bytes")
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    return bytes(h)


def catalog_encode(records: Sequence[bytes]) -> bytes:
    """The catalog file: each signed record (JSON bytes: Track Records and social records
    alike, not verified here) as one JCS line ending in ``\\n``, sorted by id, duplicates
    (same id) once.  ``CallerError`` if a record has no
    id or the catalog passes ``MAX_CATALOG_BYTES`` or ``MAX_CATALOG_RECORDS``;
    ``IntegrityError`` for bad JSON."""
    lines: dict[str, bytes] = {}
    for raw in records:
        record = strict_loads(raw)
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise CallerError("a catalog entry is a signed record (Track or social) with an id")
        lines.setdefault(record["id"], jcs(record))
    if len(lines) > MAX_CATALOG_RECORDS:
        raise CallerError(f"catalog over {MAX_CATALOG_RECORDS} records")
    out = b"".join(lines[k] + b"\n" for k in sorted(lines))
    if len(out) > MAX_CATALOG_BYTES:
        raise CallerError(f"catalog over {MAX_CATALOG_BYTES} bytes")
    return out


@dataclass(frozen=True)
class Catalog:
    """The verified records of a catalog by its author: ``tracks`` (Track Records, §5) and
    ``social`` (social records, §10), each sorted by id."""

    tracks: list[VerifiedTrack]
    social: list[VerifiedSocial]


def catalog_decode_all(data: bytes, author: str) -> Catalog:
    """The verified records of a downloaded catalog that are by ``author`` (spec §9.5):
    Track Records whose ``artist`` is ``author`` and social records (§10) whose ``author``
    is; each list sorted by id.

    Cheap checks first, so that a hostile catalog costs little CPU: the size and the
    line count (refused unread above ``MAX_CATALOG_BYTES`` / ``MAX_CATALOG_RECORDS``
    non-empty lines), then a line without ``author``'s did in its bytes is dropped
    (JCS never escapes it), each other line parsed as strict JSON (``strict_loads``); a line
    that is not a JSON object with a string ``id``, whose ``type`` is neither ``osp:Track``
    nor a social type, whose ``artist`` (Track) or ``author`` (social) is not ``author``,
    or whose ``id`` an earlier line had (verified or not), is dropped *before* its
    signature is checked.  Only the first line of each of the author's ids goes through
    ``verify_track`` / ``verify_social`` (schema, id, Ed25519 proof); those that fail are
    dropped.  An empty catalog has no records.  ``IntegrityError`` (``check="catalog"``)
    for a catalog over the caps, or with lines but none valid."""
    if len(data) > MAX_CATALOG_BYTES:
        raise IntegrityError(f"catalog over {MAX_CATALOG_BYTES} bytes", check="catalog")
    lines = [line for line in data.split(b"\n") if line.strip()]
    if len(lines) > MAX_CATALOG_RECORDS:
        raise IntegrityError(f"catalog of {len(lines)} lines, over {MAX_CATALOG_RECORDS} records", check="catalog")
    seen: set[str] = set()
    tracks: dict[str, VerifiedTrack] = {}
    social: dict[str, VerifiedSocial] = {}
    needle = author.encode("utf-8")
    for line in lines:
        if needle not in line:  # a JCS line by ``author`` holds its did verbatim: not parsed at all
            continue
        try:
            record = strict_loads(line)
        except IntegrityError:
            continue
        if not isinstance(record, dict):
            continue
        kind = record.get("type")
        is_track = kind == TRACK_TYPE
        if not (is_track or (isinstance(kind, str) and kind in SOCIAL_TYPES)):
            continue
        if record.get("artist" if is_track else "author") != author:
            continue
        record_id = record.get("id")
        if not isinstance(record_id, str) or record_id in seen:
            continue
        seen.add(record_id)  # one verification per id: a repeated line is never verified again
        try:
            if is_track:
                track = verify_track(record)
                tracks[track.id] = track
            else:
                item = verify_social(record)
                social[item.id] = item
        except IntegrityError:
            continue
    if lines and not tracks and not social:
        raise IntegrityError(f"no valid record by {author} in the catalog", check="catalog")
    return Catalog([tracks[k] for k in sorted(tracks)], [social[k] for k in sorted(social)])


def catalog_decode(data: bytes, artist: str) -> list[VerifiedTrack]:
    """The verified Track Records of ``catalog_decode_all(data, artist)`` (its social
    records left out); the same checks and errors."""
    return catalog_decode_all(data, artist).tracks


class FeedGuard:
    """The follower's decision on one fetched feed item (spec §9.5), pure.

    ``accept(highest_seen, item_seq, value, now)`` is ``True`` or the reason to ignore
    the item: ``"replay"`` (``item_seq`` ≤ the highest seq seen for this feed: replayed
    or rolled back), ``"seq-mismatch"`` (the signed value names another seq),
    ``"expired"`` (``now`` ≥ ``value.expires``).  The caller has verified the signature
    (``verify_item``) and decoded the value first, and persists ``item_seq`` as the new
    highest seen once it accepts.
    """

    def accept(self, highest_seen: int | None, item_seq: int, value: FeedValue, now: float) -> bool | str:
        if highest_seen is not None and item_seq <= highest_seen:
            return "replay"
        if value.seq != item_seq:
            return "seq-mismatch"
        if now >= value.expires:
            return "expired"
        return True

