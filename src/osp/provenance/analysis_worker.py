"""Audio analysis in a worker process, so that a hostile or huge file can neither stall nor
bloat the node: ``IsolatedAnalyser(path)`` gives what ``osp.provenance.analysis.analyse``
would, measured by a child Python process (``python -m osp.provenance.analysis_worker``).

* The child's address space is capped (``memory`` bytes, ``WORKER_MEMORY``); each file has
  ``timeout`` seconds (``WORKER_TIMEOUT``, the first one including the child's start: librosa
  compiles its numba functions, several seconds); past it the child is killed.
* The child is kept between files (starting one costs ~5–8 s of CPU) and leaves by itself
  after ``idle`` seconds without work (``WORKER_IDLE``), so an idle node holds no worker.
  A child that dies (out of memory, a crash) is started again for the next file.
* It inherits the caller's CPU priority (the node's track-jobs thread runs lowered).
* Protocol: one file path per line on the child's stdin; one JSON line per path on its
  stdout — the ``Analysis`` (``vector`` in base64) or ``{"error", "message"}`` (an
  ``OspError``'s ``to_json``).  Its stderr is discarded (never a pipe that could fill).

Errors: as ``analyse`` (``UnsupportedMediaError`` for a file that cannot be decoded);
``CallerError`` when the child runs out of time or memory or dies.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from osp.core.errors import CallerError, OspError, UnsupportedMediaError
from osp.provenance.analysis import Analysis, analyse, limit_memory

WORKER_TIMEOUT = 300.0  #: seconds one file may take (the first also pays the child's start)
WORKER_MEMORY = 3 << 30  #: bytes of address space the child may map (a 10-minute file peaks near 1.8 GiB)
WORKER_IDLE = 60.0  #: seconds without work after which the child leaves
MAX_ANSWER = 1 << 16  #: bytes of one answer line at most


class IsolatedAnalyser:
    """Callable ``(path) -> Analysis`` backed by one worker process (module doc); thread-safe
    (one file at a time).  ``close()`` ends the worker."""

    def __init__(self, *, timeout: float = WORKER_TIMEOUT, memory: int = WORKER_MEMORY,
                 idle: float = WORKER_IDLE) -> None:
        self.timeout, self.memory, self.idle = timeout, memory, idle
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def __call__(self, path: Path) -> Analysis:
        request = os.fsencode(path.resolve()) + b"\n"
        with self._lock:
            try:
                stdout = self._send(request)
            except OSError:  # it left (idle) or died between two files: once more with a new one
                self._kill()
                stdout = self._send(request)
            line = _read_line(stdout, time.monotonic() + self.timeout)
            if line is None:
                self._kill()
                raise CallerError(f"analysing {path.name} took longer than {self.timeout:g} s")
            if not line:
                status = self._kill()
                raise CallerError(f"the analysis worker died on {path.name} (exit status {status}: out of memory "
                                  f"past {self.memory >> 20} MiB, or a crash)")
        return _answer(line, path)

    def _send(self, request: bytes) -> IO[bytes]:
        """Write ``request`` to the worker (started if needed); its stdout to read the answer."""
        proc = self._worker()
        if proc.stdin is None or proc.stdout is None:
            raise OSError("the worker has no pipes")
        proc.stdin.write(request)
        proc.stdin.flush()
        return proc.stdout

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            memory = self.memory
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "osp.provenance.analysis_worker", str(self.idle)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                preexec_fn=lambda: limit_memory(memory))
        return self._proc

    def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        status = proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        return status


def _read_line(stream: IO[bytes], deadline: float) -> bytes | None:
    """One line from ``stream`` (``b""``: it ended first); ``None`` past ``deadline``."""
    fd = stream.fileno()
    data = bytearray()
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b""
        data += chunk
        if len(data) > MAX_ANSWER:
            return b""
    return bytes(data)


def _answer(line: bytes, path: Path) -> Analysis:
    try:
        answer: Any = json.loads(line)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "vector" in answer:
        try:
            return Analysis(**{**answer, "vector": base64.b64decode(answer["vector"])})
        except (TypeError, ValueError):
            pass
    if isinstance(answer, dict) and answer.get("error") == UnsupportedMediaError.code:
        raise UnsupportedMediaError(str(answer.get("message"))[:300])
    if isinstance(answer, dict) and "message" in answer:
        raise CallerError(str(answer["message"])[:300])
    raise CallerError(f"the analysis worker gave no answer for {path.name}")


def serve(idle: float, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The child's loop (module doc): one answer line per path line until stdin ends or
    ``idle`` seconds pass without a line."""
    while True:
        ready, _, _ = select.select([stdin], [], [], idle)
        if not ready:
            return
        line = stdin.readline()
        if not line:
            return
        path = Path(os.fsdecode(line.rstrip(b"\n")))
        try:
            a = analyse(path)
            answer: dict[str, Any] = {**dataclasses.asdict(a), "vector": base64.b64encode(a.vector).decode()}
        except OspError as exc:
            answer = exc.to_json()
        except MemoryError:
            answer = {"error": "memory", "message": f"analysing {path.name} ran out of memory"}
        except Exception as exc:  # a library's bug on one file: said, and the worker goes on
            answer = {"error": "error", "message": f"analysing {path.name} failed ({type(exc).__name__})"}
        stdout.write(json.dumps(answer).encode() + b"\n")
        stdout.flush()


def main() -> None:
    """The child's entry point: answers go to a copy of fd 1, which itself points at
    /dev/null, so nothing a library prints can corrupt the protocol."""
    answers = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    serve(float(sys.argv[1]) if len(sys.argv) > 1 else WORKER_IDLE, sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
