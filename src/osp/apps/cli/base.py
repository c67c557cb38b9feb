"""The ``osp`` command group: shared options, context, output and the error edge.

Every command maps ``OspError`` to one line on stderr and an exit code (2 caller
error, 3 local data corrupt, 4 remote error, 5 integrity check failed, 6 peer
unreachable, 130 interrupted by Ctrl-C, 143 terminated by SIGTERM); ``OSP_DEBUG=1``
adds tracebacks.  SIGTERM is handled like Ctrl-C (``Terminated`` is a
``KeyboardInterrupt``), so progress bars restore the cursor on the way out.  A closed
stdout (``osp ls --json | head -n 1``) ends the command quietly with status 0, as
``set -o pipefail`` scripts need: stdout is pointed at /dev/null so the flush at
interpreter exit cannot fail again (Python docs, "Note on SIGPIPE").  When a node runs for
the same data directory, publish/resolve/get/play/ls go through its control API.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from osp.apps.cli.client import RunningNode, find_running_node
from osp.core.errors import CallerError, OspError
from osp.core.settings import Settings, default_data_dir


class _Console(Console):
    """rich's Console, but a closed pipe is left to the CLI edge (rich itself would exit 1)."""

    def on_broken_pipe(self) -> None:
        if self.stderr:
            self.quiet = True  # nobody reads stderr any more: drop the rest
            return
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


err: Console = _Console(stderr=True, emoji=False, highlight=False, markup=False)
out: Console = _Console(emoji=False, highlight=False, markup=False, soft_wrap=True)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 peer"``, ``"0 peers"``, ``"2 peers"`` (``words`` for an irregular plural)."""
    return f"{n} {word if n == 1 else words or word + 's'}"


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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so ``finally`` blocks and progress bars unwind."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def install_sigterm_handler() -> None:
    """Turn SIGTERM into ``Terminated`` (exit 143) for the rest of this process (main thread only)."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def stdout_closed() -> bool:
    """True when stdout is a pipe whose reader has gone (poll reports POLLERR on the write end)."""
    try:
        poller = select.poll()
        poller.register(sys.__stdout__.fileno() if sys.__stdout__ else 1, select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def silence_stdout() -> None:
    """Point fd 1 at /dev/null so Python's flush at exit does not raise on a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
    finally:
        os.close(devnull)


class OspGroup(click.Group):
    """Maps errors to messages and exit codes, once, at the edge."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except BrokenPipeError as exc:
            if not stdout_closed():
                return self._os_error(ctx, exc)
            silence_stdout()
            ctx.exit(0)
        except OspError as exc:
            if os.environ.get("OSP_DEBUG"):
                raise
            err.print(f"error: {exc.message}", style="bold red", soft_wrap=True)
            ctx.exit(exc.exit_code)
        except Terminated:
            err.print("terminated")
            ctx.exit(143)
        except KeyboardInterrupt:
            err.print("interrupted")
            ctx.exit(130)
        except OSError as exc:
            return self._os_error(ctx, exc)

    @staticmethod
    def _os_error(ctx: click.Context, exc: OSError) -> Any:
        if os.environ.get("OSP_DEBUG"):
            raise exc
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
