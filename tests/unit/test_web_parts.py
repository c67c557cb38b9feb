"""Pure parts of the web app's backend: upload file names and the playlists repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.apps.web.uploads import MAX_NAME_BYTES, sanitize_name
from osp.content.cid import CID, JSON
from osp.core.errors import CallerError, ConflictError, NotFoundError
from osp.library import Library
from osp.library.playlists import Playlists


@pytest.mark.parametrize(("given", "expected"), [
    ("song.ogg", "song.ogg"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\track.flac", "track.flac"),
    (".hidden.mp3", "hidden.mp3"),
    ("..", "upload"),
    ("", "upload"),
    ("a\x00b\x1b[31m.ogg", "a_b_[31m.ogg"),
    ('what?<>|*:".wav', "what_______.wav"),
    ("Cafe\u0301.ogg", "Caf\u00e9.ogg"),
    ("  spaced  .ogg ", "spaced  .ogg"),
])
def test_upload_names_become_one_safe_path_component(given: str, expected: str) -> None:
    assert sanitize_name(given) == expected


def test_long_upload_names_keep_their_extension() -> None:
    name = sanitize_name("\u00e9" * 500 + ".opus")
    assert name.endswith(".opus") and len(name.encode()) <= MAX_NAME_BYTES and "/" not in name


def test_playlists_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import osp.library.playlists as module

    track = f"osp:track:{CID.of(b'track', codec=JSON)}"
    with Library(tmp_path / "library.sqlite3") as library:
        repo = Playlists(library)
        first = repo.create("Mix", [track, track], now=10.0)
        assert first.tracks == (track, track) and first.created == first.updated == 10.0
        assert repo.get(first.id) == first and repo.all() == [first]
        second = repo.replace(first.id, 20.0, tracks=[])
        assert second.name == "Mix" and second.tracks == () and (second.created, second.updated) == (10.0, 20.0)
        with pytest.raises(CallerError):
            repo.replace(first.id, 21.0, name=" ")
        with pytest.raises(NotFoundError):
            repo.get("pl-" + "x" * 16)
        with pytest.raises(NotFoundError):
            repo.get("'; DROP TABLE playlists; --")
        monkeypatch.setattr(module, "MAX_PLAYLISTS", 2)
        repo.create("Two", None, now=30.0)
        with pytest.raises(ConflictError):
            repo.create("Three", None, now=31.0)
        repo.delete(first.id)
        with pytest.raises(NotFoundError):
            repo.delete(first.id)
    with Library(tmp_path / "library.sqlite3") as library:  # kept across a restart
        assert [p.name for p in Playlists(library).all()] == ["Two"]


def test_share_links_point_where_browsers_elsewhere_reach_the_share_listener(tmp_path: Path) -> None:
    from osp.apps.http.shapes import share_link
    from osp.core.settings import Settings
    from osp.node.core import Node

    cases = [({}, "http://127.0.0.1:8789"),
             ({"public_url": "https://music.example.org:8787/"}, "https://music.example.org:8789"),
             ({"public_url": "http://[2001:db8::1]:8787"}, "http://[2001:db8::1]:8789"),
             ({"public_url": "http://203.0.113.5:8787", "share_public_url": "https://share.example.org/"},
              "https://share.example.org")]
    for i, (given, base) in enumerate(cases):
        node = Node(Settings(data_dir=tmp_path / str(i), dht=False, **given))  # type: ignore[arg-type]
        try:
            assert share_link(node, "osp:track:x") is None  # no share listener bound yet
            node.share_url = "http://127.0.0.1:8789"
            assert node.public_share_url == base
            assert share_link(node, "osp:track:x") == f"{base}/t/osp:track:x"
        finally:
            node.close()
