"""``osp c2pa``: C2PA content credentials — the artist's signer, the listener's trust list,
checking any file, and what the library knows of a track (docs/provenance.md).

The signer and trust list live in ``<data-dir>/c2pa/`` (``osp.provenance.c2pa_store``);
these commands work without a running node (a running node reads them at each check).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from osp.apps.cli.base import Ctx, cli, emit_json, err, out, pass_ctx
from osp.apps.cli.views import printable
from osp.core.errors import CallerError, IntegrityError, NotFoundError, UnsupportedMediaError


def _store(c: Ctx) -> Any:
    from osp.node.credentials import c2pa_store

    return c2pa_store(c.data_dir)


@cli.group("c2pa")
def c2pa_group() -> None:
    """C2PA content credentials: sign what you publish, check what you get (docs/provenance.md)."""


@c2pa_group.command("signer")
@click.option("--cert", "chain", type=click.Path(path_type=Path, dir_okay=False),
              help="PEM chain: your signing certificate, then the CA that issued it.")
@click.option("--key", type=click.Path(path_type=Path, dir_okay=False), help="PEM private key of that certificate.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_ctx
def signer_cmd(c: Ctx, chain: Path | None, key: Path | None, as_json: bool) -> None:
    """Set (with --cert and --key) or show the certificate `osp publish --c2pa-sign` signs with.

    The files are checked (the key matches the certificate, which has the extended key usage
    emailProtection or documentSigning) and copied into <data-dir>/c2pa/ with mode 0600.
    """
    store = _store(c)
    if (chain is None) != (key is None):
        raise CallerError("give both --cert and --key (or neither, to show the signer)")
    info = store.set_signer(chain, key) if chain is not None and key is not None else store.signer_info()
    if as_json:
        emit_json({"signer": info.to_json() if info else None})
    elif info is None:
        out.print("no C2PA signer: `osp c2pa signer --cert CHAIN.pem --key KEY.pem` sets one")
    else:
        out.print(f"signer  {info.subject}\nissuer  {info.issuer}\nexpires {info.expires}\nchain   {info.chain}")


@c2pa_group.group("trust")
def trust_group() -> None:
    """Your trust list: the signing CAs whose credentials count as "trusted" (nothing is downloaded)."""


@trust_group.command("add")
@click.argument("pem", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per anchor added.")
@pass_ctx
def trust_add(c: Ctx, pem: Path, as_json: bool) -> None:
    """Add each CA certificate of PEM (one CA, or a bundle such as the official C2PA trust list)."""
    for anchor in _store(c).trust_add(pem):
        if as_json:
            emit_json(anchor.to_json())
        else:
            out.print(f"trusted {anchor.fingerprint}  {anchor.subject}")


@trust_group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per anchor.")
@pass_ctx
def trust_ls(c: Ctx, as_json: bool) -> None:
    """List the trust anchors: fingerprint, subject, expiry."""
    anchors = _store(c).anchors()
    for a in anchors:
        if as_json:
            emit_json(a.to_json())
        else:
            out.print(f"{a.fingerprint}  {a.subject}  (until {a.expires[:10]})")
    if not anchors and not as_json:
        out.print("the trust list is empty: `osp c2pa trust add CA.pem` adds a signing CA")


@trust_group.command("rm")
@click.argument("fingerprint")
@click.option("--json", "as_json", is_flag=True, help="Print the removed anchor as JSON.")
@pass_ctx
def trust_rm(c: Ctx, fingerprint: str, as_json: bool) -> None:
    """Remove the anchor whose fingerprint starts with FINGERPRINT (see `osp c2pa trust ls`)."""
    anchor = _store(c).trust_rm(fingerprint)
    if as_json:
        emit_json(anchor.to_json())
    else:
        out.print(f"removed {anchor.fingerprint}  {anchor.subject}")


def _mime_of(path: Path) -> str:
    """The file's audio type: probed, else sniffed from its first bytes (a file whose manifest
    broke its audio still has them); ``CallerError`` when it is no audio file C2PA knows."""
    from osp.content.probe import probe
    from osp.provenance.c2pa import NOT_AUDIO, sniff_mime

    try:
        return probe(path).mime
    except UnsupportedMediaError:
        try:
            with open(path, "rb") as f:
                mime = sniff_mime(f.read(12))
        except OSError as exc:
            raise CallerError(f"cannot read {printable(path.name)}: {exc.strerror or exc}") from None
        if mime is None:
            raise CallerError(f"{printable(path.name)} is {NOT_AUDIO}") from None
        return mime


@c2pa_group.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--trust", "trust_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Check against this PEM file of CAs instead of your trust list.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as a JSON object.")
@pass_ctx
def check_cmd(c: Ctx, file: Path, trust_file: Path | None, as_json: bool) -> None:
    """Read and validate FILE's C2PA credential (embedded, or a sidecar FILE.c2pa); no node needed.

    States: absent, valid (not on your trust list), trusted, invalid, unsupported (Ogg/Opus).
    Exits 5 when the credential is invalid, 0 otherwise.
    """
    from osp.provenance.c2pa import read_credential
    from osp.provenance.c2pa_store import load_certs

    if trust_file is not None:
        data = trust_file.read_bytes()
        load_certs(data, str(trust_file))  # a clear error for a file that holds no certificate
        anchors: str | None = data.decode("ascii", "replace")
    else:
        anchors = _store(c).anchors_pem()
    result = read_credential(file, _mime_of(file), trust_anchors=anchors)
    if as_json:
        emit_json({"file": str(file), **result.to_json()})
    else:
        _print_credential(result.to_json())
    if result.state == "invalid":
        raise SystemExit(IntegrityError.exit_code)


def _print_credential(r: dict[str, Any]) -> None:
    """The result's lines; every string from the file (signer, errors quoting its bytes …)
    made printable: a crafted manifest cannot send escape sequences to the terminal."""
    style = "bold red" if r["state"] == "invalid" else None
    out.print(printable(f"c2pa      {r['state']}: {r['message']}"), style=style)
    for label, key in (("signer", "signer"), ("issued by", "issuer"), ("claim by", "claimGenerator"),
                       ("source", "digitalSourceType"), ("generator", "softwareAgent"), ("signed at", "signedAt")):
        if r.get(key):
            out.print(f"{label:<9} {printable(r[key])}")
    if r.get("sidecar"):
        out.print("          (from a sidecar .c2pa file)")
    for i in r.get("ingredients") or []:
        out.print(printable(f"ingredient {i.get('title') or '?'} {i.get('format') or ''} {i.get('hash') or ''}".rstrip()))
    for e in r.get("errors") or []:
        out.print(printable(f"error     {e['code']}: {e['text']}"), style="red")


@c2pa_group.command("show")
@click.argument("track_id")
@click.option("--json", "as_json", is_flag=True, help="Print {\"id\", \"c2pa\", \"credentials\"} as JSON.")
@pass_ctx
def show_cmd(c: Ctx, track_id: str, as_json: bool) -> None:
    """What the library knows of a track's credential, and the levels of "verified AI-generated"."""
    from osp.apps.cli.client import ControlClient

    running = c.running()
    stale = False
    if running:
        view = ControlClient(running).get(f"/api/tracks/{track_id}")
    else:
        from osp.library.credentials import Credentials
        from osp.library.store import Library
        from osp.node.credentials import credential_view
        from osp.records.canonical import strict_loads

        settings = c.settings()
        if not settings.library_path.exists():
            raise NotFoundError(f"no track {track_id[:80]} in the library")
        with Library(settings.library_path) as lib:
            row = lib.track(track_id)
            if row is None:
                raise NotFoundError(f"no track {track_id[:80]} in the library")
            view = {"id": track_id, **credential_view(lib, strict_loads(row.record))}
            stored = Credentials(lib).get(row.cid)
            stale = (stored is not None and stored.state in ("valid", "trusted")
                     and stored.trust != _store(c).trust_hash())
    if as_json:
        emit_json({"id": track_id, "c2pa": view["c2pa"], "credentials": view["credentials"]})
        return
    if view["c2pa"] is None:
        out.print("c2pa      not checked yet (a running node checks every track in the background)")
    else:
        _print_credential(view["c2pa"])
        if view["c2pa"].get("allowedInvalid"):
            err.print("published although its credential is invalid (--allow-invalid-c2pa)", style="bold red")
    levels = view["credentials"]
    for level in levels["levels"]:
        mark = "yes" if level["met"] else "no "
        out.print(printable(f"level {level['level']}  {mark}  {level['name']}: {level['status']} — {level['says']}"))
    for m in levels["mismatches"]:
        out.print(printable(f"MISMATCH  {m}"), style="bold red")
    out.print(printable(levels["summary"]))
    if stale:
        err.print("checked against an earlier trust list: `osp node` checks it again in the background "
                  "(`osp c2pa check FILE` checks a file now)", style="yellow", soft_wrap=True)
