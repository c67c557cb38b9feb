"""The CLI in a terminal (issue 6 item 10): player failures, SIGTERM during ``osp get``
restores the cursor, and counted words."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from osp.apps.cli.base import plural
from tests.integration.nodes import OSP, jsonl, node_server, osp

ROOT = Path(__file__).resolve().parents[2]


def test_plural() -> None:
    assert [plural(n, "peer") for n in (0, 1, 2)] == ["0 peers", "1 peer", "2 peers"]


def test_play_fails_when_the_player_fails(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    data = tmp_path / "data"
    with node_server(data, "127.0.0.1") as srv:
        auth = {"Authorization": f"Bearer {srv.token}"}
        track = httpx.post(f"{srv.control_url}/api/publish", json={"paths": [str(audio_files["ogg"])]},
                           headers=auth, timeout=60).json()["tracks"][0]["id"]
        failed = osp(data, "play", track, "--player", "false", check=False)
        assert failed.returncode == 2 and "'false' exited with status 1" in failed.stderr, failed.stderr
        killed = osp(data, "play", track, "--player", "sh -c 'kill -9 $$'", check=False)
        assert killed.returncode == 2 and "killed by signal 9" in killed.stderr, killed.stderr
        assert osp(data, "play", track, "--player", "true").returncode == 0


def _read_until(fd: int, needle: bytes, deadline: float) -> bytes:
    seen = b""
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_sigterm_during_get_restores_the_cursor(tmp_path: Path, music: list[Path]) -> None:
    """A slow seeder (20 kB/s) keeps ``osp get`` in its progress bar; SIGTERM must show the
    cursor again (``ESC[?25h``) and exit 143."""
    with node_server(tmp_path / "a", "127.0.0.2", upload_rate_limit=20_000) as srv:
        auth = {"Authorization": f"Bearer {srv.token}"}
        track = httpx.post(f"{srv.control_url}/api/publish", json={"paths": [str(music[1])]},
                           headers=auth, timeout=60).json()["tracks"][0]["id"]
        primary, secondary = pty.openpty()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TERM": "xterm", "COLUMNS": "120"}
        env.pop("OSP_DATA_DIR", None)
        proc = subprocess.Popen([*OSP, "--data-dir", str(tmp_path / "b"), "get", track, "--peer", srv.peer_url,
                                 "--listen", "127.0.0.3:0", "--no-dht"],
                                stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True)
        os.close(secondary)
        try:
            before = _read_until(primary, b"\x1b[?25l", time.monotonic() + 45)  # rich hid the cursor
            assert b"\x1b[?25l" in before, before[-500:]
            _read_until(primary, b"fetching", time.monotonic() + 15)
            assert proc.poll() is None, "the download ended before SIGTERM"
            proc.send_signal(signal.SIGTERM)
            after = _read_until(primary, b"terminated", time.monotonic() + 30)
            assert proc.wait(30) == 143
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            os.close(primary)
        assert b"\x1b[?25h" in after, after[-500:]
        assert b"Traceback" not in after


if sys.platform != "linux":  # pragma: no cover
    del test_sigterm_during_get_restores_the_cursor


def test_readable_ls_resolve_and_get_into_a_directory(tmp_path: Path, music: list[Path],
                                                      audio_files: dict[str, Path]) -> None:
    with node_server(tmp_path / "a", "127.0.0.2") as srv:
        auth = {"Authorization": f"Bearer {srv.token}"}
        hostile = httpx.post(f"{srv.control_url}/api/publish", headers=auth, timeout=60, json={
            "paths": [str(audio_files["ogg"])], "title": "../../.evil\u001b[2J", "artistName": "Ban/d",
            "license": "CC-BY-4.0", "provenance": {"aiGenerated": True, "generator": "gen"}}).json()["tracks"][0]
        httpx.post(f"{srv.control_url}/api/publish", json={"paths": [str(music[1])]}, headers=auth, timeout=60)
        table = osp(tmp_path / "a", "ls", "--sort", "duration").stdout.splitlines()
        assert table[0].split() == ["title", "artist", "time", "size", "license", "AI", "origin", "id"]
        assert "0:12" in table[1] and "CC-BY-4.0" in table[1] and " AI " in table[1] and "published here" in table[1]
        assert "\x1b" not in "".join(table) and "5:22" in table[2]
        assert [t["id"] for t in jsonl(osp(tmp_path / "a", "ls", "--json", "--sort", "size"))][0] == hostile["id"]
        summary = osp(tmp_path / "b", "resolve", hostile["id"], "--peer", srv.peer_url).stdout
        for line in ("artist    Ban/d  did:key:z6Mk", "duration  0:12", "format    audio/ogg", "license   CC-BY-4.0",
                     "AI        generated with gen", f"id        {hostile['id']}", "verified  signature"):
            assert line in summary, summary
        target = tmp_path / "out"
        target.mkdir()
        got = osp(tmp_path / "b", "get", hostile["id"], "--peer", srv.peer_url, "--listen", "127.0.0.3:0", "--no-dht",
                  "-o", str(target), timeout=120)
        assert "verified ../../.evil\ufffd[2J" in got.stdout and "\x1b" not in got.stdout + got.stderr, got.stdout
        assert [p.name for p in target.iterdir()] == ["Ban_d \u2013 .._.._.evil[2J.ogg"]
        # Anyone may sign the same artist name and title: a second track never overwrites
        # the first, nor writes through a symlink planted under the next free name.
        twin = httpx.post(f"{srv.control_url}/api/publish", headers=auth, timeout=60, json={
            "paths": [str(music[0])], "title": "../../.evil\u001b[2J", "artistName": "Ban/d"}).json()["tracks"][0]
        victim = tmp_path / "victim"
        victim.write_bytes(b"keep me")
        (target / "Ban_d \u2013 .._.._.evil[2J (2).ogg").symlink_to(victim)
        first_bytes = (target / "Ban_d \u2013 .._.._.evil[2J.ogg").read_bytes()
        for ref in (twin["id"], hostile["id"]):  # the second get of the first track reuses its identical file
            osp(tmp_path / "b", "get", ref, "--peer", srv.peer_url, "--listen", "127.0.0.3:0", "--no-dht",
                "-o", str(target), timeout=120)
        assert sorted(p.name for p in target.iterdir()) == [
            "Ban_d \u2013 .._.._.evil[2J (2).ogg", "Ban_d \u2013 .._.._.evil[2J (3).ogg", "Ban_d \u2013 .._.._.evil[2J.ogg"]
        assert victim.read_bytes() == b"keep me"
        assert (target / "Ban_d \u2013 .._.._.evil[2J.ogg").read_bytes() == first_bytes
        assert (target / "Ban_d \u2013 .._.._.evil[2J (3).ogg").read_bytes() == music[0].read_bytes()


def test_progress_shows_a_peers_title_as_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record's title is the peer's: rich markup in it crashed `osp get` in a terminal
    (MarkupError), and escapes in it reached the terminal (hostile review)."""
    import io

    from rich.console import Console

    import osp.apps.cli.network_cmds as cmds

    buf = io.StringIO()
    monkeypatch.setattr(cmds, "err", Console(file=buf, force_terminal=True, width=160))
    title = "[/] x [link=http://evil.example]y[/link] \x1b]0;pwned\x07 \u202e"
    states = iter([{"title": title, "total": 10, "done": 0, "state": "downloading", "peers": 1},
                   {"title": title, "total": 10, "done": 10, "state": "complete", "peers": 1}])
    assert cmds._transfer_progress(lambda: next(states), False, 10)["state"] == "complete"
    text = buf.getvalue()
    assert "[/] x [link=http://evil.example]y[/link]" in text and "\x1b]0;" not in text and "\u202e" not in text

