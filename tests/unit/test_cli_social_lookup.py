"""``osp comments TRACK --lookup S`` says on stderr when the network lookup reached nobody
(the running node's ``lookup`` report: DHT off, unreachable, no holders, no answer) instead
of printing only what this node held as if the network had been asked."""

from __future__ import annotations

import pytest

from osp.apps.cli.social_cmds import _say_lookup


@pytest.mark.parametrize(("report", "said"), [
    ({"dht": "unreachable", "asked": 0, "answered": 0}, "no peers answered (the DHT is unreachable)"),
    ({"dht": "ok", "asked": 0, "answered": 0}, "no peers answered (no holders of this track's key on the DHT)"),
    ({"dht": "ok", "asked": 3, "answered": 0}, "no peers answered (3 holders asked)"),
    ({"dht": "off", "asked": 0, "answered": 0}, "the running node has no DHT"),
    ({"dht": "ok", "asked": 3, "answered": 2}, "2 peers of 3 asked answered"),
])
def test_the_lookup_is_reported(report: dict[str, object], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    _say_lookup(report)
    captured = capsys.readouterr()
    assert said in captured.err and captured.out == ""
