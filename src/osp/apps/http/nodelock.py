"""Which process serves a data directory: a lock the kernel releases when it dies.

A running node holds an exclusive ``flock(2)`` on ``<data_dir>/node.lock`` for its
whole life; ``node.json`` (pid and URLs) is only a hint for finding it.  After
``kill -9`` (or a crash, or a reused pid) the kernel has dropped the lock, so a
``node.json`` left behind is recognised as stale: commands work offline and
``osp node`` starts.  ``flock`` locks belong to the open file description, so a
second open in the same process conflicts too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

from osp.core.errors import CallerError

LOCK_NAME = "node.lock"


def lock_path(data_dir: Path) -> Path:
    return data_dir / LOCK_NAME


class NodeLock:
    """The exclusive lock of a running node on ``data_dir`` (held until ``release``)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = lock_path(data_dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = _pid_hint(data_dir / "node.json")
            raise CallerError(
                f"a node already runs for {data_dir}" + (f" (pid {pid})" if pid else "")
            ) from None
        except OSError as exc:
            os.close(fd)
            raise CallerError(f"cannot lock {path}: {exc.strerror}") from exc
        self._fd: int | None = fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def is_held(data_dir: Path) -> bool:
    """True while some process (this one included) holds the node lock of ``data_dir``."""
    try:
        fd = os.open(lock_path(data_dir), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing also drops the shared lock we may have taken
    return False


def _pid_hint(node_file: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return int(json.loads(node_file.read_text("utf-8"))["pid"])
    return None
