"""Bad input found by trying the CLI as a new user: each is a clear error (exit 2) before
any work is done, and every other argument is still handled."""

from __future__ import annotations

from pathlib import Path

from tests.integration.nodes import jsonl, osp


def test_output_paths_are_checked_before_anything_downloads(tmp_path: Path) -> None:
    proc = osp(tmp_path, "get", "osp:track:bagaaieraunknown", "-o", str(tmp_path / "nope" / "x.ogg"), check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr, proc.stderr
    proc = osp(tmp_path, "get", "osp:track:bagaaieraunknown", "-o", str(tmp_path / "new") + "/", check=False)
    assert (tmp_path / "new").is_dir(), "a path ending in / is a directory to create"
    assert proc.returncode == 2 and "not in the local library" in proc.stderr, proc.stderr


def test_cid_tries_every_path(tmp_path: Path, music: list[Path]) -> None:
    (tmp_path / "adir").mkdir()
    proc = osp(tmp_path, "cid", "--json", str(music[0]), str(tmp_path / "adir"), str(tmp_path / "nope.ogg"),
               check=False)
    rows = jsonl(proc)
    assert proc.returncode == 2 and [("cid" in r, "error" in r) for r in rows] == [
        (True, False), (False, True), (False, True)], rows
    assert "a directory" in proc.stderr and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_publish_of_an_empty_folder_says_so_and_goes_on(tmp_path: Path, music: list[Path]) -> None:
    osp(tmp_path, "id", "init")
    (tmp_path / "adir").mkdir()
    proc = osp(tmp_path, "publish", str(tmp_path / "adir"), str(music[0]), check=False)
    # a folder is imported (issue 10): an empty one is named, and the file beside it is published
    assert proc.returncode == 0 and "1 published, 0 already published (skipped), 0 refused" in proc.stdout, proc
    assert f"no audio files found in {tmp_path / 'adir'}" in " ".join(proc.stderr.split()), proc.stderr


def test_plain_words_where_a_url_or_file_belongs(tmp_path: Path) -> None:
    proc = osp(tmp_path, "conformance", "127.0.0.1:8787", check=False)
    assert proc.returncode == 2 and "must be an http(s) URL" in proc.stderr, proc.stderr
    proc = osp(tmp_path, "resolve", str(tmp_path / "missing.json"), check=False)
    assert proc.returncode == 2 and "no such file" in proc.stderr, proc.stderr


def test_search_without_results_ends_json_with_done_and_names_no_first_result(tmp_path: Path) -> None:
    proc = osp(tmp_path, "search", "glacier", "--no-dht", "--json", check=False)
    assert proc.returncode == 2 and "no track matched" in proc.stderr, proc.stderr
    (done,) = jsonl(proc)  # no result lines, then the summary POST /api/search ends with
    assert done["done"]["results"] == 0 and done["done"]["firstResultAt"] is None
    assert "first after" not in proc.stderr and "None" not in proc.stderr, proc.stderr
    for command in ("search", "resolve", "get", "play"):  # no listener options, DHT options shared
        usage = osp(tmp_path, command, "--help").stdout
        assert "--bootstrap" in usage and "--no-dht" in usage and "--http" not in usage and "--control" not in usage
