"""Bulk import of a hostile folder (``osp.node.bulk``): a FIFO swapped in for an audio
file after the walk, a FIFO named ``cover.jpg``, a FIFO given as the artwork path.  Each is
refused with a reason, never waited on, and the rest of the run goes on.  Real audio,
a real library-level node."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.content.artwork import read_image
from osp.core.errors import UnsupportedMediaError
from osp.core.settings import Settings
from osp.node.bulk import FileDone, ImportEvent, Planned, import_paths
from osp.node.core import Node
from osp.node.publish import TrackMetadata


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path / "data", dht=False))
    n.keystore.create()
    yield n
    n.close()


def bounded(fn: object, within: float = 30) -> object:
    """``fn()``'s result, run on a thread; fails the test if it is still blocked after
    ``within`` seconds (what a FIFO did to the reader before)."""
    out: list[object] = []

    def target() -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(within)
    assert out, f"still blocked after {within} s"
    return out[0]


def test_a_fifo_swapped_in_after_the_walk_is_refused_and_the_run_goes_on(node: Node, tmp_path: Path,
                                                                       audio_files: dict[str, Path]) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy(audio_files["mp3"], folder / "a.mp3")
    shutil.copy(audio_files["ogg"], folder / "b.ogg")
    mkfifo = os.mkfifo  # the peer-sync tool that owns the folder swaps a.mp3 for a FIFO

    def on_event(event: ImportEvent) -> None:
        if isinstance(event, Planned):
            (folder / "a.mp3").unlink()
            mkfifo(folder / "a.mp3")

    done: list[FileDone] = []
    summary = bounded(lambda: import_paths(node, [folder], TrackMetadata(),
                                           on_event=lambda e: (on_event(e), isinstance(e, FileDone) and done.append(e))))
    assert not isinstance(summary, BaseException), summary
    by_name = {e.path.name: e for e in done}
    assert by_name["a.mp3"].status == "refused" and by_name["a.mp3"].error is not None
    assert "not a regular file" in by_name["a.mp3"].error.message
    assert by_name["b.ogg"].status == "published"


def test_a_fifo_named_cover_or_given_as_artwork_is_never_waited_on(node: Node, tmp_path: Path,
                                                                  audio_files: dict[str, Path]) -> None:
    folder = tmp_path / "album"
    folder.mkdir()
    shutil.copy(audio_files["ogg"], folder / "b.ogg")
    os.mkfifo(folder / "cover.jpg")
    done: list[FileDone] = []
    summary = bounded(lambda: import_paths(node, [folder], TrackMetadata(),
                                           on_event=lambda e: isinstance(e, FileDone) and done.append(e)))
    assert not isinstance(summary, BaseException), summary
    by_name = {e.path.name: e for e in done}
    assert by_name["b.ogg"].status == "published" and by_name["b.ogg"].track is not None
    assert "artwork" not in by_name["b.ogg"].track.record
    assert by_name["cover.jpg"].status == "refused"  # not a regular file: reported, not read
    error = bounded(lambda: read_image(folder / "cover.jpg"))  # POST /api/artwork {"path": a FIFO}
    assert isinstance(error, UnsupportedMediaError) and "not a regular file" in error.message
