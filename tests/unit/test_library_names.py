"""osp.library.names: an author's display name is picked deterministically from their newest
verified Track Record here, whatever order the records arrived in, and shown as a claim
beside the did (comments and flags on ``GET /api/tracks/{id}/social``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from osp.content.cid import CID, JSON
from osp.identity.keys import SigningKey
from osp.library.names import artist_names
from osp.library.social import SocialRecords
from osp.library.store import CatalogRow, Library
from osp.records import build_track, sign_track, verify_track
from osp.records.social import build_social, sign_social, verify_social

ARTIST, OTHER = SigningKey.from_seed(bytes([41]) * 32), SigningKey.from_seed(bytes([42]) * 32)
TRACK = f"osp:track:{CID.of(b'names', codec=JSON)}"


def track_record(key: SigningKey, title: str, name: str | None, signed: str) -> Any:
    fields = {"title": title, "artist": key.did, "duration": 200.0,
              "format": "audio/ogg", "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu",
              "cidProfile": "unixfs-v1-2025", "size": 1000,
              "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87&dn=x.ogg&xl=1000",
              "released": "2026-11-21", "license": "CC0-1.0"} | ({"artistName": name} if name else {})
    return verify_track(sign_track(build_track(fields), key, signed))


def library_with(tmp_path: Path, order: list[Any]) -> Library:
    lib = Library(tmp_path / "library.sqlite3")
    for n, record in enumerate(order):  # one catalog version per record: arrival order as given
        lib.store_catalog(CatalogRow(ARTIST.did, f"{n:040x}", b"", "x", n + 1, 1, float(n)), [record], follow=True)
    return lib


def test_the_newest_signed_track_record_names_the_artist_whatever_the_arrival_order(tmp_path: Path) -> None:
    old = track_record(ARTIST, "Old", "Old Name", "2026-01-01T00:00:00Z")
    new = track_record(ARTIST, "New", "New Name", "2026-06-01T00:00:00Z")
    unnamed = track_record(ARTIST, "Newest", None, "2026-09-01T00:00:00Z")  # no name: skipped
    names = []
    for i, order in enumerate(([old, new, unnamed], [unnamed, new, old], [new, unnamed, old])):
        (tmp_path / str(i)).mkdir()
        with library_with(tmp_path / str(i), order) as lib:
            names.append(artist_names(lib, [ARTIST.did, OTHER.did]))
    assert names == [{ARTIST.did: "New Name"}] * 3  # OTHER has no record: no name


def test_comment_authors_are_named_by_their_own_records_beside_the_did(tmp_path: Path) -> None:
    from osp.apps.http.social import track_social
    from osp.core.settings import Settings
    from osp.node.core import Node

    node = Node(Settings(data_dir=tmp_path))
    try:
        for record in (track_record(ARTIST, "New", "New Name", "2026-06-01T00:00:00Z"),
                       track_record(ARTIST, "Old", "Old Name", "2026-01-01T00:00:00Z")):
            node.library.store_catalog(CatalogRow(ARTIST.did, record.id[-40:], b"", "x", 1, 1, 1.0), [record],
                                       follow=True)
        for key in (ARTIST, OTHER):
            v = verify_social(sign_social(build_social("comment", key.did, {"subject": TRACK, "text": "hi"}), key,
                                          "2026-12-01T10:00:00Z"))
            assert SocialRecords(node.library).add(v, own=False, now=time.time())
        comments = {c["author"]: c for c in track_social(node, TRACK)["comments"]}
        assert comments[ARTIST.did]["authorName"] == "New Name"  # the newest, not the first stored
        assert comments[ARTIST.did]["author"] == ARTIST.did  # the did stays the author
        assert "authorName" not in comments[OTHER.did]
    finally:
        node.close()
