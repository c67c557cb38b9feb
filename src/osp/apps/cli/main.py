"""``osp``: the OpenSound Protocol node on the command line (entry point).

The commands live in ``library_cmds``, ``network_cmds`` and ``transfer_cmds``; importing them registers
them on the ``cli`` group from ``base``.
"""

from __future__ import annotations

from osp.apps.cli import library_cmds, network_cmds, transfer_cmds  # noqa: F401  (registers the commands)
from osp.apps.cli.base import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="osp")
