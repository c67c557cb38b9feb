"""``--gateway`` URLs (``parse_gateway_url``, ``Settings.gateways``) and the pure Range-probe
decision (``range_probe_ok``) of issue 7's extra gateways."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.core.errors import CallerError
from osp.core.settings import Settings, parse_gateway_url
from osp.distribution.gateway_client import range_probe_ok
from tests.integration.nodes import osp


@pytest.mark.parametrize("url", ["https://ipfs.example", "http://gw.example:8080/", " https://gw.example/prefix/ ",
                                 "http://127.0.0.9:1"])
def test_good_gateway_urls_are_normalized(url: str) -> None:
    assert parse_gateway_url(url) == url.strip().rstrip("/")


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://gw.example", "http(s) URL"),
    ("gw.example:8080", "http(s) URL"),
    ("https://", "http(s) URL"),
    ("http://gw.example:99999", "bad port"),
    ("https://user:secret@gw.example", "credentials"),
    ("https://user@gw.example", "credentials"),
    ("https://gw.example/?x=1", "query"),
    ("https://gw.example/#frag", "query or fragment"),
])
def test_bad_gateway_urls_are_caller_errors(url: str, why: str) -> None:
    with pytest.raises(CallerError, match=why.replace("(", r"\(").replace(")", r"\)")):
        parse_gateway_url(url)
    with pytest.raises(CallerError):
        Settings(data_dir=Path("/nonexistent"), gateways=(url,))


def test_private_literals_need_allow_private() -> None:
    for url in ("http://127.0.0.1:8080", "http://10.1.2.3", "http://[::1]:80", "http://169.254.169.254"):
        with pytest.raises(CallerError, match="--allow-private-peers"):
            parse_gateway_url(url, allow_private=False)
        assert parse_gateway_url(url, allow_private=True) == url
    assert parse_gateway_url("https://gw.example", allow_private=False) == "https://gw.example"


def test_settings_keeps_gateways_in_order_normalized() -> None:
    s = Settings(data_dir=Path("/nonexistent"), gateways=("https://b.example/", "https://a.example"))
    assert s.gateways == ("https://b.example", "https://a.example")


@pytest.mark.parametrize(("status", "content_range", "body", "ok"), [
    (206, "bytes 0-0/1000", b"x", True),
    (206, "bytes 0-0/1000 ", b"x", True),
    (200, None, b"x" * 1000, False),  # Range ignored: usable only through the block fallback
    (200, "bytes 0-0/1000", b"x", False),
    (206, "bytes 0-0/999", b"x", False),  # another file's length
    (206, "bytes 0-0/*", b"x", False),
    (206, "bytes 0-1/1000", b"xy", False),
    (206, None, b"x", False),
    (404, None, b"", False),
])
def test_range_probe_decision(status: int, content_range: str | None, body: bytes, ok: bool) -> None:
    assert range_probe_ok(status, content_range, body, 1000) is ok


def test_cli_rejects_bad_gateways_clearly(tmp_path: Path) -> None:
    for args in (("node", "--gateway", "https://u:p@gw.example"), ("node", "--gateway", "http://127.0.0.1:9"),
                 ("play", "x", "--gateway", "https://gw.example/?token=1", "-o", "-")):
        proc = osp(tmp_path, *args, check=False, timeout=30)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "--gateway" in proc.stderr and "Traceback" not in proc.stderr
