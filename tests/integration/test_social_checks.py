"""What a person types into ``osp like``/``comment``/``flag``/``endorse`` (and the control API's
``POST /api/social``) is checked against the node's knowledge before it is signed, and a
refusal says what was expected in plain words (``osp.node.social_checks``): never a
JSON-Schema regex; a comment past the track's end, a reply to a comment on another track,
a self-endorsement and a track flagged as its own duplicate are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.content.cid import CID, JSON
from osp.core.settings import Settings
from osp.node import Node
from osp.node.publish import TrackMetadata
from osp.node.social import LookupReport
from tests.integration.nodes import node_server, osp

ELSEWHERE = f"osp:track:{CID.of(b'checks elsewhere', codec=JSON)}"
UNKNOWN_COMMENT = "osp:comment:bagaaieraxhbdeffpg5jg2ru3zf2hbsuf4oq7uhwkz3pzh2d5pa6ni6y3ifna"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeServer]:
    with node_server(tmp_path_factory.mktemp("social-checks"), "127.0.0.45") as server:
        yield server


def api(srv: NodeServer, body: dict[str, object]) -> httpx.Response:
    return httpx.post(srv.control_url + "/api/social", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {srv.token}"})


def refused(srv: NodeServer, body: dict[str, object]) -> str:
    answer = api(srv, body)
    assert answer.status_code == 400, answer.text
    message = str(answer.json()["message"])
    assert "does not match" not in message and "^" not in message, message
    return message


def test_the_api_refuses_in_plain_words(srv: NodeServer, music: list[Path]) -> None:
    track = srv.node.publish(music[0], TrackMetadata(title="Checked")).track
    duration = float(track.record["duration"])
    comment = api(srv, {"kind": "comment", "subject": track.id, "text": "intro"}).json()["id"]

    assert refused(srv, {"kind": "like", "subject": comment}) == \
        "expected a track id (osp:track:…), got a comment id (osp:comment:…)"
    assert "got 'bogus'" in refused(srv, {"kind": "endorsement", "subject": "bogus"})
    assert "malformed or unusable did:key" in refused(srv, {"kind": "flag", "subject": "did:key:z6Mkxx",
                                                             "reason": "spam"})
    assert "not only spaces" in refused(srv, {"kind": "comment", "subject": track.id, "text": "   "})
    assert "yourself" in refused(srv, {"kind": "endorsement", "subject": srv.node.signing_key().did})
    assert "duplicate of itself" in refused(srv, {"kind": "flag", "subject": track.id, "reason": "duplicate",
                                                  "duplicateOf": track.id})
    past = refused(srv, {"kind": "comment", "subject": track.id, "text": "outro", "at": duration + 5})
    assert "past the end of the track" in past, past
    assert "another track" in refused(srv, {"kind": "comment", "subject": ELSEWHERE, "text": "re",
                                            "replyTo": comment})

    # what is allowed: the last second, a track not known here (no duration to compare), a reply
    # to a comment of the same track, a reply to a comment not known here
    for body in ({"kind": "comment", "subject": track.id, "text": "end", "at": duration},
                 {"kind": "comment", "subject": ELSEWHERE, "text": "late", "at": duration + 5},
                 {"kind": "comment", "subject": track.id, "text": "re", "replyTo": comment},
                 {"kind": "comment", "subject": track.id, "text": "re?", "replyTo": UNKNOWN_COMMENT}):
        assert api(srv, body).status_code == 200, body


def test_a_lookup_says_what_it_reached(srv: NodeServer, tmp_path: Path) -> None:
    view = httpx.get(f"{srv.control_url}/api/tracks/{ELSEWHERE}/social?lookup=1", timeout=30,
                     headers={"Authorization": f"Bearer {srv.token}"}).json()
    assert view["lookup"] == {"dht": "off", "asked": 0, "answered": 0}
    lonely = Node(Settings(data_dir=tmp_path / "lonely", dht=True, bootstrap=(("127.0.0.9", 9),),
                           allow_private_peers=True, listen=("127.0.0.46", 0)))
    try:
        lonely.start_engine()
        report = LookupReport()
        assert lonely.social.lookup(ELSEWHERE, 1.0, report) == 0
        assert report.dht == "unreachable"
    finally:
        lonely.close()


def test_the_cli_says_it_plainly(tmp_path: Path) -> None:
    osp(tmp_path, "id", "init")
    for args, said in ((("like", UNKNOWN_COMMENT), "osp like: expected a track id (osp:track:…), got a comment id"),
                       (("endorse", "bogus"), "osp endorse: expected a did:key (did:key:z6Mk…), got 'bogus'"),
                       (("flag", "did:key:z6Mkxx", "--reason", "spam"), "osp flag: expected a track id"),
                       (("comment", ELSEWHERE, " "), "osp comment: a comment needs some text"),
                       (("flag", ELSEWHERE, "--reason", "duplicate", "--duplicate-of", ELSEWHERE),
                        "osp flag: --duplicate-of: a track is not a duplicate of itself"),
                       (("comment", ELSEWHERE, "re", "--reply-to", ELSEWHERE),
                        "osp comment: --reply-to: expected a comment id (osp:comment:…), got a track id")):
        proc = osp(tmp_path, *args, check=False)
        assert proc.returncode == 2 and said in proc.stderr, proc.stderr
        assert "does not match" not in proc.stderr and "Traceback" not in proc.stderr
