"""``osp import DIR…`` (and ``osp publish DIR… [--recursive]``): publish a folder of exports.

``osp import`` takes every option of ``osp publish`` (they apply to every file and win over
its tags; ``--tag`` adds to the genres) and walks sub-folders unless ``--no-recursive``.
What each file became is printed as it finishes (refusals on stderr, with the reason; the
refusal of Ogg/Opus files by ``--c2pa-sign`` once, then their count);
the end is a summary ("12 published, 3 already published (skipped), 2 refused") and the
exit status is non-zero only when a file was refused (a folder with no audio file at all:
"no audio files found in DIR" on stderr, exit 0).  ``--json``: one object per file
(``{"file", "status", …}``) and last ``{"summary": {…}}``.  With a running node the work
goes through its control API (``POST /api/import``); Ctrl-C stops after the file in hand
(what is published stays published: a re-run continues).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from osp.apps.cli.base import Ctx, cli, emit_json, err, out
from osp.apps.cli.client import ControlClient, RunningNode
from osp.apps.cli.views import printable
from osp.core.errors import OspError

IMPORT_FLAG = "osp.import"  #: ``ctx.meta`` key: ``osp publish`` was invoked as ``osp import``


class ImportRefused(OspError):
    """Some files of an import were refused (each already reported); exits with the first one's code."""

    code = "refused"

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def artwork_cid(c: Ctx, running: RunningNode | None, image: Path) -> str:
    """Store the image file ``image`` as cover art (checked: JPEG/PNG/WebP, ≤ 4 MiB) and
    return its CID — through the running node when there is one."""
    if running is not None:
        return str(ControlClient(running).post("/api/artwork", {"path": str(image.resolve())})["cid"])
    from osp.content.artwork import read_image
    from osp.node.artwork import store_image
    from osp.node.core import Node

    data, info = read_image(image)
    node = Node(c.settings())
    try:
        return store_image(node.library, node.settings.media_dir, data, info, node.settings.cid_profile)
    finally:
        node.close()


class _Display:
    """Shows the lines of an import (``osp.node.bulk.event_json`` shapes) as they come."""

    def __init__(self, bar: Progress | None, as_json: bool) -> None:
        self.bar = bar
        self.as_json = as_json
        self.task: TaskID | None = None
        self.files = 0  #: files planned
        self.files_done = 0
        self.done_bytes = 0
        self.first_refusal: dict[str, Any] | None = None
        self.summary: dict[str, Any] | None = None
        self.ogg_refused = 0  #: files refused because C2PA cannot sign Ogg/Opus (said once in text)
        self.seen: list[Path] = []  #: every file a line named (resolved), for the no-audio hint

    def __call__(self, line: dict[str, Any]) -> None:
        bar = self.bar
        if "planned" in line:
            self.files = int(line["planned"]["files"])
            if bar is not None:
                self.task = bar.add_task(self._label(""), total=line["planned"]["bytes"])
        elif "reading" in line:
            if bar is not None and self.task is not None:
                reading = line["reading"]
                bar.update(self.task, completed=self.done_bytes + int(reading["done"]),
                           description=self._label(Path(reading["file"]).name))
        elif "summary" in line:
            self.summary = line["summary"]
            if self.as_json:
                emit_json({"summary": line["summary"]})
        elif "status" in line and "file" in line:
            self._file(line)

    def _label(self, name: str) -> str:
        """The bar's text: files done of planned, and the file being read (shortened)."""
        name = printable(name if len(name) <= 40 else f"{name[:24]}…{name[-15:]}")
        return f"{self.files_done}/{self.files} files {name}".rstrip()

    def _file(self, line: dict[str, Any]) -> None:
        self.seen.append(Path(line["file"]).resolve())
        self.done_bytes += int(line.get("size") or 0)
        self.files_done += 1
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=self.done_bytes, description=self._label(""))
        if line["status"] == "refused" and self.first_refusal is None:
            self.first_refusal = line
        if self.as_json:
            emit_json({k: v for k, v in line.items() if k not in ("exitCode", "httpStatus")})
            return
        console = self.bar.console if self.bar is not None else out
        # file names, titles and notes come from the files' names and tags: made printable
        # (a name or tag holding ESC sequences must not reach the terminal)
        file = printable(line["file"])
        if line["status"] == "refused":
            from osp.provenance.c2pa import OGG_MESSAGE  # here: loading c2pa would slow every CLI start

            message = printable(str(line.get("message", "?")).removeprefix(f"{Path(line['file']).name}: "))
            if OGG_MESSAGE in message:  # the same for every Ogg file of an `import --c2pa-sign`: said once
                self.ogg_refused += 1
                if self.ogg_refused > 1:
                    return
            (self.bar.console if self.bar is not None else err).print(
                f"refused: {file}: {message}", style="bold red", soft_wrap=True)
            return
        console.print(f"{printable(line['status'])}: {file}\n  {printable(line.get('title', ''))}  "
                      f"{printable(line.get('id', ''))}",
                      style=None if line["status"] == "published" else "dim", soft_wrap=True)
        for note in line.get("notes", []):
            console.print(f"  note: {printable(note)}", style="yellow", soft_wrap=True)


