"""Pure parts of the web app's backend: upload file names and the playlists repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from osp.apps.web.uploads import MAX_NAME_BYTES, sanitize_name
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

    track = "osp:track:bagaaiera" + "a" * 50
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
