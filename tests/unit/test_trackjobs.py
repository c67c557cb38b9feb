"""The background per-track work runner (osp.node.trackjobs): resumable, failures stored
by the step or skipped until restart, never a busy loop."""

from __future__ import annotations

from pathlib import Path

from osp.core.settings import Settings
from osp.library.store import TrackRow
from osp.node import Node, TrackMetadata
from osp.node.trackjobs import TrackJobs


class Recorder:
    """A step that handles each track once (its own 'table' is a set)."""

    name = "recorder"

    def __init__(self, *, broken: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.done: dict[str, Path | None] = {}
        self.broken = broken
        self.calls = 0

    def pending(self, node: Node, limit: int) -> list[TrackRow]:
        return [t for t in node.library.tracks() if t.id not in self.done][:limit]

    def run(self, node: Node, track: TrackRow, path: Path | None) -> None:
        self.calls += 1
        if track.title in self.broken:
            raise RuntimeError("a step's bug")
        self.done[track.id] = path


def test_every_track_is_handled_once_with_its_file(tmp_path: Path, music: list[Path]) -> None:
    node = Node(Settings(data_dir=tmp_path, dht=False))
    node.keystore.create()
    try:
        ids = [node.publish(p, TrackMetadata(title=f"t{i}")).track.id for i, p in enumerate(music)]
        step = Recorder()
        jobs = TrackJobs(node, [step])
        assert jobs.run_pending() == len(ids)
        assert set(step.done) == set(ids)
        assert all(p is not None and p.is_file() and p.parent == node.settings.media_dir for p in step.done.values())
        assert jobs.run_pending() == 0, "nothing pending twice"
    finally:
        node.close()


def test_a_failing_track_is_skipped_not_retried_in_a_loop(tmp_path: Path, music: list[Path]) -> None:
    node = Node(Settings(data_dir=tmp_path, dht=False))
    node.keystore.create()
    try:
        for i, p in enumerate(music):
            node.publish(p, TrackMetadata(title=f"t{i}"))
        step = Recorder(broken={"t0"})
        jobs = TrackJobs(node, [step])
        jobs.run_pending()
        assert len(step.done) == len(music) - 1
        calls = step.calls
        assert jobs.run_pending() == 0 and step.calls == calls, "the broken track is not retried until restart"
    finally:
        node.close()


def test_the_thread_wakes_on_publish_and_goes_idle(tmp_path: Path, music: list[Path]) -> None:
    node = Node(Settings(data_dir=tmp_path, dht=False))
    node.keystore.create()
    step = Recorder()
    node.jobs = jobs = TrackJobs(node, [step], interval=3600)  # only a poke can wake it
    try:
        jobs.start()
        assert jobs.wait_idle(20)
        track = node.publish(music[0], TrackMetadata()).track  # Library.on_track_added pokes
        assert jobs.wait_idle(20) and track.id in step.done
    finally:
        node.close()
