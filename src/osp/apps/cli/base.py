"""The ``osp`` command group: shared options, context, output and the error edge.

Every command maps ``OspError`` to one line on stderr and an exit code (2 caller
error, 3 local data corrupt, 4 remote error, 5 integrity check failed, 6 peer
unreachable, 130 interrupted); ``OSP_DEBUG=1`` adds tracebacks.  When a node runs for
the same data directory, publish/resolve/get/play/ls go through its control API.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from osp.apps.cli.client import RunningNode, find_running_node
from osp.core.errors import CallerError, OspError
from osp.core.settings import Settings, default_data_dir

err = Console(stderr=True, emoji=False, highlight=False, markup=False)
out = Console(emoji=False, highlight=False, markup=False, soft_wrap=True)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def read_passphrase(passphrase_file: Path | None) -> bytes | None:
    if passphrase_file is not None:
        try:
            return passphrase_file.read_bytes().rstrip(b"\r\n") or None
        except OSError as exc:
            raise CallerError(f"cannot read the passphrase file {passphrase_file}: {exc.strerror}") from exc
    env = os.environ.get("OSP_PASSPHRASE")
    return env.encode() if env else None


class Ctx:
    """What the group options give every command."""

    def __init__(self, data_dir: Path, passphrase_file: Path | None) -> None:
        self.data_dir = data_dir
        self.passphrase_file = passphrase_file

    def settings(self, **changes: Any) -> Settings:
        return Settings(data_dir=self.data_dir, passphrase=read_passphrase(self.passphrase_file), **changes)

    def running(self) -> RunningNode | None:
        return find_running_node(Settings(data_dir=self.data_dir))


pass_ctx = click.make_pass_decorator(Ctx)


class OspGroup(click.Group):
    """Maps errors to messages and exit codes, once, at the edge."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OspError as exc:
            if os.environ.get("OSP_DEBUG"):
                raise
            err.print(f"error: {exc.message}", style="bold red", soft_wrap=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            err.print("interrupted")
            ctx.exit(130)
        except OSError as exc:
            if os.environ.get("OSP_DEBUG"):
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            err.print(f"error: {exc.strerror or exc}{where}", style="bold red")
            ctx.exit(3)


@click.group(cls=OspGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), envvar="OSP_DATA_DIR", default=None,
              help="Data directory (default: $OSP_DATA_DIR or the platform's user data dir).")
@click.option("--passphrase-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File holding the identity key's passphrase (or set OSP_PASSPHRASE).")
@click.version_option(package_name="osp-node", prog_name="osp")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, passphrase_file: Path | None) -> None:
    """OpenSound Protocol node: publish, find, stream and share music peer to peer."""
    ctx.obj = Ctx((data_dir or default_data_dir()).expanduser(), passphrase_file)
