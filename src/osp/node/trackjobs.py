"""Background work on every track the node holds: fingerprint, analysis, C2PA check.

Each kind of work is a ``TrackStep``: it names the tracks it has not handled yet
(``pending``, usually a query for tracks with no row in its own table) and handles one
(``run``, which stores its result — or the failure, so a bad file is not retried forever).
So the work is resumable: nothing is queued in memory that a crash could lose, a node
that starts catches up, and a publish returns before any of it runs (issue 10: publish
stays within 2× of a publish without it).

One daemon thread at a lowered CPU priority runs the steps in order; ``poke()`` wakes it
(after a publish or a fetch), and it also looks again every ``interval`` seconds.  Tests
and the CLI call ``run_pending()`` to do the work in the calling thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from osp.library.store import TrackRow

if TYPE_CHECKING:
    from osp.node.core import Node

log = logging.getLogger(__name__)

BATCH = 16  #: tracks a step handles before the next step gets its turn


class TrackStep(Protocol):
    """One kind of per-track work (see the module docstring)."""

    name: str

    def pending(self, node: Node, limit: int) -> list[TrackRow]:
        """At most ``limit`` tracks this step has not handled yet, oldest first."""
        ...

    def run(self, node: Node, track: TrackRow, path: Path | None) -> None:
        """Handle one track whose intact file is ``path`` (``None``: no file here).
        Must store a result or a failure for it, so that ``pending`` no longer names it."""
        ...


class TrackJobs:
    """Runs the node's ``TrackStep``\\ s in one background thread (``start``/``close``)."""

    def __init__(self, node: Node, steps: Sequence[TrackStep] = (), *, interval: float = 60.0) -> None:
        self.node = node
        self.steps = list(steps)
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._failed: set[tuple[str, str]] = set()  #: (step, track id) that raised: not retried until restart

    def start(self) -> None:
        """Start the worker thread (once); it catches up with every pending track."""
        if self._thread is None and self.steps:
            self._thread = threading.Thread(target=self._loop, name="osp-track-jobs", daemon=True)
            self._thread.start()
            self.poke()

    def poke(self) -> None:
        """Look for new work now (a track was published or fetched)."""
        with self._idle:
            self._busy = True
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the track in hand (its result is stored; the rest wait for the next
        start), then close the steps that have a ``close()`` (a worker process)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for step in self.steps:
            close = getattr(step, "close", None)
            if callable(close):
                close()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no track is pending (``True``) or ``timeout`` seconds pass (``False``)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def run_pending(self, only: Collection[str] | None = None) -> int:
        """Handle every pending track of every step (or of the steps named in ``only``) in
        the calling thread; returns how many (tracks × steps)."""
        done = 0
        while not self._stop.is_set():
            handled = self._round(only)
            done += handled
            if not handled:
                return done
        return done

    def _round(self, only: Collection[str] | None = None) -> int:
        handled = 0
        for step in self.steps:
            if only is not None and step.name not in only:
                continue
            failed = {t for s, t in self._failed if s == step.name}
            for track in step.pending(self.node, BATCH + len(failed)):
                if track.id in failed:
                    continue
                if self._stop.is_set():
                    return handled
                path = self._path(track)
                try:
                    step.run(self.node, track, path)
                except Exception:  # a step's bug must not stop the others; it is retried at the next start
                    log.exception("%s failed on %s", step.name, track.id)
                    self._failed.add((step.name, track.id))
                handled += 1
        return handled

    def _path(self, track: TrackRow) -> Path | None:
        data_dir = self.node.settings.data_dir
        row = self.node.library.intact_file(track.cid, data_dir)
        return data_dir / row.path if row is not None else None

    def _loop(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # below listeners and the engine
        except OSError:
            pass
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self._round():
                    pass
            finally:
                with self._idle:
                    self._busy = self._wake.is_set()
                    self._idle.notify_all()
