"""``osp search``: find tracks by title words, tag or artist, here and on the DHT (spec §9)."""

from __future__ import annotations

import time
from typing import Any

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx, plural
from osp.apps.cli.client import ControlClient
from osp.apps.cli.network_cmds import _node_settings, lookup_options, warn_ignored_lookup_options
from osp.apps.cli.views import printable
from osp.core.errors import NotFoundError, RemoteError


def result_line(result: dict[str, Any]) -> str:
    """``title — artist-name (did short) · tags · holders · id`` (peer strings made printable);
    a result the quality gate hides starts ``HIDDEN (why)``."""
    did = str(result.get("artist") or "")
    short = did[:16] + "…" + did[-6:] if len(did) > 24 else did
    tags = ", ".join(printable(t) for t in result.get("tags") or [])
    holders = result.get("holders") or []
    where = "here" if holders == ["local"] else plural(len(holders), "holder")
    hidden = result.get("hidden")
    parts = [f"{printable(result.get('title'))} — {printable(result.get('artistName') or '?')} ({short})"]
    if isinstance(hidden, dict):
        parts[0] = f"HIDDEN ({printable(hidden.get('why'))}) {parts[0]}"
    if tags:
        parts.append(tags)
    a = result.get("analysis")
    if isinstance(a, dict) and a.get("bpm") is not None:
        parts.append(f"{a['bpm']:.0f} BPM, {printable(a.get('key'))}")
    if result.get("duplicateOf"):
        parts.append(f"DUPLICATE of {printable(result['duplicateOf'])}")
    parts += [where, printable(result.get("id"))]
    return " · ".join(parts)


@cli.command("search")
@click.argument("words", nargs=-1)
@click.option("--artist", metavar="DID", help="Only tracks by this artist (did:key).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only tracks with this tag (repeatable: all must match).")
@click.option("--bpm", metavar="LO-HI", help="Only tracks analysed here at this tempo: a range (120-130) or a "
              "number (128: within 2 %).")
@click.option("--key", "key", metavar="KEY", help="Only tracks analysed here in this key: \"A minor\", Am, \"F# major\", Eb.")
@click.option("--limit", default=20, show_default=True, help="Most results to show (1 to 1000).")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds the whole search may take (at most 60).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line as results arrive (an improved "
              "result comes again with its new score and holders); a last {\"done\": summary} line ends it.")
@lookup_options
@pass_ctx
def search_cmd(c: Ctx, words: tuple[str, ...], artist: str | None, tags: tuple[str, ...], bpm: str | None,
               key: str | None, limit: int, timeout: float, as_json: bool, listen: str, dht: bool, bootstrap: tuple[str, ...], allow_private_peers: bool) -> None:
    """Search the library, then the nodes the DHT names, for WORDS of a title or of the
    artist's name, --tag and --artist.

    WORDS match whole words (no prefixes), case and accents folded; at most 8 words and
    8 tags.  --bpm and --key keep the tracks whose audio this node analysed (its library):
    network results it never analysed are left out and counted; with only --bpm/--key the
    library alone is searched.  Every record is verified; a node that answers forged or off-topic records is
    dropped.  Each node asked gets 2 s and returns at most 50 records (512 KiB).  Local
    results come first; the rest print as they arrive; a summary ends on stderr.  With a
    running node the search runs there (--listen, --bootstrap, --no-dht are then ignored).
    Results your quality gate hides (osp gate) are still listed, marked HIDDEN with the reason.
    Exit status 2 (not found) when nothing matched."""
    from osp.apps.http.control import MAX_SEARCH_TIMEOUT, search_plan

    body: dict[str, Any] = {"q": " ".join(words), "tags": list(tags), "limit": limit, "timeout": timeout}
    if artist:
        body["artist"] = artist
    body |= {k: v for k, v in (("bpm", bpm), ("key", key)) if v}
    search_plan(body)  # CallerError (exit 2) before anything starts
    seen: set[str] = set()

    def show(result: dict[str, Any]) -> None:
        if as_json:
            emit_json(result)
        elif result["id"] not in seen:
            seen.add(result["id"])
            out.print(result_line(result), markup=False, highlight=False, soft_wrap=True)

    running = c.running()
    if running:
        warn_ignored_lookup_options()
        last = ControlClient(running, timeout=MAX_SEARCH_TIMEOUT + 30).post_progress(
            "/api/search", body, lambda line: show(line["result"]) if isinstance(line.get("result"), dict) else None)
        summary = last.get("done")
        if not isinstance(summary, dict):
            raise RemoteError(f"the running node at {running.control} ended the search answer early")
        if "error" in summary:
            raise RemoteError(str(summary["error"].get("message", "search failed")))
    else:
        summary = _search_here(c, body, show, listen, dht, bootstrap, allow_private_peers)
    if as_json:
        emit_json({"done": summary})  # as POST /api/search ends
    if summary.get("notAnalysed"):
        err.print(f"{plural(int(summary['notAnalysed']), 'network result')} not analysed here: left out "
                  f"({summary.get('audioFilter')} is known only for tracks in the library)", soft_wrap=True)
    unreachable = summary.get("dhtUnreachable")
    if unreachable:
        err.print(f"{printable(unreachable)}: only the library was searched", soft_wrap=True)
    first = summary.get("firstResultAt")
    if summary.get("hidden"):
        err.print(f"{plural(int(summary['hidden']), 'result')} hidden by your quality gate (osp gate; osp trust DID says why)",
                  soft_wrap=True)
    err.print(f"{plural(int(summary['results']), 'result')} in {summary['elapsed']:.2f} s"
              + (f" (first after {first} s)" if first is not None else "")
              + f"; asked {plural(int(summary['asked']), 'node')}, "
              f"{summary['answered']} answered, {summary['bad']} dropped as bad", highlight=False, soft_wrap=True)
    if not summary["results"] and not summary.get("hidden"):
        raise NotFoundError("no track matched" + ("" if dht else " (the DHT is off: only the library was searched)")
                            + (" (no DHT nodes reachable)" if unreachable else ""))


def _search_here(c: Ctx, body: dict[str, Any], show: Any, listen: str, dht: bool, bootstrap: tuple[str, ...],
                 allow_private: bool) -> dict[str, Any]:
    """Search in this process (no node runs).  ``search`` prints the library's results at
    once, then waits up to ``BOOTSTRAP_WAIT`` s for the fresh engine's first DHT node (with
    none, the summary's ``dhtUnreachable`` says so and the search ends)."""
    from osp.apps.http.control import search_plan
    from osp.node.analysis import filtered_search
    from osp.node.core import Node
    from osp.node.fingerprints import duplicate_mark
    from osp.node.search import result_json, search

    query, timeout, audio, limit = search_plan(body)
    settings = _node_settings(c, listen, "127.0.0.1:0", "127.0.0.1:0", dht, bootstrap, allow_private)
    node = Node(settings)
    try:
        start = time.monotonic()
        if dht and query is not None:
            node.start_engine()  # no wait here: bootstrapping goes on while the library is searched
        left = max(0.1, timeout - (time.monotonic() - start))
        if audio or query is None:
            return filtered_search(node, query, audio, timeout=left, limit=limit,
                                   on_result=lambda line: show(line | duplicate_mark(node, line["id"])))
        return search(node, query, timeout=left,
                      on_result=lambda r: show(result_json(r) | duplicate_mark(node, r.track_id))).to_json()
    finally:
        node.close()
