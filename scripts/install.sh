#!/usr/bin/env bash
# Create .venv and install osp-node into it. `scripts/install.sh test` adds the test
# dependencies (pytest, hypothesis, import-linter) and the JavaScript reference peers.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
if [ "${1:-}" = "test" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  if command -v npm >/dev/null; then
    (cd tests/js && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  else
    echo "npm not found: the JavaScript reference tests will be skipped" >&2
  fi
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
