"""Text a hostile file or peer wrote never reaches the terminal as control sequences:
rich (markup off) drops BEL/BS/CR but passes ESC, so an OSC/CSI sequence in a C2PA
manifest's fields, a tag or a file name would drive the user's terminal."""

from __future__ import annotations

import pytest

from osp.apps.cli.c2pa_cmds import _print_credential
from osp.apps.cli.import_cmds import _Display

EVIL = "x\x1b]0;owned\x07\x1b[2J\x1b[31mred\u202e"


def test_a_credential_from_a_hostile_manifest_prints_no_escape(capsys: pytest.CaptureFixture[str]) -> None:
    _print_credential({"state": "invalid", "message": EVIL, "signer": EVIL, "issuer": EVIL, "claimGenerator": EVIL,
                       "digitalSourceType": EVIL, "softwareAgent": EVIL, "signedAt": EVIL,
                       "ingredients": [{"title": EVIL, "format": EVIL, "hash": EVIL}],
                       "errors": [{"code": EVIL, "text": EVIL}]})
    printed = capsys.readouterr()
    assert "owned" in printed.out and "\x1b" not in printed.out and "\u202e" not in printed.out


def test_import_lines_from_hostile_names_and_tags_print_no_escape(capsys: pytest.CaptureFixture[str]) -> None:
    show = _Display(None, as_json=False)
    show({"planned": {"files": 2, "bytes": 2}})
    show({"file": f"/music/{EVIL}.mp3", "status": "published", "title": EVIL, "id": "osp:track:b", "size": 1,
          "notes": [EVIL]})
    show({"file": f"/music/{EVIL}.ogg", "status": "refused", "message": f"{EVIL}.ogg: {EVIL}", "size": 1})
    printed = capsys.readouterr()
    assert printed.out.count("owned") == 3 and printed.err.count("owned") == 2
    assert "\x1b" not in printed.out + printed.err and "\u202e" not in printed.out + printed.err
