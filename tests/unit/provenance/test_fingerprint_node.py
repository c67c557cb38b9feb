"""Near-duplicate detection in a node's library: the background step, the rule (another
artist's earlier track flags the later one; the same artist's is a note), the index rows."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from osp.core.settings import Settings
from osp.identity import SigningKey
from osp.library import fingerprints as repo
from osp.node import Node
from osp.node import fingerprints as nfp
from osp.node.publish import TrackMetadata, publish_file
from tests.conftest import need

OTHER = SigningKey.from_seed(bytes(range(1, 33)))  #: another artist, whose track this node holds


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> dict[str, Path]:
    """Opus 32k and MP3 64k re-encodes of the first track, its first 20 s cut off."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    need(shutil.which("fpcalc") is not None, "fpcalc (libchromaprint-tools)")
    out = tmp_path_factory.mktemp("copies")
    made = {"opus": out / "reup.opus", "mp3": out / "mine.mp3"}
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "20", "-i", str(music[0]), "-c:a", "libopus", "-b:a", "32k",
                    "-metadata", "title=Totally New Song", str(made["opus"])], check=True, timeout=120)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(music[0]), "-c:a", "libmp3lame", "-b:a", "64k",
                    "-metadata", "title=My Remaster", str(made["mp3"])], check=True, timeout=120)
    return made


def _node(tmp: Path) -> Node:
    node = Node(Settings(data_dir=tmp / "n", dht=False, control=("127.0.0.1", 0)))
    node.keystore.create()
    return node


def _theirs(node: Node, path: Path, released: str) -> str:
    """A track of the OTHER artist in this node's library (as a fetch would leave it)."""
    return publish_file(path, TrackMetadata(title="Original Intro", artist_name="Frozen Team", released=released),
                        key=OTHER, library=node.library, media_dir=node.settings.media_dir).track.id


def test_a_reupload_of_another_artists_earlier_track_is_flagged(tmp_path: Path, music: list[Path],
                                                               copies: dict[str, Path]) -> None:
    node = _node(tmp_path)
    try:
        original = _theirs(node, music[0], "2020-05-01")
        unrelated = node.publish(music[2], TrackMetadata(title="Unrelated")).track.id
        reup = node.publish(copies["opus"], TrackMetadata(released="2024-01-01")).track.id
        assert nfp.duplicates_view(node, reup) is None  # not fingerprinted yet: unknown
        assert node.jobs.run_pending(only=["fingerprint"]) == 3
        dups = nfp.duplicates_view(node, reup)
        assert dups is not None and len(dups) == 1
        d = dups[0]
        assert d["id"] == original and d["title"] == "Original Intro" and d["artistName"] == "Frozen Team"
        assert d["released"] == "2020-05-01" and not d["own"] and abs(d["offset"] - 20.0) < 0.5
        assert d["overlap"] > 150 and 0.5 < d["score"] <= 1
        assert nfp.duplicates_view(node, original) == [] and nfp.duplicates_view(node, unrelated) == []
        assert nfp.flags(node, [reup, original, unrelated]) == {reup: original}
        assert nfp.warning_lines(dups) == [
            f'warning: this audio matches "Original Intro" by Frozen Team, released 2020-05-01 (at {d["offset"]:+.1f} s)']
        # the artist's own earlier upload is a note, not a flag
        mine = node.publish(copies["mp3"], TrackMetadata(released="2025-01-01")).track.id
        check = nfp.check_view(node, mine)  # the publish check: fingerprints now, in the caller's thread
        assert check["fingerprinted"] and {(x["id"], x["own"]) for x in check["duplicates"]} == {
            (original, False), (reup, True)}
        assert nfp.flags(node, [mine]) == {mine: original}
        assert node.jobs.run_pending(only=["fingerprint"]) == 0  # done once, not again
        # removing a track drops its fingerprint, its index rows and what it matched
        node.remove(reup)
        assert repo.fingerprint(node.library, reup) is None
        assert nfp.flags(node, [reup]) == {} and all(x["id"] != reup for x in nfp.duplicates_view(node, mine) or [])
        assert not node.library._all("SELECT 1 FROM fp_index WHERE n NOT IN (SELECT n FROM fingerprints)")
    finally:
        node.close()


def test_an_earlier_track_that_arrives_later_flags_the_one_already_here(tmp_path: Path, music: list[Path],
                                                                       copies: dict[str, Path]) -> None:
    node = _node(tmp_path)
    try:
        ours = node.publish(copies["opus"], TrackMetadata(released="2024-01-01")).track.id
        node.jobs.run_pending(only=["fingerprint"])
        assert nfp.duplicates_view(node, ours) == []
        original = _theirs(node, music[0], "2019-01-01")  # fetched later, released earlier
        node.jobs.run_pending(only=["fingerprint"])
        assert nfp.flags(node, [ours, original]) == {ours: original}
        assert abs((nfp.duplicates_view(node, ours) or [{}])[0]["offset"] - 20.0) < 0.5
    finally:
        node.close()


def test_failures_are_stored_and_not_retried(tmp_path: Path, music: list[Path]) -> None:
    node = _node(tmp_path)
    try:
        track = node.publish(music[1], TrackMetadata(title="Gone")).track
        file = node.library.file(track.record["cid"])
        assert file is not None
        (node.settings.data_dir / file.path).unlink()  # deleted by hand before its turn
        assert node.jobs.run_pending(only=["fingerprint"]) == 1 and node.jobs.run_pending(only=["fingerprint"]) == 0
        row = repo.fingerprint(node.library, track.id)
        assert row is not None and row.fp is None and row.error == "no intact audio file here"
        assert nfp.duplicates_view(node, track.id) is None
        assert repo.count(node.library) == (0, 1)
    finally:
        node.close()


def test_without_fpcalc_nothing_is_stored_and_the_tracks_wait(tmp_path: Path, music: list[Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    node = _node(tmp_path)
    try:
        track = node.publish(music[2], TrackMetadata(title="Waits")).track.id
        with monkeypatch.context() as m:
            m.setenv("PATH", str(tmp_path / "empty"))  # no fpcalc on it
            assert node.jobs.run_pending(only=["fingerprint"]) == 0
            assert repo.fingerprint(node.library, track) is None, "no failure stored: not the file's fault"
        need(shutil.which("fpcalc") is not None, "fpcalc (libchromaprint-tools)")
        assert node.jobs.run_pending(only=["fingerprint"]) == 1  # installed: done at the next round
        assert repo.fingerprint(node.library, track) is not None
    finally:
        node.close()