@contextmanager
def _progress(quiet: bool) -> Iterator[Progress | None]:
    if quiet:
        yield None
        return
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                  DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=err, transient=True) as bar:
        yield bar


def run_import(c: Ctx, roots: tuple[Path, ...], body: dict[str, Any], *, recursive: bool, hybrid: bool,
               as_json: bool) -> None:
    """Import ``roots`` with the publish fields ``body`` (module doc); raises ``ImportRefused``."""
    running = c.running()
    try:
        with _progress(as_json) as bar:
            show = _Display(bar, as_json)
            if running is not None:
                request = {**body, "paths": [str(Path(r).absolute()) for r in roots], "recursive": recursive,
                           "hybrid": hybrid or None}
                last = ControlClient(running).post_progress("/api/import", {k: v for k, v in request.items()
                                                                             if v is not None}, show)
                if "summary" not in last:  # the run could not go on: the node said why
                    raise OspError(str(last.get("message", "the running node ended the import early")))
                show(last)
            else:
                _offline(c, roots, body, recursive, hybrid, show)
    except KeyboardInterrupt:  # offline or through a node (which stops when the CLI hangs up)
        err.print("interrupted: what is published stays published; run the same command again to continue",
                  soft_wrap=True)
        raise
    _finish(show, as_json, running is not None)
    _no_audio_hint(show, roots)


def _no_audio_hint(show: _Display, roots: tuple[Path, ...]) -> None:
    """On stderr (text and --json alike), for each folder where the run found nothing to try.

    The exit status stays as the files tried make it (0 when nothing was refused).
    """
    if show.summary is None or show.summary.get("stopped"):
        return
    empty = [r for r in roots if r.is_dir() and not any(f.is_relative_to(r.resolve()) for f in show.seen)]
    if empty:
        err.print(f"no audio files found in {', '.join(printable(str(r)) for r in empty)}", soft_wrap=True)


def _offline(c: Ctx, roots: tuple[Path, ...], body: dict[str, Any], recursive: bool, hybrid: bool,
             show: Callable[[dict[str, Any]], None]) -> None:
    from osp.apps.http.publishing import metadata_from
    from osp.apps.http.shapes import track_summary
    from osp.node.bulk import event_json, import_paths
    from osp.node.core import Node

    meta = metadata_from(body)
    node = Node(c.settings())
    try:
        node.signing_key()
        import_paths(node, roots, meta, recursive=recursive, hybrid=hybrid or None,
                     on_event=lambda e: show(event_json(e, track_summary)))
    finally:
        node.close()


def _finish(show: _Display, as_json: bool, running: bool) -> None:
    s = show.summary or {}
    if show.ogg_refused > 1:
        err.print(f"refused: {show.ogg_refused} Ogg/Opus files in all, each for that reason (--json lists each)",
                  style="bold red", soft_wrap=True)
    text = (f"{s.get('published', 0)} published, {s.get('alreadyPublished', 0)} already published (skipped), "
            f"{s.get('refused', 0)} refused")
    if not as_json and show.first_refusal is None:  # else the error line says it
        out.print(text)
        if not running and s.get("published"):
            out.print("not seeding yet: start `osp node` to share these tracks", style="dim")
    if s.get("stopped"):
        err.print("stopped before every file was tried: run the same command again to continue")
    if show.first_refusal is not None:
        raise ImportRefused(text, exit_code=int(show.first_refusal.get("exitCode", 2)))


def _import_callback(**kwargs: Any) -> None:
    from osp.apps.cli.library_cmds import publish_cmd

    ctx = click.get_current_context()
    ctx.meta[IMPORT_FLAG] = True
    kwargs["files"] = kwargs.pop("dirs")
    ctx.invoke(publish_cmd, **kwargs)


def register() -> None:
    """Add ``osp import`` to the ``cli`` group: ``osp publish``'s options, recursive by default."""
    from osp.apps.cli.library_cmds import publish_cmd

    params: list[click.Parameter] = []
    for p in publish_cmd.params:
        if p.name == "files":
            params.append(click.Argument(["dirs"], nargs=-1, required=True, type=click.Path(path_type=Path)))
        elif p.name == "recursive":
            params.append(click.Option(["--recursive/--no-recursive"], default=True, show_default=True,
                                       help="Walk sub-folders too."))
        elif p.name != "title":
            params.append(p)
    cli.add_command(click.Command(
        "import", callback=_import_callback, params=params,
        help="Publish every audio file of the folders DIR… (recursively; hidden files skipped), reading title, "
             "artist, album, lyrics, genre (as tags), date, cover art and generator metadata from the files' tags; "
             "options apply to every file and win over the tags.  What is already published is skipped; every "
             "refused file is reported with the reason, and the exit status is non-zero only then.",
        short_help="Publish a folder of audio files (tags, cover art, provenance).",
    ))


__all__ = ["ImportRefused", "artwork_cid", "register", "run_import"]
