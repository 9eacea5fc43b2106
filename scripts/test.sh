#!/usr/bin/env bash
# Fresh Debian machine -> installed secaudit -> ruff, mypy, then the whole test suite (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check secaudit tests examples bench
.venv/bin/mypy secaudit
.venv/bin/pytest -q "$@"
