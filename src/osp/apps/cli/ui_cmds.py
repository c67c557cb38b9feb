"""``osp ui``: open the web app of the node running for this data directory."""

from __future__ import annotations

import webbrowser

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx
from osp.apps.cli.client import ControlClient
from osp.core.errors import CallerError, RemoteError


@cli.command("ui")
@click.option("--print-url", is_flag=True, help="Print the login link instead of opening a browser.")
@click.option("--json", "as_json", is_flag=True, help='Print {"url", "expires"} as one JSON object (opens nothing).')
@pass_ctx
def ui_cmd(c: Ctx, print_url: bool, as_json: bool) -> None:
    """Open the web app of the running node in your browser.

    The link logs the browser in once: it is good for one use within 2 minutes and then
    becomes a session cookie for the node's control address (30 days), so the API token
    is never typed or shown.  Run `osp ui` again for a new link.

    Exits 2 when no node runs for the data directory (start one with `osp node`).
    """
    running = c.running()
    if running is None:
        raise CallerError(f"no node is running for {c.data_dir}: start one with `osp node`")
    answer = ControlClient(running, timeout=30).post("/api/login-link", {})
    url, expires = answer.get("url"), answer.get("expires")
    if not isinstance(url, str) or not url.startswith(running.control + "/login?code="):
        raise RemoteError(f"the running node at {running.control} sent no usable login link")
    if as_json:
        emit_json({"url": url, "expires": expires})
        return
    if print_url:
        out.print(url)
        return
    if not webbrowser.open(url):
        err.print("no browser could be opened; open this link (good once, for 2 minutes):")
        out.print(url)
        return
    err.print(f"opened the web app of the node at {running.control} in your browser")
