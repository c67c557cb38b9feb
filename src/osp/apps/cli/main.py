"""``osp``: the OpenSound Protocol node on the command line.

Every command maps ``OspError`` to one line on stderr and an exit code (2 caller
error, 3 local data corrupt, 4 remote error, 5 integrity check failed, 6 peer
unreachable, 130 interrupted); ``OSP_DEBUG=1`` adds tracebacks.  When a node runs for
the same data directory, publish/resolve/get/play/ls go through its control API.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from osp.apps.cli.client import ControlClient, RunningNode, find_running_node
from osp.core.errors import CallerError, KeystoreError, OspError
from osp.core.settings import Settings, default_data_dir, parse_hostport

err = Console(stderr=True, emoji=False, highlight=False, markup=False)
out = Console(emoji=False, highlight=False, markup=False, soft_wrap=True)


def _emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _passphrase(passphrase_file: Path | None) -> bytes | None:
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
        return Settings(data_dir=self.data_dir, passphrase=_passphrase(self.passphrase_file), **changes)

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
    key = store.create(_passphrase(c.passphrase_file))
    if as_json:
        _emit_json({"did": key.did, "keyFile": str(store.path), "encrypted": store.is_encrypted()})
    else:
        out.print(f"created {key.did}\nkey file: {store.path}{' (encrypted)' if store.is_encrypted() else ''}")


@id_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the DID and its DID document as JSON.")
@pass_ctx
def id_show(c: Ctx, as_json: bool) -> None:
    """Print the did:key and its DID document."""
    from osp.identity.didkey import did_document
    from osp.identity.keystore import Keystore

    key = Keystore(c.settings().identity_dir).load(_passphrase(c.passphrase_file))
    doc = did_document(key.did)
    if as_json:
        _emit_json({"did": key.did, "didDocument": doc})
    else:
        out.print(key.did)
        out.print(json.dumps(doc, indent=2))


# --- content ---------------------------------------------------------------------


@cli.command("cid")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--profile", default="unixfs-v1-2025", show_default=True,
              type=click.Choice(["unixfs-v1-2025", "kubo-cidv1-256k-174", "unixfs-v0-2015"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
def cid_cmd(files: tuple[Path, ...], profile: str, as_json: bool) -> None:
    """Print the IPFS CID of each file without publishing (like `ipfs add --only-hash`)."""
    from osp.content.unixfs import cid_of_file

    for path in files:
        cid = cid_of_file(path, profile)
        if as_json:
            _emit_json({"file": str(path), "cid": str(cid), "profile": profile, "size": path.stat().st_size})
        else:
            out.print(f"{cid}  {path}")


# --- publish -----------------------------------------------------------------------


def _parse_params(params: tuple[str, ...]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CallerError(f"--param takes KEY=VALUE, got {item!r}")
        try:
            result[key] = json.loads(value)
        except ValueError:
            result[key] = value
    return result


@cli.command("publish")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--title", help="Track title (default: the file's title tag).")
@click.option("--artist-name", help="Display name of the artist (default: the file's artist tag).")
@click.option("--album", help="Album name.")
@click.option("--license", "license_", default="CC0-1.0", show_default=True, help="SPDX license id.")
@click.option("--released", help="Release date YYYY-MM-DD (default: today).")
@click.option("--tag", "tags", multiple=True, help="Tag (repeatable).")
@click.option("--ai-generator", help="AI generator (e.g. a product or tool name).")
@click.option("--ai-model", help="Model name.")
@click.option("--ai-model-version", help="Model version.")
@click.option("--prompt", help="Generation prompt.")
@click.option("--negative-prompt", help="Negative prompt.")
@click.option("--seed", type=int, help="Generation seed.")
@click.option("--param", "params", multiple=True, help="Generation parameter KEY=VALUE (repeatable; JSON values).")
@click.option("--human-contribution", help="What the human did (arrangement, lyrics, mixing …).")
@click.option("--parent", "parents", multiple=True, help="Track id this is a remix of (repeatable).")
@click.option("--stem", "stems", multiple=True, help="CID of a stem (repeatable).")
@click.option("--lyrics-file", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Lyrics text file.")
@click.option("--artwork", help="CID of the cover artwork.")
@click.option("--hybrid", is_flag=True, help="Make a hybrid v1+v2 torrent (BEP 52); v1 by default for WebTorrent, aria2, Transmission.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per track.")
@pass_ctx
def publish_cmd(c: Ctx, files: tuple[Path, ...], title: str | None, artist_name: str | None, album: str | None,
                license_: str, released: str | None, tags: tuple[str, ...], ai_generator: str | None,
                ai_model: str | None, ai_model_version: str | None, prompt: str | None, negative_prompt: str | None,
                seed: int | None, params: tuple[str, ...], human_contribution: str | None, parents: tuple[str, ...],
                stems: tuple[str, ...], lyrics_file: Path | None, artwork: str | None, hybrid: bool, as_json: bool) -> None:
    """Import, sign, store and (if the node runs) seed audio files as OSP Track Records."""
    if title and len(files) > 1:
        raise CallerError("--title names one track; publish several files without it (their tags give titles)")
    provenance: dict[str, Any] = {
        k: v for k, v in {
            "generator": ai_generator, "model": ai_model, "modelVersion": ai_model_version, "prompt": prompt,
            "negativePrompt": negative_prompt, "seed": seed, "parameters": _parse_params(params) or None,
            "humanContribution": human_contribution, "parents": list(parents) or None, "stems": list(stems) or None,
        }.items() if v is not None
    }
    if ai_generator or ai_model:
        provenance["aiGenerated"] = True
    body: dict[str, Any] = {
        "title": title, "artistName": artist_name, "album": album, "license": license_, "released": released,
        "tags": list(tags), "provenance": provenance or None, "artwork": artwork,
        "lyrics": lyrics_file.read_text("utf-8") if lyrics_file else None,
    }
    body = {k: v for k, v in body.items() if v is not None}
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CallerError(f"no such file: {', '.join(missing)}")
    running = c.running()
    results: list[dict[str, Any]] = []
    if running:
        client = ControlClient(running)
        with _file_progress(files, as_json) as advance:
            for f in files:
                answer = client.post("/api/publish", {**body, "paths": [str(f.resolve())], "hybrid": hybrid or None})
                results.extend(answer["tracks"])
                advance(f, f.stat().st_size)
    else:
        from osp.apps.http.control import metadata_from, track_summary
        from osp.node.core import Node

        meta = metadata_from(body)
        node = Node(c.settings())
        try:
            node.signing_key()
            with _file_progress(files, as_json) as advance:
                for f in files:
                    published = node.publish(f, meta, hybrid=hybrid or None, on_bytes=functools.partial(advance, f))
                    results.append({**track_summary(published.track.record, published.infohash),
                                    "created": published.created})
                    advance(f, 0)
        finally:
            node.close()
    for r in results:
        if as_json:
            _emit_json(r)
        else:
            state = "published" if r.get("created", True) else "already published"
            out.print(f"{state}: {r['title']}\n  id      {r['id']}\n  cid     {r['cid']}\n  torrent {r['torrent']}")
    if hybrid:
        err.print("note: hybrid (v1+v2) torrents: aria2 1.36, Transmission 3.00 and WebTorrent cannot use them; "
                  "publish without --hybrid for the widest reach", style="yellow")
    if not running and not as_json:
        out.print("not seeding yet: start `osp node` to share these tracks", style="dim")


@contextmanager
def _file_progress(files: tuple[Path, ...], quiet: bool) -> Iterator[Callable[..., None]]:
    total = sum(f.stat().st_size for f in files)
    if quiet or len(files) < 2 and total < 64 * 1024 * 1024:
        yield lambda *a, **k: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("publishing", total=total)

        def advance(f: Path, n: int) -> None:
            bar.update(task, advance=n, description=f"publishing {f.name}")

        yield advance


# --- library -------------------------------------------------------------------------


@cli.command("ls")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per track.")
@pass_ctx
def ls_cmd(c: Ctx, as_json: bool) -> None:
    """List the tracks in the library."""
    from osp.apps.http.control import track_summary
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
            with Library(settings.library_path) as lib:
                tracks = [track_summary(strict_loads(r.record), r.infohash) | {"origin": r.origin} for r in lib.tracks()]
    if as_json:
        for t in tracks:
            _emit_json(t)
        return
    if not tracks:
        out.print("the library is empty: `osp publish FILE` adds a track")
        return
    for t in tracks:
        r = t["record"]
        minutes, seconds = divmod(int(round(r["duration"])), 60)
        out.print(f"{t['id']}  {minutes:2d}:{seconds:02d}  {r['format']:<11} {r['title']}")


# --- network -----------------------------------------------------------------------------


@cli.command("resolve")
@click.argument("track")
@click.option("--peer", help="HTTP base URL of a node to ask (e.g. http://127.0.0.2:8787).")
@click.option("--json", "as_json", is_flag=True, help="Print the verified record as a JSON object.")
@pass_ctx
def resolve_cmd(c: Ctx, track: str, peer: str | None, as_json: bool) -> None:
    """Fetch and verify a Track Record (id, magnet, record file or record URL)."""
    from osp.apps.http.control import track_summary

    running = c.running()
    if running:
        summary = ControlClient(running).post("/api/resolve", {"track": track, "peer": peer})
    else:
        from osp.node.core import Node

        node = Node(c.settings())
        try:
            summary = track_summary(node.resolve(track, peer).record)
        finally:
            node.close()
    if as_json:
        _emit_json(summary)
    else:
        r = summary["record"]
        out.print(f"verified {r['title']} by {r.get('artistName') or r['artist']}", style="green")
        out.print(json.dumps(r, indent=2, ensure_ascii=False))


def _node_settings(c: Ctx, listen: str, http: str, control: str, dht: bool, bootstrap: tuple[str, ...],
                   allow_private: bool, **extra: Any) -> Settings:
    return c.settings(
        listen=parse_hostport(listen, what="--listen"),
        http=parse_hostport(http, what="--http"),
        control=parse_hostport(control, what="--control"),
        dht=dht,
        bootstrap=tuple(parse_hostport(b, what="--bootstrap") for b in bootstrap),
        allow_private_peers=allow_private,
        **extra,
    )


def _local_peer(peer: str | None) -> bool:
    """True when ``--peer`` names a loopback or private address: tune the session for it."""
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(peer).hostname if peer else None
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_private
    except ValueError:
        return False


def _transfer_progress(poll: Callable[[], dict[str, Any]], quiet: bool, timeout: float) -> dict[str, Any]:
    """Poll a transfer until it ends, with a progress bar (bytes, rate, peers)."""
    deadline = time.monotonic() + timeout
    state = poll()
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TextColumn("{task.fields[peers]} peers"), console=err, transient=True, disable=quiet) as bar:
        task = bar.add_task(f"fetching {state['title']}", total=state["total"] or None, peers=0)
        while state["state"] not in ("complete", "failed"):
            if time.monotonic() > deadline:
                raise CallerError(f"gave up after {timeout:.0f} s ({state['done']} of {state['total']} bytes)")
            bar.update(task, completed=state["done"], peers=state["peers"])
            time.sleep(0.2)
            state = poll()
        bar.update(task, completed=state["done"])
    return state


def _raise_failed(state: dict[str, Any]) -> None:
    from osp.core.errors import IntegrityError, PeerError

    error = state.get("error") or {}
    message = error.get("message", "transfer failed")
    if error.get("error") == "integrity":
        raise IntegrityError(message, check=str(error.get("check", "?")))
    raise PeerError(message)


NETWORK_OPTIONS = [
    click.option("--listen", default="0.0.0.0:6881", show_default=True, help="BitTorrent listen HOST:PORT."),
    click.option("--http", default="127.0.0.1:8787", show_default=True, help="Peer HTTP listener HOST:PORT."),
    click.option("--control", default="127.0.0.1:8788", show_default=True, help="Control API HOST:PORT (loopback only)."),
    click.option("--dht/--no-dht", default=True, show_default=True, help="Join the Mainline DHT."),
    click.option("--bootstrap", multiple=True, help="DHT bootstrap node HOST:PORT (repeatable)."),
    click.option("--allow-private-peers", is_flag=True,
                 help="Tune for loopback/LAN peers: uTP off, private-network DHT rules (automatic when --peer is local)."),
]


def network_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(NETWORK_OPTIONS):
        f = option(f)
    return f


@cli.command("get")
@click.argument("track")
@click.option("--peer", help="HTTP base URL of a node that has the track.")
@click.option("--gateway", help="Fetch the bytes from this IPFS trustless gateway instead (every block verified).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Also copy the verified file here.")
@click.option("--timeout", default=3600.0, show_default=True, help="Give up after this many seconds.")
@click.option("--stall-timeout", default=60.0, show_default=True, help="Fail after this many seconds without progress.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as a JSON object.")
@network_options
@pass_ctx
def get_cmd(c: Ctx, track: str, peer: str | None, gateway: str | None, output: Path | None, timeout: float,
            stall_timeout: float,
            as_json: bool, listen: str, http: str, control: str, dht: bool, bootstrap: tuple[str, ...],
            allow_private_peers: bool) -> None:
    """Download a track over BitTorrent (or --gateway), verify its CID, store and seed it."""
    running = c.running()
    if gateway:
        if running:
            state = ControlClient(running).post("/api/fetch", {"track": track, "peer": peer, "gateway": gateway})
        else:
            from osp.node.core import Node

            node = Node(c.settings())
            try:
                fetched = node.fetch_from_gateway(track, gateway, peer)
            finally:
                node.close()
            state = {"id": fetched.id, "state": "complete"}
        data_dir = c.data_dir
    elif running:
        client = ControlClient(running)
        state = client.post("/api/fetch", {"track": track, "peer": peer, "stallTimeout": stall_timeout})
        state = _transfer_progress(lambda: client.get(f"/api/transfers/{state['id']}"), as_json, timeout)
        data_dir = c.data_dir
    else:
        from osp.node.core import Node

        settings = _node_settings(c, listen, "127.0.0.1:0", "127.0.0.1:0", dht, bootstrap,
                                  allow_private_peers or _local_peer(peer))
        node = Node(settings)
        try:
            transfer = node.fetch(track, peer, stall_timeout=stall_timeout)
            state = _transfer_progress(lambda: transfer.state.to_json(), as_json, timeout)
        finally:
            node.close()
        data_dir = settings.data_dir
    if state["state"] == "failed":
        _raise_failed(state)
    from osp.library.store import Library

    with Library(Settings(data_dir=data_dir).library_path) as lib:
        row = lib.track(state["id"])
        file = lib.file(row.cid) if row else None
    if row is None or file is None:
        raise CallerError("the transfer finished but the track is not in the library")
    path = data_dir / file.path
    if output:
        target = output / path.name if output.is_dir() else output
        shutil.copyfile(path, target)
        path = target
    if as_json:
        from osp.apps.http.control import track_summary
        from osp.records.canonical import strict_loads

        _emit_json({**track_summary(strict_loads(row.record), row.infohash), "path": str(path)})
    else:
        out.print(f"verified {row.title} ({row.size} bytes, CID {row.cid})\n  saved {path}", style="green")


@cli.command("play")
@click.argument("track")
@click.option("--peer", help="HTTP base URL of a node that has the track.")
@click.option("--player", help="Player command (default: mpv or ffplay if installed); the URL is appended.")
@click.option("-o", "--output", type=click.Path(allow_dash=True), help="'-' writes the audio to stdout as it arrives.")
@network_options
@pass_ctx
def play_cmd(c: Ctx, track: str, peer: str | None, player: str | None, output: str | None, listen: str, http: str,
             control: str, dht: bool, bootstrap: tuple[str, ...], allow_private_peers: bool) -> None:
    """Stream a track: the first pieces come first, playback starts long before the download ends."""
    if output not in (None, "-"):
        raise CallerError("play writes to stdout with -o -; use `osp get -o PATH` to save a file")
    command = None
    if output is None:
        command = _player_command(player)
    running = c.running()
    if running:
        client = ControlClient(running)
        state = client.post("/api/fetch", {"track": track, "peer": peer})
        if state["state"] == "failed":
            _raise_failed(state)
        if output == "-":
            _to_stdout(client.stream(state["id"]))
        else:
            _run_player(command, client.stream_url(state["id"]))  # type: ignore[arg-type]
        return
    from osp.apps.http.server import NodeServer
    from osp.node.core import Node

    settings = _node_settings(c, listen, "127.0.0.1:0", "127.0.0.1:0", dht, bootstrap,
                              allow_private_peers or _local_peer(peer))
    node = Node(settings)
    if output == "-":
        try:
            node.start_engine()
            transfer = node.fetch(track, peer)
            source = node.stream_source(transfer.track.id)
            _to_stdout(source.read(0, source.size - 1))
        finally:
            node.close()
        return
    server = NodeServer(node)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not server.ready.wait(60):
        raise CallerError("the embedded node did not start")
    try:
        transfer = node.fetch(track, peer)
        _run_player(command, f"{server.control_url}/stream/{transfer.track.id}?token={server.token}")  # type: ignore[arg-type]
    finally:
        server.stop()
        thread.join(30)


def _to_stdout(chunks: Iterator[bytes]) -> None:
    sink = sys.stdout.buffer
    try:
        for chunk in chunks:
            sink.write(chunk)
        sink.flush()
    except BrokenPipeError:
        pass


def _player_command(player: str | None) -> list[str]:
    import shlex

    if player:
        return shlex.split(player)
    for name, args in (("mpv", ["--no-video"]), ("ffplay", ["-nodisp", "-autoexit", "-loglevel", "error"])):
        if shutil.which(name):
            return [name, *args]
    raise CallerError("no player found: install mpv or ffplay, give --player CMD, or use -o - | your-player")


def _run_player(command: list[str], url: str) -> None:
    err.print(f"streaming {url.split('?')[0]}")
    try:
        subprocess.run([*command, url], check=False)
    except FileNotFoundError as exc:
        raise CallerError(f"cannot run the player {command[0]!r}") from exc


# --- node ------------------------------------------------------------------------------------


@cli.command("node")
@network_options
@click.option("--public-url", help="Base URL peers reach the HTTP listener at (web seeds point here).")
@click.option("--upload-limit", default=0, show_default=True, help="Upload cap in bytes/s (0: none).")
@click.option("--hybrid", is_flag=True, help="Make hybrid v1+v2 (BEP 52) torrents for tracks published through it.")
@pass_ctx
def node_cmd(c: Ctx, listen: str, http: str, control: str, dht: bool, bootstrap: tuple[str, ...],
             allow_private_peers: bool, public_url: str | None, upload_limit: int, hybrid: bool) -> None:
    """Run the node: seed the library, serve records, the gateway and the control API."""
    from osp.apps.http.server import NodeServer
    from osp.node.core import Node

    if c.running():
        raise CallerError(f"a node already runs for {c.data_dir} (pid {c.running().pid})")  # type: ignore[union-attr]
    settings = _node_settings(c, listen, http, control, dht, bootstrap, allow_private_peers,
                              public_url=public_url, upload_rate_limit=upload_limit, hybrid_torrents=hybrid)
    node = Node(settings)
    try:
        if node.keystore.exists():
            node.signing_key()
    except KeystoreError:
        node.close()
        raise
    server = NodeServer(node)

    def ready(s: NodeServer) -> None:
        engine = s.node.engine
        err.print(f"osp node ready: {s.node.library.track_count()} tracks seeding")
        err.print(f"  peer API + gateway  {s.peer_url}")
        err.print(f"  control API         {s.control_url}  (token in {settings.token_path})")
        err.print(f"  BitTorrent          port {engine.listen_port if engine else '-'}, DHT {'on' if dht else 'off'}")

    server.run(ready)
    err.print("osp node stopped; resume data saved")


@cli.command("conformance")
@click.argument("url")
@click.option("--tracks", default=3, show_default=True, help="How many of the node's tracks to check in depth.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per check.")
def conformance_cmd(url: str, tracks: int, as_json: bool) -> None:
    """Check a node's peer HTTP API (ours or anyone's) against OSP v0.1; prints a pass/fail table."""
    from rich.table import Table

    from osp.apps.conformance import run_conformance

    results = run_conformance(url, max_tracks=tracks)
    if as_json:
        for r in results:
            _emit_json(r.to_json())
    else:
        table = Table(title=f"OSP v0.1 conformance of {url}", show_lines=False)
        for col in ("check", "result", "spec", "detail"):
            table.add_column(col)
        for r in results:
            table.add_row(r.name, "PASS" if r.ok else "FAIL", r.section, r.detail, style=None if r.ok else "red")
        out.print(table)
        failed = sum(not r.ok for r in results)
        out.print(f"{len(results) - failed} of {len(results)} checks pass" + (f"; {failed} FAIL" if failed else ""))
    if any(not r.ok for r in results):
        raise SystemExit(1)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="osp")
