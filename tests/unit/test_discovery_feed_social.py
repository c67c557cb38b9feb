"""Feeds carry social records (spec §9.5, §10.4): a catalog holds the author's Track
Records and social records; another author's, forged or unknown-type lines are dropped."""

from __future__ import annotations

from typing import Any

import pytest

from osp.core.errors import IntegrityError
from osp.discovery.feed import catalog_decode, catalog_decode_all, catalog_encode
from osp.identity import SigningKey
from osp.records import build_social, build_track, jcs, sign_social, sign_track

KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(32, 64)))
CREATED = "2026-12-01T12:00:00Z"
INFOHASH = "e2cd89086f5ab88ee0e14d391536a9811995ab87"


def track(key: SigningKey, title: str) -> dict[str, Any]:
    fields = {"title": title, "artist": key.did, "duration": 1.5, "format": "audio/ogg",
              "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "cidProfile": "unixfs-v1-2025",
              "size": 10, "torrent": f"magnet:?xt=urn:btih:{INFOHASH}", "released": "2026-11-21",
              "license": "CC0-1.0", "tags": []}
    return sign_track(build_track(fields), key, CREATED)


def social(kind: str, key: SigningKey, **fields: Any) -> dict[str, Any]:
    return sign_social(build_social(kind, key.did, fields), key, CREATED)


def test_catalog_carries_tracks_and_social_records() -> None:
    mine = track(KEY, "Mine")
    like = social("like", KEY, subject=mine["id"])
    pl = social("playlist", KEY, playlist="pl-AbCdEfGhIjKlMn_-", seq=4, title="Best of", tracks=[mine["id"]])
    follow = social("follow", KEY, subject=OTHER.did)
    foreign = social("like", OTHER, subject=mine["id"])  # names KEY's track, not KEY's record
    claims = {**social("comment", OTHER, subject=mine["id"], text="x"), "author": KEY.did}  # forged author
    untyped = {**like, "type": "osp:Repost", "id": like["id"].replace(":like:", ":repost:")}
    data = catalog_encode([jcs(r) for r in (mine, like, pl, follow, foreign, claims, untyped, like)])
    assert data.count(b"\n") == 7  # encode keeps every distinct id; decode judges them
    catalog = catalog_decode_all(data, KEY.did)
    assert [t.id for t in catalog.tracks] == [mine["id"]]
    assert [s.id for s in catalog.social] == sorted([like["id"], pl["id"], follow["id"]])
    assert {s.kind for s in catalog.social} == {"like", "playlist", "follow"}
    assert catalog_decode(data, KEY.did) == catalog.tracks  # the tracks-only view is unchanged


def test_listener_catalog_with_only_social_records() -> None:
    """A listener publishes playlists and likes but no track: a valid catalog."""
    like = social("like", OTHER, subject=track(KEY, "t")["id"])
    data = catalog_encode([jcs(like)])
    assert [s.id for s in catalog_decode_all(data, OTHER.did).social] == [like["id"]]
    assert catalog_decode(data, OTHER.did) == []
    with pytest.raises(IntegrityError) as exc:  # none by KEY
        catalog_decode_all(data, KEY.did)
    assert exc.value.check == "catalog"


def test_forged_social_record_is_verified_once_and_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    import osp.discovery.feed as feed_module

    calls: list[str] = []
    real = feed_module.verify_social

    def counting(data: Any) -> Any:
        calls.append(str(data["id"]))
        return real(data)

    monkeypatch.setattr(feed_module, "verify_social", counting)
    forged = {**social("comment", KEY, subject=track(KEY, "t")["id"], text="mine"), "text": "changed"}
    good = social("endorsement", KEY, subject=OTHER.did)
    catalog = catalog_decode_all(b"\n".join([jcs(forged)] * 100 + [jcs(good)]), KEY.did)
    assert [s.id for s in catalog.social] == [good["id"]] and catalog.tracks == []
    assert calls == [forged["id"], good["id"]]
