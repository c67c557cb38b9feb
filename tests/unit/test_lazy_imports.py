"""The CLI loads no model engine (scipy, implicit, threadpoolctl) at start-up, nor when it
builds a node: they load at the first fit or query (``osp.core.lazy``).  Start-up is shorter,
and a Ctrl-C cannot land in them."""

from __future__ import annotations

import subprocess
import sys
import tempfile

import numpy as np

from osp.core.lazy import LazyModule

CHECK = """
import sys
from pathlib import Path
from osp.apps.cli import main
from osp.core.settings import Settings
from osp.node.core import Node
Node(Settings(data_dir=Path(sys.argv[1]))).close()
print(sorted({m.split(".")[0] for m in sys.modules} & {"scipy", "implicit", "threadpoolctl"}))
"""


def test_the_cli_and_a_node_load_no_model_engine() -> None:
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.run([sys.executable, "-c", CHECK, data], capture_output=True, text=True, timeout=60,
                              check=True)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_lazy_module_imports_at_first_use() -> None:
    lazy = LazyModule("numpy.linalg")
    assert "not" not in repr(lazy) and "(imported)" not in repr(lazy)
    assert lazy.norm is np.linalg.norm and "(imported)" in repr(lazy)
    assert not hasattr(LazyModule("no.such.module.here"), "__wrapped__")
