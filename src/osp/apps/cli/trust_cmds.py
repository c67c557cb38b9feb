"""``osp trust`` and ``osp gate``: the listener's web of trust and quality gate (``osp.node.trust``).

Through the running node's control API when one runs for the data directory (its cached
scores); otherwise the scores are computed here from the library.
"""

from __future__ import annotations

from typing import Any

import click

from osp.apps.cli.base import Ctx, cli, emit_json, out, pass_ctx, plural
from osp.apps.cli.client import ControlClient
from osp.apps.cli.views import printable


def _offline(c: Ctx) -> Any:
    from osp.node.core import Node

    return Node(c.settings())


def _gate_line(gate: dict[str, Any]) -> str:
    threshold = gate.get("threshold") or 0
    lists = gate.get("lists") or []
    return (f"gate: threshold {threshold:g}{' (off: only flags hide)' if not threshold else ' × typical trust'}; "
            f"{plural(len(lists), 'moderation list')}" + (": " + ", ".join(lists) if lists else ""))


@cli.command("trust")
@click.argument("did", required=False)
@click.option("--top", default=20, show_default=True, help="Identities listed without DID (1 to 200).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (GET /api/trust's answer).")
@pass_ctx
def trust_cmd(c: Ctx, did: str | None, top: int, as_json: bool) -> None:
    """Your web of trust: DID's score, rank and why; without DID the most trusted identities and your gate.

    Trust is personalized PageRank from you outward over follows (yours and Follow records)
    and endorsements (weighing 3 follows), restarting at you with probability 0.15,
    converged to 1e-9 (L1); flags by identities you trust lower what they flag.  Scores
    sum to 1 over every identity known here, you included, so they shrink as the graph
    grows; "× typical" is the relative trust (score over the typical trusted identity's:
    1 = typical), which the gate's threshold uses.  --json keeps both (score, relative)."""
    from osp.apps.http.trust import MAX_TOP
    from osp.core.errors import CallerError
    from osp.node.feeds import check_did

    if not 1 <= top <= MAX_TOP:
        raise CallerError(f"--top is from 1 to {MAX_TOP}")
    if did is not None:
        did = check_did(did)
    running = c.running()
    if running:
        path = f"/api/trust?did={did}" if did else f"/api/trust?top={top}"
        report: dict[str, Any] = ControlClient(running, timeout=30).get(path)
    else:
        from osp.node.trust import trust_report

        node = _offline(c)
        try:
            report = trust_report(node, did, top=top)
        finally:
            node.close()
    if as_json:
        emit_json(report)
        return
    if did is not None:
        score, rank = report.get("score"), report.get("rank")
        relative = report.get("relative")
        head = "trust not computed yet" if score is None else f"trust {score:.4g}" + (
            f" ({relative:.2g} × typical)" if isinstance(relative, (int, float)) else "")
        if rank is not None:
            head += f" (rank {rank} of {report.get('of')})"
        out.print(f"{did}: {head}")
        for line in report.get("why") or []:
            out.print(f"  · {printable(line)}")
        for record in report.get("mine") or []:  # what `osp retract` takes to withdraw it
            what = f"{record['kind']} ({record['reason']})" if record.get("reason") else record["kind"]
            out.print(f"  your {printable(what)}: {printable(record['id'])}  (osp retract ID withdraws it)", style="dim")
        return
    out.print(f"you: {report.get('you') or '?'}")
    out.print(_gate_line(report.get("gate") or {}))
    computed = report.get("computed") or {}
    if computed.get("computed"):
        out.print(f"{plural(int(computed['identities']), 'identity', 'identities')}, "
                  f"{plural(int(computed['edges']), 'edge')}; {computed['iterations']} iterations, "
                  f"L1 residual {computed['residual']:.2g}" + (f", {computed['seconds']:.3f} s" if computed.get("seconds")
                                                                else ""))
    identities = report.get("identities") or []
    if not identities:
        out.print("nobody trusted yet: follow (osp follow DID) or endorse artists")
    for row in identities:
        relative = row.get("relative")
        out.print(f"{row['rank']:>4}. {row['did']}  {row['score']:.4g}"
                  + (f"  ({relative:.2g} × typical)" if isinstance(relative, (int, float)) else ""))


@cli.command("gate")
@click.option("--threshold", type=float, metavar="X",
              help="Hide what comes from identities whose relative trust is below X (0 to 10, in units of "
                   "the typical trusted identity's trust): 0 hides no one for low trust, 0.1 hides identities far "
                   "below typical and everyone outside your web of trust, 1 hides identities below typical "
                   "trust. At any threshold, what you, a subscribed list or a trusted identity (relative "
                   "trust 0.5 or more, usually anyone you follow) flagged is hidden, shown as hidden (why).")
@click.option("--list", "list_change", nargs=2, type=(click.Choice(["add", "rm"]), str), metavar="add|rm DID",
              help="Subscribe to (add) or drop (rm) a curator's moderation list: their flags hide, "
                   "their endorsements count as yours.")
@click.option("--json", "as_json", is_flag=True, help="The settings as one JSON object.")
@pass_ctx
def gate_cmd(c: Ctx, threshold: float | None, list_change: tuple[str, str] | None, as_json: bool) -> None:
    """Show or change your quality gate.  Hidden items are never dropped: searches, comments
    and feeds still list them, marked hidden with the reason (a flag by you, a list or a
    trusted identity, or relative trust below the threshold: see `osp trust`)."""
    from osp.social.gate import GateSettings

    running = c.running()
    client = ControlClient(running, timeout=30) if running else None
    node: Any = None if running else _offline(c)
    try:
        current = GateSettings.from_json(client.get("/api/quality-gate")) if client else node.trust.gate()
        wanted = current
        if threshold is not None:
            wanted = GateSettings.from_json(wanted.to_json() | {"threshold": threshold})
        if list_change is not None:
            wanted = wanted.with_list(list_change[1].strip(), add=list_change[0] == "add")
        if wanted != current:
            if client:
                wanted = GateSettings.from_json(client.put("/api/quality-gate", wanted.to_json()))
            else:
                node.trust.set_gate(wanted)
    finally:
        if node is not None:
            node.close()
    if as_json:
        emit_json(wanted.to_json())
    else:
        out.print(_gate_line(wanted.to_json()))
