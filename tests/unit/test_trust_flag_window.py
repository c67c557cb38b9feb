"""The trust graph reads flags only from identities whose flags can weigh
(``TrustGraph.reachable``): a flood of outsiders' flags cannot push a trusted flag out of
the ``MAX_FLAGS`` window (``osp.library.trust.flags``, newest received first)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.core.settings import Settings
from osp.identity.keys import SigningKey
from osp.library.social import SocialRecords
from osp.library.trust import MAX_FLAGS
from osp.node.core import Node
from osp.records.social import build_social, sign_social, verify_social
from osp.social.trust import TrustGraph

FRIEND, FLOODER, HONEST, CURATOR = (SigningKey.from_seed(bytes([n]) * 32) for n in (21, 22, 23, 24))
CREATED = "2026-12-03T05:00:00Z"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path))
    n.keystore.create()
    n.signing_key()
    yield n
    n.close()


def add(node: Node, key: SigningKey, kind: str, now: float, **fields: object) -> None:
    v = verify_social(sign_social(build_social(kind, key.did, fields), key, CREATED))
    assert SocialRecords(node.library).add(v, own=False, now=now)


def test_a_flood_of_untrusted_flags_does_not_hide_a_trusted_one(node: Node) -> None:
    now = time.time()
    node.library.add_follow(FRIEND.did, audio=False, now=now)
    add(node, FRIEND, "endorsement", now, subject=HONEST.did)
    add(node, FRIEND, "flag", now, subject=HONEST.did, reason="spam")
    # MAX_FLAGS + 1 flags by an identity outside the web of trust, all received later (rows
    # written directly: signing 200,001 records would take minutes; the graph reads columns)
    body = json.dumps({"type": "osp:Flag", "reason": "spam"}).encode()
    flooder = FLOODER.did
    rows = [(f"osp:flag:flood{i}", "flag", flooder, f"did:key:z6Mkflooded{i % 97}", CREATED, body, "peer",
             now + 1 + i * 1e-6) for i in range(MAX_FLAGS + 1)]
    with node.library.transaction() as db:
        db.executemany("INSERT INTO social (id, kind, author, subject, created, record, origin, received) "
                       "VALUES (?,?,?,?,?,?,?,?)", rows)
    scores = node.trust.refresh()
    assert scores.base_score(HONEST.did) > 0
    assert scores.score(HONEST.did) < scores.base_score(HONEST.did) / 2  # FRIEND's flag still weighs
    assert all(mark.flagger != FLOODER.did for mark in scores.flags)  # the flood is never read


def test_reachable_is_the_listener_curators_and_whom_they_reach() -> None:
    graph = TrustGraph("me", lists=["curator", "lonely-curator"])
    graph.edges([("me", "follow", "a"), ("a", "endorsement", "b"), ("x", "follow", "me"), ("curator", "follow", "c"),
                 ("y", "endorsement", "z")])
    assert sorted(graph.reachable()) == ["a", "b", "c", "curator", "lonely-curator", "me"]
    assert TrustGraph("me").reachable() == ["me"]
