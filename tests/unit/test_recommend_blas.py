"""BLAS runs one thread for the rest of the process once the node fits a model
(``osp.node.recommend.limit_blas_threads``): a scoped ``threadpool_limits`` of a query that
ends while a fit is inside its own then restores 1, not the machine's count, and implicit
never warns "OpenBLAS is configured to use N threads" on the node's terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

CHECK = """
import sys, warnings
from pathlib import Path
from threadpoolctl import threadpool_info, threadpool_limits
from osp.core.settings import Settings
from osp.node.core import Node
import numpy as np

np.ones((64, 64)) @ np.ones((64, 64))  # BLAS loaded and used before any fit
before = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
warnings.simplefilter("error", RuntimeWarning)  # implicit's warning would end the fit
node = Node(Settings(data_dir=Path(sys.argv[1])))
try:
    node.recommend.refit()
    with threadpool_limits(1, "blas"):  # a query's scoped limit: restores what it found
        pass
    after = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
finally:
    node.close()
print(before, after)
"""


def test_one_blas_thread_once_a_model_is_fitted() -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}  # the machine's count, even on one core
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.run([sys.executable, "-c", CHECK, data], capture_output=True, text=True, timeout=60,
                              env=env)
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr
    assert proc.stdout.split() == ["[2]", "[1]"], proc.stdout
