"""C2PA content credentials in the node: checked (and optionally signed) at publish, checked
in the background for every other track (a ``TrackStep``), and shown with the levels of
"verified AI-generated" (``osp.provenance.levels``; docs/provenance.md).

- Publish (``PublishCredential``, used by ``publish_file``): with ``sign`` the file is
  first copied into the staging directory with a manifest embedded (the artist's chain and
  key from ``<data-dir>/c2pa``), and that copy is what gets its CID, torrent and record —
  the user's file is never modified.  Then the credential of the bytes to publish is read:
  ``invalid`` is refused (``CallerError``) unless ``allow_invalid``; then stored, marked.
- Background (``C2paStep``): every track with no stored result, or whose ``valid``/
  ``trusted`` result was checked against another trust list, is read (in a child process
  with a time limit: ``osp.provenance.c2pa_isolated``) and stored.
- View (``credential_view``): the control API's ``c2pa`` and ``credentials``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osp import __version__
from osp.content.probe import AudioInfo, probe
from osp.core.errors import CallerError
from osp.library.credentials import Credentials
from osp.library.store import Library, TrackRow
from osp.provenance.c2pa import Credential, read_credential, sign_file
from osp.provenance.c2pa_isolated import read_credential_isolated
from osp.provenance.c2pa_store import C2paStore
from osp.provenance.levels import credential_levels

if TYPE_CHECKING:
    from osp.node.core import Node

C2PA_DIR = "c2pa"  #: ``<data-dir>/c2pa``: signer and trust list (``C2paStore``)


def c2pa_store(data_dir: Path) -> C2paStore:
    """The node's C2PA configuration directory."""
    return C2paStore(data_dir / C2PA_DIR)


@dataclass(frozen=True)
class PublishCredential:
    """The C2PA stage of a publish (module doc).  ``clock()``: Unix seconds."""

    store: C2paStore
    sign: bool = False
    allow_invalid: bool = False
    clock: Callable[[], float] = field(default=time.time)

    def prepare(self, path: Path, info: AudioInfo, title: str, provenance: dict[str, Any],
                staging: Path) -> tuple[Path, AudioInfo, Credential]:
        """The file to publish (``path``, or its signed copy in ``staging``), its probe and
        its credential.  ``CallerError``: signing impossible (Ogg, no signer) or an invalid
        credential without ``allow_invalid``."""
        source = path
        if self.sign:
            chain, key = self.store.signer()
            source = staging / f"signed{info.extension}"
            sign_file(path, source, info.mime, chain_pem=chain, key_pem=key, title=title, provenance=provenance,
                      generator=("osp-node", __version__))
            info = probe(source)
        credential = read_credential(source, info.mime, trust_anchors=self.store.anchors_pem(), sidecar=not self.sign)
        if credential.state == "invalid" and not self.allow_invalid:
            raise CallerError(f"its C2PA credential does not validate ({credential.message}); "
                              "publish it anyway, marked invalid, with --allow-invalid-c2pa")
        return source, info, credential

    def keep(self, library: Library, cid: str, credential: Credential) -> None:
        """Store the credential of the published file ``cid`` (marked when published invalid)."""
        Credentials(library).put(cid, credential.to_json(), trust=self.store.trust_hash(), now=self.clock(),
                                 allowed_invalid=credential.state == "invalid")


class C2paStep:
    """The ``TrackStep`` that reads and stores the credential of every track's file."""

    name = "c2pa"

    def pending(self, node: Node, limit: int) -> list[TrackRow]:
        return Credentials(node.library).pending(c2pa_store(node.settings.data_dir).trust_hash(), limit)

    def run(self, node: Node, track: TrackRow, path: Path | None) -> None:
        store = c2pa_store(node.settings.data_dir)
        if path is None:
            credential = Credential("error", "not checked: the file is not here")
        else:
            # a peer's file: checked in a child process (a crafted manifest must not take the node down)
            credential = read_credential_isolated(path, track.format, trust_anchors=store.anchors_pem())
        Credentials(node.library).put(track.cid, credential.to_json(), trust=store.trust_hash(), now=time.time())


def credential_view(library: Library, record: dict[str, Any],
                    standing: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"c2pa": stored result or None, "credentials": levels}`` for a verified ``record``
    (``osp.library.credentials.StoredCredential.to_json``, ``osp.provenance.levels``);
    ``standing``: its artist's in the web of trust (``osp.node.trust.artist_standing``)."""
    stored = Credentials(library).get(str(record.get("cid")))
    c2pa = stored.to_json() if stored else None
    return {"c2pa": c2pa, "credentials": credential_levels(record, c2pa, standing)}
