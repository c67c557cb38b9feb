"""``read_credential`` in a child process, for files that came from peers (every peer is
hostile): a manifest crafted to crash or hang the native C2PA library (c2pa-rs) costs the
child, never the node.

The child (``python -m osp.provenance.c2pa_isolated PATH MIME SECONDS``) reads the trust anchors
(PEM) on stdin and prints the ``Credential`` as one JSON line.  Bounds: ``timeout`` seconds
of wall time (and as much CPU time, ``RLIMIT_CPU``), ``MAX_MEMORY`` bytes of address space
(``RLIMIT_AS``: c2pa-rs reads a file's whole C2PA chunk into memory, and a peer's 1 GB
WAV whose chunk says 1 GB took 1 GB), ``MAX_OUTPUT`` bytes of answer.
Outcomes: the child's ``Credential``; a crash or an answer that does not parse →
``invalid`` (code ``osp.checkerCrashed``: a manifest the validator cannot survive is not a
valid one); a timeout → ``error`` ("not checked").
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from osp.provenance.c2pa import Credential, Issue, read_credential

MAX_OUTPUT = 256 * 1024
MAX_MEMORY = 512 * 1024 * 1024  #: the child's address space (it needs ~60 MB for a real manifest)
TIMEOUT = 60.0


def read_credential_isolated(path: Path, mime: str, *, trust_anchors: str | None = None,
                             timeout: float = TIMEOUT) -> Credential:
    """``read_credential(path, mime, trust_anchors=…, sidecar=False)`` run in a child process
    (module doc); never raises for what the file holds."""
    seconds = max(1, int(timeout))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "osp.provenance.c2pa_isolated", str(path), mime, str(seconds)],
            input=(trust_anchors or "").encode("ascii", "replace"), capture_output=True, timeout=timeout,
            check=False)  # no preexec_fn: the node has threads; the child limits its own CPU time
    except subprocess.TimeoutExpired:
        return Credential("error", f"not checked: the C2PA check took over {timeout:g} s")
    except OSError as exc:
        return Credential("error", f"not checked: cannot start the C2PA check: {exc.strerror or exc}")
    try:
        if proc.returncode != 0 or len(proc.stdout) > MAX_OUTPUT:
            raise ValueError(f"exit status {proc.returncode}")
        return Credential.from_json(json.loads(proc.stdout))
    except (ValueError, TypeError, AttributeError) as exc:
        text = f"the C2PA validator failed on this file ({exc})"
        return Credential("invalid", f"INVALID C2PA credential: {text}", errors=(Issue("osp.checkerCrashed", text),))


def _main(argv: list[str]) -> int:
    path, mime, seconds = Path(argv[0]), argv[1], int(argv[2])
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY, MAX_MEMORY))
    anchors = sys.stdin.read() or None
    sys.stdout.write(json.dumps(read_credential(path, mime, trust_anchors=anchors, sidecar=False).to_json()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
