"""``osp id``, ``osp cid``, ``osp publish``, ``osp ls``: identity, content and the library."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx, read_passphrase
from osp.apps.cli.client import ControlClient
from osp.apps.cli.match_cmds import attach_checks, print_checks
from osp.apps.cli.provenance_opts import provenance_from, provenance_options
from osp.core.errors import CallerError, OspError

# --- identity ------------------------------------------------------------------


@cli.group("id")
def id_group() -> None:
    """Your artist identity: an Ed25519 did:key."""


@id_group.command("init")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_ctx
def id_init(c: Ctx, as_json: bool) -> None:
    """Create the identity key (mode 0600; encrypted when a passphrase is given)."""
    from osp.identity.keystore import Keystore

    store = Keystore(c.settings().identity_dir)
    key = store.create(read_passphrase(c.passphrase_file))
    if as_json:
        emit_json({"did": key.did, "keyFile": str(store.path), "didFile": str(store.did_path),
                   "encrypted": store.is_encrypted()})
    else:
        out.print(f"created {key.did}\nkey file: {store.path}{' (encrypted)' if store.is_encrypted() else ''}")


@id_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the DID and its DID document as JSON.")
@pass_ctx
def id_show(c: Ctx, as_json: bool) -> None:
    """Print the did:key and its DID document (no passphrase needed: read from identity/did)."""
    from osp.identity.didkey import did_document
    from osp.identity.keystore import Keystore

    store = Keystore(c.settings().identity_dir)
    did = store.stored_did() or store.load(read_passphrase(c.passphrase_file)).did  # old keystores: no did file
    doc = did_document(did)
    if as_json:
        emit_json({"did": did, "didDocument": doc})
    else:
        out.print(did)
        out.print(json.dumps(doc, indent=2))


# --- content ---------------------------------------------------------------------


@cli.command("cid")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--profile", default="unixfs-v1-2025", show_default=True,
              type=click.Choice(["unixfs-v1-2025", "kubo-cidv1-256k-174", "unixfs-v0-2015"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
def cid_cmd(files: tuple[Path, ...], profile: str, as_json: bool) -> None:
    """Print the IPFS CID of each file without publishing (like `ipfs add --only-hash`)."""
    from osp.content.unixfs import cid_of_file

    failed = 0
    for path in files:  # every file is tried; each one that cannot be read is reported
        try:
            if not path.is_file():
                raise CallerError(f"{path}: {'a directory' if path.is_dir() else 'no such file'}")
            cid = cid_of_file(path, profile)
            size = path.stat().st_size
        except (CallerError, OSError) as exc:
            failed += 1
            message = exc.message if isinstance(exc, CallerError) else f"{path}: {exc.strerror or exc}"
            if as_json:
                emit_json({"file": str(path), "error": "caller-error", "message": message})
            err.print(f"error: {message}", style="bold red", soft_wrap=True)
            continue
        if as_json:
            emit_json({"file": str(path), "cid": str(cid), "profile": profile, "size": size})
        else:
            out.print(f"{cid}  {path}")
    if failed:
        raise SystemExit(2)


# --- publish -----------------------------------------------------------------------


@cli.command("publish")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--title", help="Track title (default: the file's title tag).")
@click.option("--artist-name", help="Display name of the artist (default: the file's artist tag).")
@click.option("--album", help="Album name.")
@click.option("--license", "license_", default="CC0-1.0", show_default=True, help="SPDX license id.")
@click.option("--released", help="Release date YYYY-MM-DD (default: today).")
@click.option("--tag", "tags", multiple=True, help="Tag (repeatable).")
@provenance_options
@click.option("--lyrics-file", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Lyrics text file.")
@click.option("--artwork", help="CID of the cover artwork.")
@click.option("--artwork-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Cover image (JPEG, PNG or WebP, at most 4 MiB) to store and use as the artwork.")
@click.option("--recursive", is_flag=True, help="With folders: walk their sub-folders too (see `osp import`).")
@click.option("--c2pa-sign", is_flag=True,
              help="Embed a C2PA manifest signed with your certificate (`osp c2pa signer`) into a copy, and publish that.")
@click.option("--allow-invalid-c2pa", is_flag=True,
              help="Publish a file whose C2PA credential fails validation (it is marked invalid everywhere).")
@click.option("--hybrid", is_flag=True, help="Make a hybrid v1+v2 torrent (BEP 52); v1 by default for WebTorrent, aria2, Transmission.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file ({\"file\", \"error\", …} if refused).")
@pass_ctx
def publish_cmd(c: Ctx, /, files: tuple[Path, ...], title: str | None, artist_name: str | None, album: str | None,
                license_: str, released: str | None, tags: tuple[str, ...], lyrics_file: Path | None,
                artwork: str | None, artwork_file: Path | None, recursive: bool, c2pa_sign: bool,
                allow_invalid_c2pa: bool, hybrid: bool, as_json: bool, **provenance_flags: Any) -> None:
    """Import, sign, store and (if the node runs) seed audio files as OSP Track Records.

    Every file is tried: each refused one is reported (file and reason) and the command
    then exits non-zero with a summary ("3 published, 1 refused").  A folder publishes its
    audio files the way `osp import` does (tags, cover art; sub-folders with --recursive).

    Then each new track's audio is fingerprinted and compared with every track known here
    (10 s, plus 0.5 s a further file, 60 s at most): audio matching another artist's earlier
    track prints a warning, and your own earlier upload a note (--json: a "duplicates" member,
    null if not checked in time; `osp show ID` tells later).
    """
    bulk = click.get_current_context().meta.get("osp.import", False) or any(f.is_dir() for f in files)
    if title and (len(files) > 1 or bulk):
        raise CallerError("--title names one track; publish several files without it (their tags give titles)")
    body: dict[str, Any] = {
        "title": title, "artistName": artist_name, "album": album, "license": license_, "released": released,
        "tags": list(tags), "provenance": provenance_from(provenance_flags), "artwork": artwork,
        "lyrics": _read_lyrics(lyrics_file) if lyrics_file else None,
        "c2paSign": c2pa_sign or None, "allowInvalidC2pa": allow_invalid_c2pa or None,
    }
    body = {k: v for k, v in body.items() if v is not None}
    if c2pa_sign:  # said once, before anything is stored, rather than as every file's refusal
        from osp.node.credentials import c2pa_store

        c2pa_store(c.data_dir).signer()  # CallerError: no signer configured
    running = c.running()
    if artwork_file is not None:  # issue 10: the cover stored first, its CID is the record's artwork
        from osp.apps.cli.import_cmds import artwork_cid

        body["artwork"] = artwork_cid(c, running, artwork_file)
    if bulk:  # folders: the bulk import (osp.apps.cli.import_cmds)
        from osp.apps.cli.import_cmds import run_import

        return run_import(c, files, body, recursive=recursive, hybrid=hybrid, as_json=as_json)
    results: list[dict[str, Any]] = []
    if running:
        client = ControlClient(running)
        with _file_progress(files, as_json) as advance:
            for f in files:
                request = {**body, "paths": [str(f.resolve())], "hybrid": hybrid or None}
                answer = client.post_progress("/api/publish", request, functools.partial(_on_line, advance, f))
                results.extend(answer["tracks"] + answer["refused"])
                advance(f, None, None)
        attach_checks(results, client=client)  # the fingerprint runs after the publish returned
    else:
        from osp.apps.http.publishing import metadata_from, publish_each
        from osp.node.core import Node

        meta = metadata_from(body)
        node = Node(c.settings())
        try:
            node.signing_key()
            with _file_progress(files, as_json) as advance:
                for f in files:
                    results += publish_each(node, [f], meta, hybrid or None, lambda p, n: advance(p, n, None))
                    advance(f, None, None)
            attach_checks(results, node=node)
        finally:
            node.close()
    _report_published(results, files, as_json)
    if not as_json:
        print_checks(results)
    if hybrid:
        err.print("note: hybrid (v1+v2) torrents: aria2 1.36, Transmission 3.00 and WebTorrent cannot use them; "
                  "publish without --hybrid for the widest reach", style="yellow")
    if not running and not as_json and any("error" not in r for r in results):
        out.print("not seeding yet: start `osp node` to share these tracks", style="dim")
    refused = [r for r in results if "error" in r]
    if refused:
        summary = f"{len(results) - len(refused)} published, {len(refused)} refused"
        raise PublishRefused(summary, exit_code=int(refused[0].get("exitCode", 2)))


def _on_line(advance: Callable[[Path, int | None, int | None], None], f: Path, line: dict[str, Any]) -> None:
    if isinstance(line.get("done"), int):
        advance(f, None, line["done"])


class PublishRefused(OspError):
    """Some files of a publish were refused (each already reported); exits with the first one's code."""

    code = "refused"

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _read_lyrics(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise CallerError(f"--lyrics-file {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    except OSError as exc:
        raise CallerError(f"cannot read --lyrics-file {path}: {exc.strerror or exc}") from exc


def _report_published(results: list[dict[str, Any]], files: tuple[Path, ...], as_json: bool) -> None:
    """One JSON object or one readable block per file, refusals included (on stderr when readable)."""
    for r in results:
        if as_json:
            emit_json({k: v for k, v in r.items() if k not in ("exitCode", "httpStatus")})
        elif "error" in r:
            message = str(r["message"]).removeprefix(f"{Path(str(r['file'])).name}: ")  # the path says it already
            err.print(f"refused: {r['file']}: {message}", style="bold red", soft_wrap=True)
        else:
            state = "published" if r.get("created", True) else "already published"
            out.print(f"{state}: {r['title']}\n  id      {r['id']}\n  cid     {r['cid']}\n  torrent {r['torrent']}")


@contextmanager
def _file_progress(files: tuple[Path, ...], quiet: bool) -> Iterator[Callable[[Path, int | None, int | None], None]]:
    """``advance(file, n, done)``: ``n`` more bytes of ``file``, or ``done`` bytes of it so far,
    or (both ``None``) the file is finished.  A bar on stderr for several files or 64 MiB+."""
    sizes = {f: f.stat().st_size if f.is_file() else 0 for f in files}
    total = sum(sizes.values())
    if quiet or len(files) < 2 and total < 64 * 1024 * 1024:
        yield lambda *a: None
        return
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("publishing", total=total)
        before = [0]  # bytes of the files already finished
        current: dict[Path, int] = {}

        def advance(f: Path, n: int | None, done: int | None) -> None:
            if n is None and done is None:  # finished (or refused): count the whole file
                current.pop(f, None)
                before[0] += sizes.get(f, 0)
                bar.update(task, completed=before[0])
                return
            current[f] = min(sizes.get(f, 0), done if done is not None else current.get(f, 0) + (n or 0))
            bar.update(task, completed=before[0] + sum(current.values()), description=f"publishing {f.name}")

        yield advance


# --- library -------------------------------------------------------------------------


@cli.command("ls")
@click.option("--sort", "sort_key", type=click.Choice(["title", "artist", "duration", "size", "added"]), default="added",
              show_default=True, help="Order of the table (and of --json lines).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per track.")
@pass_ctx
def ls_cmd(c: Ctx, sort_key: str, as_json: bool) -> None:
    """List the library: title, artist, duration, size, license, AI flag, origin, id.

    A track whose audio matches another artist's earlier track is marked "DUPLICATE"
    (`osp show ID` says of what), one whose C2PA credential does not validate "C2PA INVALID"
    (`osp c2pa show ID` says why; --json: "duplicateOf", the earlier track's id; also the
    C2PA result and the audio analysis measured here, or null)."""
    from osp.apps.cli.views import ls_rows, sort_tracks, table_lines
    from osp.apps.http.shapes import track_summary
    from osp.library.fingerprints import flagged
    from osp.library.store import Library
    from osp.records.canonical import strict_loads

    running = c.running()
    if running:
        tracks = ControlClient(running).get("/api/tracks")["tracks"]
    else:
        settings = c.settings()
        if not settings.library_path.exists():
            tracks = []
        else:
            from osp.library.analysis import Analyses
            from osp.library.credentials import Credentials
            from osp.library.store import file_state

            with Library(settings.library_path) as lib:
                states = {f.cid: file_state(settings.data_dir / f.path, f.size) for f in lib.files()}
                rows = lib.tracks()
                creds = Credentials(lib).for_cids([r.cid for r in rows])
                sound = Analyses(lib).get_many([r.id for r in rows])
                flags = flagged(lib, [r.id for r in rows])
                tracks = [track_summary(strict_loads(r.record), r.infohash)
                          | {"origin": r.origin, "added": r.added_at, "file": states.get(r.cid, "missing"),
                             "c2pa": s.to_json() if (s := creds.get(r.cid)) else None,
                             "analysis": sound[r.id].to_json() if r.id in sound else None,
                             "duplicateOf": flags.get(r.id)}
                          for r in rows]
    tracks = sort_tracks(tracks, sort_key)
    if as_json:
        for t in tracks:
            emit_json(t)
        return
    if not tracks:
        out.print("the library is empty: `osp publish FILE` adds a track")
        return
    for line in table_lines(("title", "artist", "time", "size", "license", "AI", "origin", "id"), ls_rows(tracks),
                            right=(2, 3)):
        out.print(line)
