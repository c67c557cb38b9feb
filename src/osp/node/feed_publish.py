"""Publishing our artist feed (spec §9 "Feeds"; BEP 44 mutable item pointing at a catalog
torrent, the BEP 46 idea), and the catalog files both sides keep.

``publish_feed``: our published records (Track Records and our social records, spec §10)
become a catalog (``discovery.feed.catalog_encode``,
NDJSON) in ``<data-dir>/feeds/<z6Mk…>/<infohash>.ndjson``, a v1 torrent of it
(``catalog_torrent``) is seeded (DHT on: followers find us under its infohash), and a BEP 44
mutable item under our did:key's Ed25519 key and salt ``osp/v0/feed`` points at it
(``FeedValue``: catalog infohash, seq, record count, expiry).  libtorrent's Python binding
chooses the item's ``seq`` itself (the ``seq`` it found in the DHT, plus one; see
``Engine.dht_put_mutable``), while our value repeats the ``seq`` it is signed under (a
follower refuses a value whose ``seq`` is not the item's): ``put_feed`` therefore puts
again with the ``seq`` libtorrent reported plus one when the two differ (at most
``PUT_ATTEMPTS`` puts), and persists the ``seq`` that was stored (``meta feed_seq``).
Re-puts and following live in ``osp.node.feeds``, which re-exports these names.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from osp.core.errors import CallerError, OspError, RemoteError
from osp.discovery.feed import (
    CATALOG_FILE,
    FEED_LIFETIME,
    FEED_SALT,
    MAX_CATALOG_BYTES,
    MAX_CATALOG_RECORDS,
    FeedValue,
    catalog_encode,
    expanded_secret,
)
from osp.distribution.engine import make_v1_torrent, parse_metainfo
from osp.distribution.pieces import piece_length_for
from osp.identity.didkey import DID_KEY_PREFIX
from osp.library.store import CatalogRow

if TYPE_CHECKING:
    from osp.node.core import Node

log = logging.getLogger("osp.feeds")

FEEDS_DIR = "feeds"  #: under the data directory: one folder per artist (ours and follows')
PUT_ATTEMPTS = 3  #: puts whose seq libtorrent chose otherwise than our value said, before giving up
CLIMB_LIMIT = 16  #: extra puts to climb back past our last seq when the DHT forgot our item


def feed_dir(data_dir: Path, did: str) -> Path:
    """``<data-dir>/feeds/<z6Mk…>``: where ``did``'s catalogs are kept."""
    return data_dir / FEEDS_DIR / did[len(DID_KEY_PREFIX):]


def catalog_torrent(data: bytes) -> tuple[str, bytes]:
    """``(infohash, metainfo)`` of a v1 torrent of catalog bytes ``data``, its one file
    named ``CATALOG_FILE`` (deterministic: the same catalog gives the same infohash)."""
    size = len(data)
    plen = piece_length_for(size)
    hashes = [hashlib.sha1(data[i : i + plen]).digest() for i in range(0, max(size, 1), plen)]
    metainfo = make_v1_torrent(CATALOG_FILE, size, hashes)
    return parse_metainfo(metainfo).infohash, metainfo


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class FeedPublished:
    """Our feed as put: catalog ``infohash``, the ``seq`` stored, ``count`` of records."""

    infohash: str
    seq: int
    count: int


