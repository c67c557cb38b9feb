"""Pure pieces of the HTTP edge: Range parsing (RFC 9110 §14) and listener sizing."""

from __future__ import annotations

import pytest

from osp.apps.http.listener import connection_caps, source_keys
from osp.distribution.gateway import RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=0-999", (0, 99)),
        ("bytes=0-" + "9" * 30, (0, 99)),  # a huge last position is clamped
        ("bytes=-" + "9" * 30, (0, 99)),  # a huge suffix is the whole file
        ("bytes=" + "9" * 4301 + "-", None),  # absurdly long: ignored, never int() of 4301 digits
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=x-y", None),
        ("bytes=0007-0009", (7, 9)),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=" + "9" * 30 + "-", "bytes=-0", "bytes=9-3"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_connection_caps_fit_the_descriptor_limit() -> None:
    assert connection_caps(65536) == (512, 64)
    peer, control = connection_caps(256)
    assert peer + control < 256 * 3 // 4 and control >= 8 and peer > control
    assert connection_caps(16) == (16, 8)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("203.0.113.7", ("203.0.113.7", "203.0.113.0/24")),
        ("::ffff:203.0.113.7", ("203.0.113.7", "203.0.113.0/24")),  # IPv4-mapped counts as IPv4
        ("2001:db8:1:2:3:4:5:6", ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")),
        ("fe80::1%eth0", ("fe80::1", "fe80::/64")),
        ("unix-socket", ("unix-socket", "unix-socket")),
    ],
)
def test_source_keys_group_addresses_by_network(host: str, expected: tuple[str, str]) -> None:
    assert source_keys(host) == expected
