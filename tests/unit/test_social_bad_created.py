"""A ``created`` no consumer can parse (a leap second, 2026-02-30) is refused at
verification (spec §10.1), so it never reaches storage: a peer answer holding one is a bad
answer (nothing of it stored, the holder marked bad by the lookup), a catalog drops that
line and keeps the rest, and storage itself never raises on one (findings 2 and 9)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osp.content.cid import CID, JSON
from osp.core.errors import IntegrityError
from osp.core.settings import Settings
from osp.discovery.feed import catalog_decode_all, catalog_encode
from osp.identity.keys import SigningKey
from osp.library.social import SocialRecords
from osp.library.store import Library
from osp.node import Node
from osp.records import jcs
from osp.records.envelope import content_id
from osp.records.proof import sign as di_sign
from osp.records.social import VerifiedSocial, build_social, sign_social

TRACK = f"osp:track:{CID.of(b'bad created', codec=JSON)}"
GOOD = "2026-12-01T10:00:00Z"
BAD = ("2026-12-31T23:59:60Z", "2026-02-30T10:00:00Z")


def signed(kind: str, key: SigningKey, created: str = GOOD, **fields: Any) -> dict[str, Any]:
    """A record as a hostile peer signs it: the id and proof are right, ``created`` is whatever it chose."""
    body = {**build_social(kind, key.did, fields), "created": created}
    return di_sign({**body, "id": content_id(f"osp:{kind}:", body)}, key, GOOD)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path / "n", dht=False), clock=lambda: 1_795_000_000.0)
    yield n
    n.close()


@pytest.mark.parametrize("created", BAD)
def test_an_answer_holding_one_is_refused_whole_and_cleanly(node: Node, created: str) -> None:
    key = SigningKey.generate()
    good = [signed("comment", SigningKey.generate(), subject=TRACK, text=f"honest {i}") for i in range(3)]
    bad = signed("like", key, created, subject=TRACK)
    with pytest.raises(IntegrityError, match="created") as exc:
        node.social.take_answer(TRACK, {"records": [*good, bad], "truncated": False}, source="http://198.51.100.9:1")
    assert exc.value.check == "schema"  # what lookup() counts against the holder (bad_peers.mark)
    assert node.social.about(TRACK) == []
    # the same honest records from an honest holder are all stored
    assert node.social.take_answer(TRACK, {"records": good, "truncated": False}, source="http://198.51.100.8:1") == 3


@pytest.mark.parametrize("created", BAD)
def test_a_catalog_drops_that_line_and_keeps_the_others(created: str) -> None:
    key = SigningKey.generate()
    good = signed("comment", key, subject=TRACK, text="kept")
    bad = signed("like", key, created, subject=TRACK)
    catalog = catalog_decode_all(catalog_encode([jcs(good), jcs(bad)]), key.did)
    assert [v.id for v in catalog.social] == [good["id"]]


@pytest.mark.parametrize("created", [*BAD, "not a date"])
def test_storage_refuses_rather_than_raises(tmp_path: Path, created: str) -> None:
    """Defence in depth: a record that skipped verification with such a date is refused, the batch goes on."""
    key = SigningKey.generate()
    good = sign_social(build_social("like", key.did, {"subject": TRACK}), key, GOOD)
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library)
        bad = VerifiedSocial(signed("comment", key, created, subject=TRACK, text="x"))
        assert repo.add_many([bad, VerifiedSocial(good)], own=False, now=1_795_000_000.0) == 1
        assert [r.id for r in repo.about(TRACK)] == [good["id"]]
