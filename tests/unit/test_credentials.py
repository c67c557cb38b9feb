"""The API token file's mode and the players' stream credentials (issue 6, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.apps.http.credentials import check_stream_credential, ensure_token, read_token, stream_credential
from osp.core.errors import CallerError

TOKEN = "t" * 43


def test_a_token_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "api-token"
    token = ensure_token(path)
    assert path.stat().st_mode & 0o777 == 0o600 and read_token(path) == token
    for mode in (0o640, 0o604, 0o620):
        path.chmod(mode)
        with pytest.raises(CallerError, match="chmod 600"):
            read_token(path)
        with pytest.raises(CallerError, match="chmod 600"):
            ensure_token(path)
    path.chmod(0o600)
    assert ensure_token(path) == token


def test_stream_credential_is_bound_to_track_token_and_time() -> None:
    cred = stream_credential(TOKEN, "osp:track:a", now=1000.0, ttl=60)
    assert check_stream_credential(TOKEN, cred, "osp:track:a", now=1059.0)
    assert not check_stream_credential(TOKEN, cred, "osp:track:a", now=1060.0)  # expired
    assert not check_stream_credential(TOKEN, cred, "osp:track:b", now=1001.0)  # another track
    assert not check_stream_credential("u" * 43, cred, "osp:track:a", now=1001.0)  # another node's token
    expires, mac = cred.split(".")
    assert not check_stream_credential(TOKEN, f"{int(expires) + 3600}.{mac}", "osp:track:a", now=1001.0)
    assert TOKEN not in cred
    for junk in ("", ".", "x.y", "9" * 40 + ".abc", TOKEN, "\u00b2\u00b2.x", "\u0661\u0662.x", "\u00b9" * 3 + "." + mac):
        assert not check_stream_credential(TOKEN, junk, "osp:track:a", now=1001.0)


def test_non_ascii_digits_are_not_numbers_anywhere_a_peer_writes_one() -> None:
    """``str.isdigit`` is true for '²'; ``int('²')`` raises (a 500 with a traceback, found by review)."""
    from osp.core.settings import parse_hostport
    from osp.distribution.gateway import parse_range
    from osp.distribution.magnet import parse_magnet

    assert parse_range("bytes=\u00b2-", 100) is None
    assert parse_range("bytes=\u0661-", 100) is None
    magnet = parse_magnet("magnet:?xt=urn:btih:" + "a" * 40 + "&xl=\u00b2\u00b2")
    assert magnet.infohash == "a" * 40
    with pytest.raises(CallerError):
        parse_hostport("127.0.0.1:\u00b2")
