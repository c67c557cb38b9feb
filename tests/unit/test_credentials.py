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


def test_login_codes_are_single_use_expire_and_stay_bounded() -> None:
    from osp.apps.http.credentials import LoginCodes

    codes = LoginCodes(ttl=120, cap=4)
    code, expires = codes.issue(now=1000.0)
    assert expires == 1120.0 and len(code) >= 43
    assert not codes.redeem(code + "x", 1001.0) and not codes.redeem("", 1001.0) and not codes.redeem("a" * 200, 1001.0)
    assert codes.redeem(code, 1119.9)
    assert not codes.redeem(code, 1119.9)  # used up
    late, _ = codes.issue(now=1000.0)
    assert not codes.redeem(late, 1120.0)  # expired (and gone)
    issued = [codes.issue(now=2000.0 + i)[0] for i in range(6)]  # past the cap: the oldest go first
    assert len(codes._codes) == 4
    assert not codes.redeem(issued[0], 2010.0) and not codes.redeem(issued[1], 2010.0)
    assert all(codes.redeem(c, 2010.0) for c in issued[2:])


def test_session_cookie_is_bound_to_token_and_time() -> None:
    from osp.apps.http.credentials import SESSION_TTL, check_session, session_value

    value = session_value(TOKEN, now=1000.0)
    assert value.split(".")[0] == str(1000 + SESSION_TTL) and TOKEN not in value
    assert check_session(TOKEN, value, 1000.0 + SESSION_TTL - 1)
    assert not check_session(TOKEN, value, 1000.0 + SESSION_TTL)  # expired
    assert not check_session("u" * 43, value, 1001.0)  # the token changed: every session ends
    expires, mac = value.split(".")
    assert not check_session(TOKEN, f"{int(expires) + 10 * SESSION_TTL}.{mac}", 1001.0)
    assert not check_session(TOKEN, stream_credential(TOKEN, "session", 1000.0), 1001.0)  # not a stream credential
    for junk in ("", ".", "x.y", "9" * 40 + ".abc", TOKEN, "\u00b2\u00b2.x", f"{expires}.{mac}{'A' * 100}"):
        assert not check_session(TOKEN, junk, 1001.0)
