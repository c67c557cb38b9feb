"""``osp``: the OpenSound Protocol node on the command line (entry point).

The commands live in ``library_cmds``, ``analysis_cmds``, ``network_cmds``, ``transfer_cmds``, ``search_cmds``,
``status_cmds``, ``feed_cmds``, ``social_cmds``, ``import_cmds``, ``c2pa_cmds``, ``lineage_cmds``, ``match_cmds``,
``trust_cmds``, ``recommend_cmds`` and ``ui_cmds``;
importing them registers
them on the ``cli`` group from ``base``.
"""

from __future__ import annotations

import sys

from osp.apps.cli import (  # noqa: F401  (registers the commands)
    analysis_cmds,
    c2pa_cmds,
    feed_cmds,
    import_cmds,
    library_cmds,
    lineage_cmds,
    match_cmds,
    network_cmds,
    recommend_cmds,
    search_cmds,
    social_cmds,
    status_cmds,
    transfer_cmds,
    trust_cmds,
    ui_cmds,
)
from osp.apps.cli.base import Terminated, cli, install_sigterm_handler, silence_stdout, stdout_closed

import_cmds.register()  # `osp import`: `osp publish`'s options (registered above), recursive by default

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point: SIGTERM handled like Ctrl-C, a closed stdout ends quietly
    (exit 0); a Ctrl-C outside a command (while click parses the arguments, or while an
    interrupted command unwinds) ends as one inside it: "interrupted", exit 130 (143 for
    SIGTERM), no traceback."""
    install_sigterm_handler()
    try:
        cli(prog_name="osp")
    except BrokenPipeError:  # raised outside a command (e.g. --help into `head`)
        if not stdout_closed():
            raise
        silence_stdout()
        raise SystemExit(0) from None
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        sys.stderr.write("terminated\n" if terminated else "interrupted\n")
        raise SystemExit(143 if terminated else 130) from None
