"""URLs the user types for ``--peer`` (issue 7 user pass): paths are appended to them, so a
query or fragment is a bad argument (exit 2), not a peer that "does not have the track"."""

from __future__ import annotations

import pytest

from osp.core.errors import CallerError
from osp.distribution.peer_client import typed_base_url


@pytest.mark.parametrize("url", ["http://127.0.0.2:7002?x=1", "http://127.0.0.2:7002/#top", "http://127.0.0.2:7002?",
                                 "https://node.example/osp#"])
def test_a_peer_url_with_a_query_or_fragment_is_refused(url: str) -> None:
    with pytest.raises(CallerError, match="query or fragment"):
        typed_base_url(url)


@pytest.mark.parametrize(("url", "base"), [("http://127.0.0.2:7002/", "http://127.0.0.2:7002"),
                                           (" https://node.example/osp/ ", "https://node.example/osp")])
def test_a_peer_url_keeps_its_path(url: str, base: str) -> None:
    assert typed_base_url(url) == base