def put_feed(node: Node, infohash: str, count: int, floor_seq: int, now: float) -> int:
    """Put our item pointing at catalog ``infohash``; returns the ``seq`` stored.

    libtorrent's Python binding stores the ``seq`` it found in the DHT plus one, while the
    value must repeat the item's ``seq``: guess the ``seq`` a get finds now plus one; when
    libtorrent stored another ``s`` (the put saw other nodes), put again saying ``s + 1``
    (what it will store next), at most ``PUT_ATTEMPTS`` times.  When the DHT had forgotten our item
    (the artist was offline for hours) the ``seq`` it stores restarts low, and followers
    ignore every item up to the highest they saw: we climb, one put per step, up to
    ``CLIMB_LIMIT`` extra puts past ``floor_seq``; beyond that the re-puts climb on (one per
    ``REPUT_INTERVAL``) and the returned ``seq`` is lower than ``floor_seq``.
    Raises ``RemoteError`` if the DHT never agrees, or what ``Engine.dht_put_mutable``
    raises (no DHT node stored it, timeout)."""
    engine = node.engine
    if engine is None:
        raise CallerError("the engine is not running")
    key = node.signing_key()
    secret = expanded_secret(key.seed)
    current = engine.dht_get_mutable(key.public_key, FEED_SALT)
    guess = (current.seq if current is not None else 0) + 1  # what libtorrent's put will store
    misses = climbs = 0
    while True:
        value = FeedValue(catalog=infohash, seq=guess, count=count, expires=int(now) + FEED_LIFETIME).encode()
        stored = engine.dht_put_mutable(secret, key.public_key, FEED_SALT, value)
        if stored == guess and (stored > floor_seq or climbs >= CLIMB_LIMIT):
            return stored
        if stored == guess:
            climbs += 1  # a valid item, but below what followers saw: one more step up
        else:
            misses += 1
            if misses >= PUT_ATTEMPTS:
                raise RemoteError(f"the DHT stored feed seq {stored} when {guess} was expected, {misses} times")
            log.info("feed: libtorrent stored seq %d, our value said %d: putting again", stored, guess)
        guess = stored + 1


def publish_feed(node: Node) -> FeedPublished | None:
    """Write, seed and announce our catalog (see the module docstring); ``None`` when we
    have published nothing (with no identity too: no ``KeystoreError`` then) or the node
    has no DHT.  Idempotent: an unchanged catalog is
    put again with a new ``seq`` (a refresh).  Raises what ``put_feed`` raises; the
    catalog is seeded before the put, so a failed put is simply retried."""
    engine = node.engine
    if engine is None or not node.settings.dht:
        return None
    published = [r for r in node.library.tracks() if r.origin == "published"]
    if not published and not node.keystore.exists():
        return None  # no identity and nothing published: no feed, and nothing to warn about
    key = node.signing_key()
    rows = [r.record for r in published if r.artist == key.did]
    # our playlists, comments, likes … (spec §10: feeds carry them), newest first, as many as fit
    room = MAX_CATALOG_BYTES - sum(len(r) + 1 for r in rows)
    rows += node.social.own_records(MAX_CATALOG_RECORDS - len(rows), room)
    if not rows:
        return None
    data = catalog_encode(rows)
    infohash, metainfo = catalog_torrent(data)
    folder = feed_dir(node.settings.data_dir, key.did)
    path = folder / f"{infohash}.ndjson"
    if not path.is_file() or path.stat().st_size != len(data):
        _write_atomically(path, data)
    engine.add(metainfo, folder, seed_mode=True, file_name=path.name)
    now = node.clock()
    floor = int(node.library.meta("feed_seq") or 0)
    seq = put_feed(node, infohash, len(rows), floor, now)
    node.library.set_meta("feed_seq", str(seq))  # what the DHT holds now: the next put starts there
    node.library.set_meta("feed_catalog", infohash)
    rel = str(path.relative_to(node.settings.data_dir))
    old = node.library.store_catalog(CatalogRow(key.did, infohash, metainfo, rel, seq, len(rows), now), [],
                                     follow=False)
    if old is not None:
        drop_catalog(node, old)
    return FeedPublished(infohash, seq, len(rows))


def drop_catalog(node: Node, row: CatalogRow) -> None:
    """Stop seeding a replaced or unfollowed catalog and delete its file."""
    if node.engine is not None:
        try:
            node.engine.remove(row.infohash)
        except OspError:
            pass
    (node.settings.data_dir / row.path).unlink(missing_ok=True)
