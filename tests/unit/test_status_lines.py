"""``osp status`` shows the cache in the units ``--cache-size`` is given in (issue 7 user
pass: ``--cache-size 4G`` showed as "of 4.3 GB", ``3M`` as "3.2 MB of 3.1 MB")."""

from __future__ import annotations

from osp.apps.cli.status_cmds import status_lines
from osp.apps.cli.views import format_binary_size
from osp.core.settings import parse_size


def test_the_cache_quota_reads_as_it_was_given() -> None:
    status = {"cache": {"used": 2_300_248, "quota": parse_size("4G"), "tracks": 1}}
    assert dict(status_lines(status))["cache"] == "2.2 MiB of 4.0 GiB (1 fetched track)"
    status = {"cache": {"used": 0, "quota": parse_size("3M"), "tracks": 0}}
    assert dict(status_lines(status))["cache"] == "0 B of 3.0 MiB (0 fetched tracks)"


def test_binary_sizes() -> None:
    assert [format_binary_size(n) for n in (0, 1023, 1024, 750 * 1024, 5 * 1024**4, 2048 * 1024**4)] == [
        "0 B", "1023 B", "1.0 KiB", "750.0 KiB", "5.0 TiB", "2048.0 TiB"]


def test_the_share_listener_is_shown_in_its_place() -> None:
    lines = status_lines({"http": "http://127.0.0.1:8787", "control": "http://127.0.0.1:8788",
                          "share": "http://127.0.0.1:8789", "reachability": {"bittorrentPort": 6881}})
    labels = [label for label, _ in lines]
    assert labels[2:6] == ["peer API", "control", "share", "BitTorrent"]
    assert dict(lines)["share"] == "http://127.0.0.1:8789" and dict(status_lines({}))["share"] == "-"
