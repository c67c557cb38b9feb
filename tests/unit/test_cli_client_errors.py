"""The CLI maps a running node's error answers to the README's exit codes: a refused token
or a conflict is local state (2), never the catch-all 1."""

from __future__ import annotations

import httpx
import pytest

from osp.apps.cli.client import ControlClient, RunningNode
from osp.core.errors import OspError


@pytest.mark.parametrize(("status", "code", "exit_code", "says"), [
    (401, "unauthorized", 2, "restart `osp node`"),
    (409, "conflict", 2, "x"),
    (400, "keystore", 2, "x"),
    (415, "unsupported-media", 2, "x"),
    (413, "too-large", 2, "x"),
    (404, "not-found", 2, "x"),
    (502, "peer", 6, "x"),
])
def test_node_errors_keep_their_exit_codes(status: int, code: str, exit_code: int, says: str) -> None:
    client = ControlClient(RunningNode(pid=1, http="http://127.0.0.1:1", control="http://127.0.0.1:2", token="t"))
    with pytest.raises(OspError) as caught:
        client._check(httpx.Response(status, json={"error": code, "message": "x"}))
    assert caught.value.exit_code == exit_code and says in str(caught.value)
