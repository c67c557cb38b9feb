"""A peer's words reach the terminal without control or bidi characters: ``osp comments``
and ``osp playlist ls --published`` print what hostile authors wrote (escape sequences that
retitle the window, clear the screen or fake output lines; a right-to-left override)."""

from __future__ import annotations

import time
from pathlib import Path

from osp.content.cid import CID, JSON
from osp.identity import SigningKey
from osp.library.social import SocialRecords
from osp.library.store import Library
from osp.records.social import VerifiedSocial, build_social, sign_social, verify_social
from tests.integration.nodes import osp

TRACK = f"osp:track:{CID.of(b'cli output', codec=JSON)}"
HOSTILE = "nice\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\x1b[0m\r\x1b[1A\x1b[2Kfake line\u202egnp.exe"


def test_hostile_text_is_printed_inert(tmp_path: Path) -> None:
    osp(tmp_path, "id", "init")
    peer = SigningKey.from_seed(bytes(range(7, 39)))
    made = [("comment", {"subject": TRACK, "text": HOSTILE}),
            ("flag", {"subject": TRACK, "reason": "spam", "text": HOSTILE}),
            ("playlist", {"playlist": "pl-AbCdEfGhIjKlMnOp", "seq": 1, "title": HOSTILE, "tracks": [TRACK]})]
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library)
        for kind, fields in made:
            v = verify_social(sign_social(build_social(kind, peer.did, fields), peer, "2026-12-01T10:00:00Z"))
            assert repo.add(v, own=False, now=time.time())
    shown = osp(tmp_path, "comments", TRACK).stdout + osp(tmp_path, "playlist", "ls", "--published").stdout
    assert shown.count("fake line") == 3 and "RED" in shown
    assert not any(ch in shown for ch in "\x1b\x07\r\u202e"), repr(shown)


def test_hidden_comments_are_marked_and_listed_last_and_bad_offsets_refused(tmp_path: Path) -> None:
    osp(tmp_path, "id", "init")
    spammer, friend = SigningKey.from_seed(bytes(range(8, 40))), SigningKey.from_seed(bytes(range(9, 41)))
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library)
        made = []
        for key, fields in ((spammer, {"text": "buy now", "at": 1.0}), (friend, {"text": "lovely intro", "at": 30.0}),
                            (spammer, {"text": "me too"}), (friend, {"text": "thanks"})):
            if fields["text"] == "thanks":
                fields["replyTo"] = made[1].id  # a reply to the intro comment, made after the others
            v = verify_social(sign_social(build_social("comment", key.did, {"subject": TRACK, **fields}),
                                          key, f"2026-12-01T10:00:0{len(made)}Z"))
            assert repo.add(v, own=False, now=time.time())
            made.append(v)
    osp(tmp_path, "flag", spammer.did, "--reason", "spam")
    lines = [line for line in osp(tmp_path, "comments", TRACK).stdout.splitlines() if ": " in line]
    assert "lovely intro" in lines[0] and lines[1].strip().startswith("↳") and "thanks" in lines[1], lines
    assert all(line.startswith("HIDDEN (flagged spam by you) ") for line in lines[2:4]), lines
    assert "buy now" in lines[2] and "me too" in lines[3], lines
    for bad in ("nan", "inf", "90000"):
        proc = osp(tmp_path, "comment", TRACK, "hi", "--at", bad, check=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_comments_show_trusted_likes_first_and_names_beside_the_did(tmp_path: Path) -> None:
    osp(tmp_path, "id", "init")
    friend = SigningKey.from_seed(bytes(range(10, 42)))
    sybils = [SigningKey.from_seed(bytes([200, n]) + bytes(30)) for n in range(5)]
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library)
        for key in (friend, *sybils):
            v = verify_social(sign_social(build_social("like", key.did, {"subject": TRACK}), key, "2026-12-01T10:00:00Z"))
            assert repo.add(v, own=False, now=time.time())
        v = verify_social(sign_social(build_social("comment", friend.did, {"subject": TRACK, "text": "ok"}), friend,
                                      "2026-12-01T10:00:01Z"))
        assert repo.add(v, own=False, now=time.time())
    osp(tmp_path, "follow", friend.did)
    shown = osp(tmp_path, "comments", TRACK).stdout
    assert shown.startswith("1 trusted like (6 in all), 1 comment, 0 flags"), shown
    assert f"{friend.did[:24]}…: ok" in shown  # no name claimed here: the did


def test_a_flood_of_comments_is_capped_with_yours_shown_and_the_rest_counted(tmp_path: Path) -> None:
    osp(tmp_path, "id", "init")
    osp(tmp_path, "comment", TRACK, "mine, before the flood")
    stranger = SigningKey.from_seed(bytes(range(10, 42)))
    template = sign_social(build_social("comment", stranger.did, {"subject": TRACK, "text": "spam"}), stranger,
                           "2026-12-01T10:00:00Z")
    # copies with their own id and author (600 signatures would be slow; the view verifies nothing again)
    flood = [VerifiedSocial({**template, "id": f"osp:comment:bflood{i:04d}", "author": f"did:key:z6MkFlood{i:04d}"})
             for i in range(600)]
    with Library(tmp_path / "library.sqlite3") as library:
        assert SocialRecords(library).add_many(flood, own=False, now=time.time()) == 600
    shown = osp(tmp_path, "comments", TRACK).stdout
    assert "601 comments" in shown and "mine, before the flood" in shown, shown[:300]
    assert shown.count("spam") == 499 and "101 more comments not shown (lowest trust)" in shown, shown[-300:]
