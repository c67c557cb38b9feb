"""Network flags to Settings (``osp.apps.cli.network_cmds._node_settings``): a private bootstrap."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.apps.cli.base import Ctx
from osp.apps.cli.network_cmds import _node_settings


@pytest.mark.parametrize(("bootstrap", "private"), [
    ((), False), (("1.1.1.1:6881",), False),
    (("127.0.0.1:6881",), True), (("192.168.1.5:6881",), True), (("[::1]:6881",), True),
    (("1.1.1.1:6881", "127.0.0.11:40000"), True),
])
def test_a_loopback_or_private_bootstrap_allows_private_peers(tmp_path: Path, bootstrap: tuple[str, ...],
                                                              private: bool) -> None:
    settings = _node_settings(Ctx(tmp_path, None), "0.0.0.0:0", "127.0.0.1:0", "127.0.0.1:0", True, bootstrap, False)
    assert settings.allow_private_peers is private
    assert _node_settings(Ctx(tmp_path, None), "0.0.0.0:0", "127.0.0.1:0", "127.0.0.1:0", True, (), True).allow_private_peers
