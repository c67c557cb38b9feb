#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite (slow tests included).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh test
bash scripts/install.sh test
bash scripts/check.sh
exec .venv/bin/python -m pytest "$@"
