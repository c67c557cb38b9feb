"""The cache quota (issue 7): the pure eviction policy as a table, ``--cache-size`` parsing,
and migration 3 (``last_played``) on an existing library."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from osp.core.errors import CallerError
from osp.core.settings import Settings, parse_size
from osp.library.cache import CachedItem, evictions, usage
from osp.library.migrations import MIGRATIONS
from osp.library.store import Library, _split_sql

MB = 1_000_000


def item(track_id: str, size_mb: int, played: float, in_use: bool = False) -> CachedItem:
    return CachedItem(track_id, size_mb * MB, played, in_use)


@pytest.mark.parametrize(
    ("items", "quota_mb", "evicted"),
    [
        ([], 0, []),
        ([item("a", 3, 10), item("b", 3, 20)], 6, []),  # exactly at the quota: fits
        ([item("a", 3, 10), item("b", 3, 20), item("c", 3, 30)], 6, ["a"]),  # least recently played first
        ([item("c", 3, 30), item("a", 3, 10), item("b", 3, 20)], 3, ["a", "b"]),  # order of input does not matter
        ([item("a", 1, 10), item("b", 5, 20), item("c", 1, 30)], 6, ["a"]),  # stops as soon as it fits
        ([item("a", 3, 10, in_use=True), item("b", 3, 20), item("c", 3, 30)], 6, ["b"]),  # in use: skipped
        ([item("a", 3, 10, in_use=True), item("b", 3, 20, in_use=True)], 0, []),  # nothing evictable
        ([item("a", 3, 10), item("b", 3, 20, in_use=True)], 0, ["a"]),  # 0 keeps only what is in use
        ([item("b", 2, 10), item("a", 2, 10)], 2, ["a"]),  # a tie: the smaller id, deterministic
        ([item("a", 9, 10), item("b", 1, 20)], 5, ["a"]),  # one big old track frees enough
    ],
)
def test_eviction_policy(items: list[CachedItem], quota_mb: int, evicted: list[str]) -> None:
    assert evictions(items, quota_mb * MB) == evicted
    kept = [i for i in items if i.track_id not in evicted]
    fits = usage(kept, quota_mb * MB).used <= quota_mb * MB
    assert fits or all(i.in_use for i in kept)


def test_eviction_policy_rejects_a_negative_quota() -> None:
    with pytest.raises(ValueError):
        evictions([], -1)
    assert usage([item("a", 2, 1), item("b", 3, 2)], 10).to_json() == {"used": 5 * MB, "quota": 10, "tracks": 2}


@pytest.mark.parametrize(
    ("text", "size"),
    [("4G", 4 * 1024**3), ("500M", 500 * 1024**2), ("750k", 750 * 1024), ("750K", 750 * 1024), ("0", 0),
     ("123456", 123456), ("1.5G", 3 * 1024**3 // 2), ("4GiB", 4 * 1024**3), ("4GB", 4 * 10**9), (" 2T ", 2 * 1024**4)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "-1", "4X", "4 G B", "1.5", "nan", "1e9", "4Gb"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(CallerError, match="not a"):
        parse_size(text, what="--cache-size")


def test_settings_default_cache_and_refuse_negative() -> None:
    assert Settings().cache_size == 4 * 1024**3
    with pytest.raises(CallerError):
        Settings(cache_size=-1)


@pytest.mark.parametrize("command", ["node", "get", "play"])
def test_cache_size_flag_errors_are_usage_errors(tmp_path: Path, command: str) -> None:
    from osp.apps.cli.main import cli

    args = ["--data-dir", str(tmp_path), command, *([] if command == "node" else ["osp:track:x"]), "--cache-size", "4X"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "--cache-size" in result.output and "'4X' is not a size" in result.output
    assert "Traceback" not in result.output


def test_v2_library_gains_last_played(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite3"
    db = sqlite3.connect(path)
    for number in (0, 1):
        for statement in _split_sql(MIGRATIONS[number]):
            db.execute(statement)
    db.execute("INSERT INTO files (cid, path, size, profile) VALUES ('bafy', 'media/bafy.ogg', 3, 'unixfs-v1-2025')")
    db.execute("INSERT INTO torrents VALUES ('ab', 'bafy', x'00', NULL)")
    db.execute("INSERT INTO tracks VALUES ('osp:track:t', 'did:key:z', 'T', 'bafy', 'ab', 'audio/ogg', 1.0, 3, "
               "'2026-01-01', x'7b7d', 'fetched', '2026-11-30T12:00:00Z')")
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    with Library(path) as lib:
        (row,) = lib.cached_tracks()
        assert row.last_played == 1796040000.0, "an older track counts as last played when it was added"
        assert lib.set_last_played("osp:track:t", 1796040100.5) and not lib.set_last_played("osp:track:none", 1.0)
        assert lib.track("osp:track:t").last_played == 1796040100.5  # type: ignore[union-attr]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 3
