"""Real ``osp node`` processes on emulated hosts, and first audio measured by ffmpeg.

``NetNode.start(host, data_dir)`` runs ``osp node`` inside the host's namespace, bound
to the host's address (BitTorrent on :6881, the peer HTTP listener on :8080) and its
control listener on the namespace's own loopback, as on a listener's machine.  Calls to
its control API run inside the namespace (``Host.run``).

``first_audio`` is what a listener feels: from the play request (``POST /api/fetch``) to
the first decoded PCM bytes out of ``ffmpeg`` reading ``/stream/`` over HTTP — seekable, as
every player opens it (ffmpeg reads the file's tail first: Ogg duration, ID3v1/APE tags;
design.md §8).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.netem.harness import Host, wait_for

OSP = [sys.executable, "-m", "osp"]
BT_PORT, HTTP_PORT = 6881, 8080


SRC = Path(__file__).resolve().parents[2] / "src"


def _env(src: Path = SRC) -> dict[str, str]:
    """The environment of a node process running the code in ``src`` (another checkout's
    ``src`` runs that version: the benchmarks' baseline)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OSP_DATA_DIR", None)
    env["PYTHONPATH"] = str(src)
    return env


def osp_in(host: Host, data_dir: Path, *args: str, timeout: float = 120, src: Path = SRC) -> subprocess.CompletedProcess[str]:
    """Run the CLI inside ``host``; raises ``AssertionError`` with stderr on a non-zero exit."""
    proc = subprocess.run(["ip", "netns", "exec", host.name, *OSP, "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=timeout, env=_env(src))
    if proc.returncode != 0:
        raise AssertionError(f"osp {' '.join(args)} exited {proc.returncode} in {host.name}:\n{proc.stderr}")
    return proc


@dataclass
class NetNode:
    host: Host
    data_dir: Path
    proc: subprocess.Popen[str]
    control: str  #: ``http://127.0.0.1:PORT`` inside the host's namespace
    token: str
    src: Path = SRC  #: the code it runs

    @property
    def peer(self) -> str:
        """The peer URL other hosts name with ``--peer``."""
        return f"http://{self.host.ip}:{HTTP_PORT}"

    @classmethod
    def start(cls, host: Host, data_dir: Path, *extra: str, src: Path = SRC) -> NetNode:
        """``osp id init`` (if needed) and ``osp node`` in ``host``, running the code in
        ``src``; ready within 60 s or raise."""
        data_dir.mkdir(parents=True, exist_ok=True)
        if not (data_dir / "identity" / "key.pem").exists():
            osp_in(host, data_dir, "id", "init", src=src)
        log = open(data_dir / "node.log", "w")  # noqa: SIM115 - closed with the process
        proc = host.popen([*OSP, "--data-dir", str(data_dir), "node", "--listen", f"{host.ip}:{BT_PORT}",
                           "--http", f"{host.ip}:{HTTP_PORT}", "--control", "127.0.0.1:0",
                           "--share", f"{host.ip}:0", "--no-dht",
                           "--allow-private-peers", *extra], stdout=log, stderr=subprocess.STDOUT, env=_env(src))
        log.close()

        def ready() -> dict[str, Any] | None:
            if proc.poll() is not None:
                raise AssertionError(f"osp node exited {proc.returncode}: {(data_dir / 'node.log').read_text()}")
            try:
                info: dict[str, Any] = json.loads((data_dir / "node.json").read_text())
            except (OSError, ValueError):
                return None
            return info if info.get("pid") == proc.pid else None

        try:
            info = wait_for(ready, 60, f"osp node in {host.name}")
        except BaseException:
            proc.kill()
            raise
        return cls(host, data_dir, proc, info["control"], (data_dir / "api-token").read_text().strip(), src)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60) -> Any:
        """A control API call (inside the namespace); the decoded JSON answer."""
        def call() -> Any:
            r = httpx.request(method, self.control + path, json=body, timeout=timeout,
                              headers={"Authorization": f"Bearer {self.token}"})
            r.raise_for_status()
            return r.json()

        return self.host.run(call, within=timeout + 5)

    def publish(self, path: Path, title: str) -> dict[str, Any]:
        """Publish ``path`` through the running node's CLI; returns the JSON line."""
        out = osp_in(self.host, self.data_dir, "publish", str(path), "--title", title, "--json", src=self.src)
        line: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
        return line

    def stop(self) -> str:
        """SIGTERM, wait (30 s, then SIGKILL); returns the node's log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        try:
            return (self.data_dir / "node.log").read_text()
        except OSError:
            return ""


def decode_until_audio(url: str, *, seek: float | None = None, timeout: float = 60, fast_seek: bool = False) -> float:
    """Run ffmpeg on ``url`` (seekable HTTP, as players open it; ``seek`` seconds with ``-ss``
    before ``-i``, as a player's seek) and return the seconds until its first PCM bytes.

    ``fast_seek`` (``-fflags +fastseek``): seek a CBR MP3 by its byte estimate, as browsers
    do; by default ffmpeg's MP3 demuxer reads every byte up to the target of a file whose
    Xing/Info header has no table of contents (a format limit: no node can make that fast).

    Call inside the listener's namespace (``Host.run``).  Raises ``TimeoutError``, or
    ``AssertionError`` with ffmpeg's stderr if it ends without audio.
    """
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-rw_timeout", str(int(timeout * 1e6))]
    if fast_seek:
        cmd += ["-fflags", "+fastseek"]
    if seek is not None:
        cmd += ["-ss", f"{seek:.3f}"]
    cmd += ["-i", url, "-vn", "-f", "s16le", "-ac", "2", "-ar", "44100", "-flush_packets", "1", "pipe:1"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), True)
        deadline = start + timeout
        import select

        while time.perf_counter() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                if os.read(proc.stdout.fileno(), 4096):
                    return time.perf_counter() - start
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise AssertionError(f"ffmpeg ended without audio: {err[-2000:]}")
        raise TimeoutError(f"no decoded audio from {url} within {timeout:.0f} s")
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def stream_url(node: NetNode, track_id: str) -> str:
    """A player URL for ``/stream/{id}`` with a stream credential."""
    answer = node.api("POST", "/api/stream-url", {"track": track_id})
    return f"{node.control}{answer['url']}"


def first_audio(listener: NetNode, track_id: str, peer: str | list[str], *, seek: float | None = None,
                timeout: float = 60) -> float:
    """Seconds from the play request (``POST /api/fetch`` naming ``peer``: one node's URL or
    several) to the first PCM bytes ffmpeg decodes from the listener's ``/stream/``
    (``seek`` seconds in, if given), as ``osp play`` does it."""
    def play() -> float:
        start = time.perf_counter()
        auth = {"Authorization": f"Bearer {listener.token}"}
        with httpx.Client(timeout=timeout, headers=auth) as client:
            answer = client.post(f"{listener.control}/api/fetch", json={"track": track_id, "peer": peer})
            if answer.status_code != 200:
                raise AssertionError(f"fetch answered {answer.status_code}: {answer.text[:300]}")
            url = client.post(f"{listener.control}/api/stream-url", json={"track": track_id}).json()["url"]
        decode_until_audio(f"{listener.control}{url}", seek=seek, timeout=timeout)
        return time.perf_counter() - start

    return listener.host.run(play, within=timeout + 30)
