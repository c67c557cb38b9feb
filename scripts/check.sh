#!/usr/bin/env bash
# Static checks: lint (ruff), strict types (mypy), the layering contract (import-linter).
# scripts/test.sh runs them before the tests; run alone after `scripts/install.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
