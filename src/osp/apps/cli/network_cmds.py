"""``osp resolve``, ``get``, ``play``, ``node``, ``conformance``: talking to the network."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx, plural
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import printable
from osp.core.errors import CallerError, OspError
from osp.core.settings import Settings, parse_gateway_url, parse_hostport, parse_size

# --- network -----------------------------------------------------------------------------


def _node_settings(c: Ctx, listen: str, http: str, control: str, dht: bool, bootstrap: tuple[str, ...],
                   allow_private: bool, **extra: Any) -> Settings:
    """Settings from the network flags; a loopback or private ``--bootstrap`` node turns
    ``allow_private_peers`` on (a private test DHT), as a local ``--peer`` does."""
    nodes = tuple(parse_hostport(b, what="--bootstrap") for b in bootstrap)
    return c.settings(
        listen=parse_hostport(listen, what="--listen"),
        http=parse_hostport(http, what="--http"),
        control=parse_hostport(control, what="--control"),
        dht=dht,
        bootstrap=nodes,
        allow_private_peers=allow_private or _local_peer(*(_host_url(h, p) for h, p in nodes)),
        **extra,
    )


def _host_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _local_peer(*urls: str | None) -> bool:
    """True when a URL the user typed (``--peer``, ``--gateway``, a record URL) names a
    loopback or private address: the egress guard lets it through (the user's own URLs
    are trusted as given) and the session is tuned for it."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    for url in urls:
        if not url or not url.startswith(("http://", "https://")):
            continue
        host = urlsplit(url).hostname
        if not host:
            continue
        try:
            addrs = {ipaddress.ip_address(host)}
        except ValueError:
            try:
                addrs = {ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in socket.getaddrinfo(host, None)}
            except (OSError, UnicodeError, ValueError):
                continue
        if any(not a.is_global for a in addrs):
            return True
    return False


def _transfer_progress(poll: Callable[[], dict[str, Any]], quiet: bool, timeout: float) -> dict[str, Any]:
    """Poll a transfer until it ends, with a progress bar (bytes, rate, peers)."""
    deadline = time.monotonic() + timeout
    state = poll()
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TextColumn("{task.fields[peers]}", markup=False), console=err, transient=True, disable=quiet) as bar:
        task = bar.add_task(f"fetching {printable(state['title'])}", total=state["total"] or None, peers=plural(0, "peer"))
        while state["state"] not in ("complete", "failed", "cancelled", "stopped"):
            if time.monotonic() > deadline:
                raise CallerError(f"gave up after {timeout:.0f} s ({state['done']} of {state['total']} bytes)")
            bar.update(task, completed=state["done"], peers=plural(state["peers"], "peer"))
            time.sleep(0.2)
            state = poll()
        bar.update(task, completed=state["done"])
    return state


