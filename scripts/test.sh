#!/usr/bin/env bash
# Fresh Debian machine -> installed secaudit -> ruff, mypy, then the whole test suite (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check secaudit tests examples bench
.venv/bin/mypy secaudit
.venv/bin/pytest -q "$@"
# The date-sensitive tests again, with the system clock moved well into the future and back to
# early 2026 (time-machine, in the test process; monotonic clocks stay real so timeouts still work).
# Tests pin secaudit's own clock ($SECAUDIT_NOW) where they need a date, so the day CI runs on must
# not matter.
if [ "$#" -eq 0 ]; then
  for when in "2027-09-15T10:00:00+07:00" "2026-01-20T10:00:00+07:00"; do
    echo "test: date-sensitive tests with the system clock at $when" >&2
    SECAUDIT_TEST_SYSTEM_CLOCK="$when" .venv/bin/pytest -q -m dates -p no:cacheprovider
  done
fi
