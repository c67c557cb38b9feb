"""The node against spec/vectors/social-records.json (spec §10), and the file against its generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from osp.core.errors import IntegrityError
from osp.identity import SigningKey
from osp.records import build_social, jcs, sign_social, verify_social
from osp.records.envelope import content_id

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec" / "vectors" / "social-records.json").read_text("utf-8"))
ENVELOPE = ("@context", "type", "version", "author", "created")


def test_vectors_are_what_the_generator_makes() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_social_vectors.py"), "--check"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr


def test_one_valid_vector_of_each_kind() -> None:
    from osp.records.social import KINDS

    assert {v["kind"] for v in VECTORS["valid"]} == set(KINDS)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: f"{v['kind']}-{v['id'][-6:]}")
def test_valid_vector(vector: dict[str, Any]) -> None:
    assert jcs(vector["unsigned"]).decode("utf-8") == vector["jcs"]
    assert content_id(f"osp:{vector['kind']}:", vector["unsigned"]) == vector["id"] == vector["signed"]["id"]
    verified = verify_social(vector["signed"])
    assert (verified.id, verified.kind, verified.created) == (vector["id"], vector["kind"], vector["created"])
    key = SigningKey.from_seed(bytes.fromhex(vector["keySeed"]))
    assert verified.author == key.did
    # building the same body again and signing at the same time gives the very same bytes
    body = {k: v for k, v in vector["unsigned"].items() if k not in ENVELOPE}
    again = sign_social(build_social(vector["kind"], key.did, body), key, vector["created"])
    assert jcs(again) == jcs(vector["signed"])


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["description"][:50])
def test_invalid_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError) as exc:
        verify_social(vector["json"] if "json" in vector else vector["record"])
    assert exc.value.check == vector["error"]