def _print_detached(state: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(state)
    else:
        out.print(f"{state['state']}: {printable(state['title'])} ({printable(state['id'])})\n  follow it with `osp transfers`, "
                  "stop it with `osp cancel`")


def _cancel_quietly(client: ControlClient, track_id: str) -> None:
    """Ctrl-C of a non-detached `get`: cancel the transfer it started on the node."""
    from osp.core.errors import OspError

    try:
        client.post("/api/cancel", {"track": track_id})
        err.print("download cancelled")
    except OspError:
        pass  # already finished, or the node is gone


def _raise_failed(state: dict[str, Any]) -> None:
    from osp.core.errors import IntegrityError, PeerError

    error = state.get("error") or {}
    message = error.get("message", "transfer failed")
    if error.get("error") == "integrity":
        raise IntegrityError(message, check=str(error.get("check", "?")))
    raise PeerError(message)


GATEWAYS_HELP = ("Extra IPFS trustless gateway base URL (repeatable, tried in order): a web seed of each "
                 "transfer where it answers Range, and the verified block-by-block fallback when BitTorrent "
                 "cannot start or stalls; every byte checked by piece hash and CID.")

NETWORK_OPTIONS = [
    click.option("--listen", default="0.0.0.0:6881", show_default=True, help="BitTorrent listen HOST:PORT."),
    click.option("--http", default="0.0.0.0:8787", show_default=True,
                 help="Peer HTTP listener HOST:PORT: the read-only public face (records, search, gateway) that other "
                      "nodes reach; a loopback address hides it (the default falls back to a free port if busy)."),
    click.option("--control", default="127.0.0.1:8788", show_default=True, help="Control API and web app HOST:PORT (loopback only; the default falls back to a free port if busy)."),
    click.option("--dht/--no-dht", default=True, show_default=True, help="Join the Mainline DHT."),
    click.option("--bootstrap", multiple=True, help="DHT bootstrap node HOST:PORT (repeatable)."),
    click.option("--allow-private-peers", is_flag=True,
                 help="Tune for loopback/LAN peers: uTP off, private-network DHT rules (automatic when --peer or --bootstrap is local)."),
]


def network_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(NETWORK_OPTIONS):
        f = option(f)
    return f


LOOKUP_OPTIONS = [NETWORK_OPTIONS[0], *NETWORK_OPTIONS[3:]]  #: no listeners: --listen, --dht, --bootstrap, --allow-private-peers


def lookup_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The network options of a command that starts no listener (``resolve``, ``search``, ``get``, ``play``):
    ``--listen``, ``--dht/--no-dht``, ``--bootstrap``, ``--allow-private-peers``."""
    for option in reversed(LOOKUP_OPTIONS):
        f = option(f)
    return f


def warn_ignored_lookup_options() -> None:
    """With a running node the command asks it: say which lookup flags given on the command
    line are ignored (the node uses its own session and DHT)."""
    ctx = click.get_current_context()
    given = [flag for name, flag in (("listen", "--listen"), ("dht", "--dht/--no-dht"), ("bootstrap", "--bootstrap"),
                                     ("allow_private_peers", "--allow-private-peers"))
             if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)]
    if given:
        err.print(f"{', '.join(given)} ignored: the running node (osp node) looks up with its own DHT session",
                  style="yellow", highlight=False, soft_wrap=True)


@cli.command("resolve")
@click.argument("track")
@click.option("--peer", help="HTTP base URL of a node to ask (e.g. http://127.0.0.2:8787).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object: {\"id\", \"cid\", \"torrent\", \"title\", \"artist\", \"infohash\", "
              "\"record\"} (record: the verified Track Record).")
@lookup_options
@pass_ctx
def resolve_cmd(c: Ctx, track: str, peer: str | None, as_json: bool, listen: str, dht: bool,
                bootstrap: tuple[str, ...], allow_private_peers: bool) -> None:
    """Fetch and verify a Track Record (id, magnet, record file or record URL).

    Without --peer a track id is looked up on the DHT (--bootstrap, --listen, --no-dht
    apply when no node runs for the data directory; a running node uses its own DHT)."""
    from osp.apps.http.shapes import track_summary

    running = c.running()
    if running:
        warn_ignored_lookup_options()
        summary = ControlClient(running).post("/api/resolve", {"track": track, "peer": peer})
    else:
        from osp.node.core import Node

        node = Node(_node_settings(c, listen, "127.0.0.1:0", "127.0.0.1:0", dht, bootstrap,
                                   allow_private_peers or _local_peer(peer, track)))
        try:
            summary = track_summary(node.resolve(track, peer).record)
        finally:
            node.close()
    if as_json:
        emit_json(summary)
    else:
        from osp.apps.cli.views import resolve_lines

        for label, value in resolve_lines(summary):
            out.print(f"{label:<9} {value}", style="green" if label == "verified" else None)


def _size_option(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """Click callback: a size flag as bytes (``parse_size``); a bad value is a usage error (exit 2)."""
    try:
        return parse_size(value, what="")
    except CallerError as exc:
        raise click.BadParameter(exc.message) from exc


cache_option = click.option(
    "--cache-size", default="4G", show_default=True, callback=_size_option,
    help="Bytes of fetched tracks to keep and seed (4G, 500M, 750k or bytes; K/M/G are powers of 1024); past it "
         "the least recently played are evicted. Your published tracks never count. 0 keeps no fetched track once "
         "it is no longer playing or transferring (except the one just fetched). A running node keeps its own.")


@cli.command("get")
@click.argument("track")
@click.option("--peer", "peers", multiple=True, metavar="URL",
              help="HTTP base URL of a node that has the track (repeat for several: all are used at once; the record comes from the first that answers).")
@click.option("--gateway", help="Fetch the bytes from this IPFS trustless gateway instead of BitTorrent (every "
              "block verified); a track id also needs --peer unless the gateway is an OSP node.  (On `osp node` "
              "and `osp play`, --gateway instead adds extra gateways the node falls back on.)")
@click.option("-o", "--output", type=click.Path(),
              help="Also copy the verified file here; a directory (or a path ending in /, created) gets "
                   "'Artist – Title.ext'.")
@click.option("--timeout", default=3600.0, show_default=True, help="Give up after this many seconds.")
@click.option("--stall-timeout", default=60.0, show_default=True, help="Fail after this many seconds without progress.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as a JSON object.")
@click.option("--detach", is_flag=True,
              help="Return once the running node has started the download (see `osp transfers`, `osp cancel`).")
@lookup_options
@cache_option
@pass_ctx
def get_cmd(c: Ctx, track: str, peers: tuple[str, ...], gateway: str | None, output: str | None, timeout: float,
            stall_timeout: float,
            as_json: bool, detach: bool, listen: str, dht: bool, bootstrap: tuple[str, ...],
            allow_private_peers: bool, cache_size: int) -> None:
    """Download a track over BitTorrent (or --gateway), verify its CID, store and seed it.

    Through a running node, Ctrl-C cancels the download it started (unless --detach);
    without one, Ctrl-C keeps the verified pieces and the next `osp get` or `osp node` resumes."""
    running = c.running()
    peer = peers[0] if peers else None
    if detach and (gateway or not running):
        raise CallerError("--detach needs a running node (`osp node`) and a BitTorrent download (not --gateway)")
    if detach and output:
        raise CallerError("-o copies the file when the download ends; with --detach, run `osp get TRACK -o …` later")
    out_dir, out_file = _output_target(output)
    if gateway:
        if running:
            state = ControlClient(running).post("/api/fetch", {"track": track, "peer": list(peers), "gateway": gateway})
        else:
            from osp.node.core import Node

            node = Node(c.settings(allow_private_peers=allow_private_peers or _local_peer(*peers, gateway, track),
                                   cache_size=cache_size))
            try:
                fetched = node.fetch_from_gateway(track, gateway, peer)
            finally:
                node.close()
            state = {"id": fetched.id, "state": "complete"}
        data_dir = c.data_dir
    elif running:
        client = ControlClient(running)
        state = {"id": track}  # until the node answers: a track id names the transfer to cancel
        try:
            state = client.post("/api/fetch", {"track": track, "peer": list(peers), "stallTimeout": stall_timeout})
            if detach:
                _print_detached(state, as_json)
                return
            state = _transfer_progress(lambda: client.get(f"/api/transfers/{state['id']}"), as_json, timeout)
        except KeyboardInterrupt:
            if not detach:
                _cancel_quietly(client, state["id"])
            raise
        data_dir = c.data_dir
    else:
        from osp.node.core import Node

        settings = _node_settings(c, listen, "127.0.0.1:0", "127.0.0.1:0", dht, bootstrap,
                                  allow_private_peers or _local_peer(*peers, track), cache_size=cache_size)
        node = Node(settings)
        try:
            transfer = node.fetch(track, peers, stall_timeout=stall_timeout)
            state = _transfer_progress(lambda: transfer.state.to_json(), as_json, timeout)
        finally:
            node.close()
        data_dir = settings.data_dir
    if state["state"] == "failed":
        _raise_failed(state)
    if state["state"] in ("cancelled", "stopped"):
        raise CallerError(f"the download was {state['state']} before it finished")
    from osp.library.store import Library

    with Library(Settings(data_dir=data_dir).library_path) as lib:
        row = lib.track(state["id"])
        file = lib.file(row.cid) if row else None
    if row is None or file is None:
        raise CallerError("the transfer finished but the track is not in the library")
    path = data_dir / file.path
    if out_dir is not None:
        path = _copy_into(path, out_dir, _output_name(row, path))
    elif out_file is not None:
        shutil.copyfile(path, out_file)  # a path the user typed: theirs to overwrite, as cp does
        path = out_file
    if as_json:
        from osp.apps.http.shapes import track_summary
        from osp.records.canonical import strict_loads

        emit_json({**track_summary(strict_loads(row.record), row.infohash), "path": str(path)})
    else:
        out.print(f"verified {printable(row.title)} ({row.size} bytes, CID {row.cid})\n  saved {path}", style="green")


def _output_target(output: str | None) -> tuple[Path | None, Path | None]:
    """``(directory, file)`` for ``-o``, checked before anything is downloaded: an existing
    directory, or a path ending in ``/`` (created), is a directory; else a file whose
    parent directory must exist."""
    if not output:
        return None, None
    path = Path(output).expanduser()
    if output.endswith(("/", "\\")) or path.is_dir():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CallerError(f"-o {output}: cannot create that directory: {exc.strerror or exc}") from exc
        return path, None
    if not path.parent.is_dir():
        raise CallerError(f"-o {output}: the directory {path.parent} does not exist (end the path with / to create it)")
    return None, path


def _copy_into(src: Path, directory: Path, name: str) -> Path:
    """Copy ``src`` into ``directory`` as ``name`` (a name built from a peer's strings):
    never over another file or through a symlink — an identical file there is reused,
    else "Name (2).ext", "Name (3).ext" … is created with ``O_EXCL | O_NOFOLLOW``."""
    import filecmp
    import os

    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, dot + ext) if stem else (name, "")
    for n in range(1, 1000):
        target = directory / (name if n == 1 else f"{stem} ({n}){ext}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            if target.is_file() and not target.is_symlink() and filecmp.cmp(src, target, shallow=False):
                return target  # the same bytes, saved by an earlier `get -o`
            continue
        try:
            with os.fdopen(fd, "wb") as dst, open(src, "rb") as f:
                shutil.copyfileobj(f, dst, 1024 * 1024)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target
    raise CallerError(f"{directory} already holds 999 files named like {name!r}")


def _output_name(row: Any, path: Path) -> str:
    """``Artist – Title.ext`` for ``-o DIR/`` (sanitized: the strings are the peer's), not the CID."""
    from osp.apps.cli.views import safe_filename
    from osp.records.canonical import strict_loads

    record = strict_loads(row.record)
    return safe_filename(str(record.get("artistName") or ""), str(record.get("title") or ""), path.suffix, path.stem)


@cli.command("play")
@click.argument("track")
@click.option("--peer", "peers", multiple=True, metavar="URL",
              help="HTTP base URL of a node that has the track (repeat for several: all are used at once; the record comes from the first that answers).")
@click.option("--player", help="Player command (default: mpv or ffplay if installed); the URL is appended.")
@click.option("-o", "--output", type=click.Path(allow_dash=True), help="'-' writes the audio to stdout as it arrives.")
@click.option("--gateway", "gateways", multiple=True, metavar="URL", help=GATEWAYS_HELP)
@lookup_options
@cache_option
@pass_ctx
def play_cmd(c: Ctx, track: str, peers: tuple[str, ...], player: str | None, output: str | None, gateways: tuple[str, ...],
             listen: str, dht: bool, bootstrap: tuple[str, ...],
             allow_private_peers: bool, cache_size: int) -> None:
    """Stream a track: the first pieces come first, playback starts long before the download ends."""
    if output not in (None, "-"):
        raise CallerError("play writes to stdout with -o -; use `osp get -o PATH` to save a file")
    command = None
    if output is None:
        command = _player_command(player)
    running = c.running()
    if running and gateways:
        raise CallerError("the running node uses its own gateways: give --gateway to `osp node` instead")
    if running:
        client = ControlClient(running)
        state = client.post("/api/fetch", {"track": track, "peer": list(peers)})
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
                              allow_private_peers or _local_peer(*peers, track, *gateways),
                              gateways=tuple(parse_gateway_url(g) for g in gateways), cache_size=cache_size)
    node = Node(settings)
    if output == "-":
        try:
            node.start_engine()
            transfer = node.fetch(track, peers)
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
        import time as _time

        from osp.apps.http.credentials import stream_credential

        transfer = node.fetch(track, peers)
        credential = stream_credential(server.token, transfer.track.id, _time.time())
        _run_player(command, f"{server.control_url}/stream/{transfer.track.id}?t={credential}")  # type: ignore[arg-type]
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
    """Run the player on ``url``; a player that fails makes the command fail (exit 2) with its status."""
    err.print(f"streaming {url.split('?')[0]}", soft_wrap=True)
    try:
        status = subprocess.run([*command, url], check=False).returncode
    except OSError as exc:
        raise CallerError(f"cannot run the player {command[0]!r}: {exc.strerror or exc}") from exc
    if status < 0:
        raise CallerError(f"the player {command[0]!r} was killed by signal {-status}")
    if status != 0:
        raise CallerError(f"the player {command[0]!r} exited with status {status}")


# --- node ------------------------------------------------------------------------------------


@cli.command("node")
@network_options
@click.option("--share", default="0.0.0.0:8789", show_default=True,
              help="Share listener HOST:PORT: share pages (/t/TRACK plays a track in any browser over WebTorrent) and "
                   "the node's WebTorrent tracker (ws://HOST:PORT/announce); an origin of its own (the default falls "
                   "back to a free port if busy).")
@click.option("--webtorrent/--no-webtorrent", default=True, show_default=True,
              help="Announce every torrent to the node's own WebTorrent tracker, so browsers get pieces from this "
                   "node over WebRTC (the BitTorrent <-> WebTorrent bridge).")
@click.option("--public-url", help="Base URL peers reach the HTTP listener at (web seeds point here).")
@click.option("--share-url", help="Base URL browsers reach the share listener at (share links point here; "
              "default: --public-url's host with the share port).")
@click.option("--upload-limit", default=0, show_default=True, help="Upload cap in bytes/s for BitTorrent and HTTP together (0: none).")
@click.option("--hybrid", is_flag=True, help="Make hybrid v1+v2 (BEP 52) torrents for tracks published through it.")
@click.option("--gateway", "gateways", multiple=True, metavar="URL",
              help=GATEWAYS_HELP + " A loopback or LAN gateway needs --allow-private-peers.")
@cache_option
@click.option("--port-mapping/--no-port-mapping", default=None,
              help="Ask the home router to forward the BitTorrent port (UPnP and NAT-PMP). Default: on, except "
                   "with --allow-private-peers (test networks); given explicitly, it wins.")
@click.option("--feed-poll-interval", default=300.0, show_default=True, metavar="SECONDS",
              help="Seconds between two polls of each followed artist's feed (osp follow).")
@click.option("--analysis/--no-analysis", default=True, show_default=True,
              help="Fingerprint, analyse (tempo, key, loudness) and check the C2PA credentials of every track "
                   "published or fetched, in the background at low priority.")
@pass_ctx
def node_cmd(c: Ctx, listen: str, http: str, control: str, dht: bool, bootstrap: tuple[str, ...],
             allow_private_peers: bool, share: str, webtorrent: bool, public_url: str | None, share_url: str | None, upload_limit: int, hybrid: bool,
             gateways: tuple[str, ...], cache_size: int, port_mapping: bool | None,
             feed_poll_interval: float, analysis: bool) -> None:
    """Run the node: seed the library, serve records, the gateway, the control API with
    the web app (`osp ui` opens it) and the share pages.

    Without --bootstrap the node joins the public Mainline DHT through libtorrent's usual
    routers (router.bittorrent.com, dht.transmissionbt.com, …); its routing table is saved
    in the data directory and reused at the next start.  A default port that is taken
    (another node runs on this machine) is replaced by a free one; a port given explicitly
    must be free."""
    from osp.apps.cli.status_cmds import reachability_lines
    from osp.apps.http.server import NodeServer
    from osp.node.core import Node
    from osp.node.network import peer_listener_hidden, reachability_report

    if c.running():
        raise CallerError(f"a node already runs for {c.data_dir} (pid {c.running().pid})")  # type: ignore[union-attr]
    settings = _node_settings(c, listen, http, control, dht, bootstrap, allow_private_peers,
                              public_url=public_url, share_public_url=share_url, upload_rate_limit=upload_limit, hybrid_torrents=hybrid,
                              gateways=tuple(parse_gateway_url(g, allow_private=allow_private_peers) for g in gateways),
                              cache_size=cache_size, port_mapping=port_mapping,
                              feed_poll_interval=feed_poll_interval,
                              share=parse_hostport(share, what="--share"), webtorrent=webtorrent,
                              track_jobs=analysis)
    _log_evictions()
    node = Node(settings)
    try:
        if node.keystore.exists():
            node.signing_key()
        # a busy default port falls back to a free one; a port given explicitly must be free
        source = click.get_current_context().get_parameter_source
        defaults = [name for name in ("http", "control", "share") if source(name) == click.core.ParameterSource.DEFAULT]
        server = NodeServer(node, fallback_ports=defaults)
    except OspError:
        node.close()
        raise

    def ready(s: NodeServer) -> None:
        engine = s.node.engine
        missing = s.node.library.missing_track_count()
        seeding = s.node.library.track_count() - missing
        busy = {"http": (settings.http, s.peer_url), "control": (settings.control, s.control_url),
                "share": (settings.share, s.share_url)}
        err.print(f"osp node ready: {plural(seeding, 'track')} seeding" + (f", {missing} missing" if missing else ""))
        for name in s.moved:
            (_, port), url = busy[name]
            err.print(f"  {name} port {port} is taken (another osp node?); using {url.removeprefix('http://')}")
        err.print(f"  peer API + gateway  {s.peer_url}")
        if peer_listener_hidden(s.node):
            where = s.peer_url.removeprefix("http://")
            err.print(f"  peer listener on {where}: other nodes cannot reach your records "
                      f"(use --http 0.0.0.0:{where.rpartition(':')[2]})",
                      style="yellow", highlight=False, soft_wrap=True)
        err.print(f"  control API + app   {s.control_url}  (open the app: osp ui; token in {settings.token_path})",
                  highlight=False, soft_wrap=True)
        err.print(f"  share pages         {s.share_url}/t/TRACK  (WebTorrent tracker "
                  f"{'ws' + s.share_url.removeprefix('http')}/announce{'' if webtorrent else ', libtorrent not announcing'})",
                  highlight=False, soft_wrap=True)
        reach = reachability_lines(reachability_report(s.node))
        if not reach:
            err.print(f"  BitTorrent          port {engine.listen_port if engine else '-'}, DHT {'on' if dht else 'off'}")
        for label, value in reach:
            if label == "BitTorrent":
                value += f", DHT {'on' if dht else 'off'}"
            quiet = label == "DHT" or (label == "external" and value.startswith("unknown"))  # no DHT: no news
            if label != "HTTP" and (dht or not quiet):
                err.print(f"  {label:<19} {value}")
        for g in settings.gateways:
            err.print(f"  extra gateway       {g}")

    server.run(ready)
    err.print("osp node stopped; resume data saved")


def _log_evictions() -> None:
    """Print each cache eviction (logger ``osp.cache``) and feed event (``osp.feeds``: our
    feed put, a followed artist's new catalog) on stderr, one line each."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("osp.cache", "osp.feeds"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@cli.command("conformance")
@click.argument("url")
@click.option("--tracks", default=3, show_default=True, help="How many of the node's tracks to check in depth.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per check.")
def conformance_cmd(url: str, tracks: int, as_json: bool) -> None:
    """Check a node's peer HTTP API (ours or anyone's) against OSP v0.1; prints a pass/fail table."""
    from rich.table import Table

    from osp.apps.conformance import run_conformance
    from osp.distribution.peer_client import typed_base_url

    results = run_conformance(typed_base_url(url, what="URL"), max_tracks=tracks)
    if as_json:
        for r in results:
            emit_json(r.to_json())
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
