#!/usr/bin/env bash
# Installs what secaudit needs on a Debian machine (idempotent): system packages, then a
# virtual environment in .venv with secaudit and its test dependencies.
# On CI (CI=true) the package is installed from the built wheel, as users get it, so the tests
# exercise the packaged checklists, profiles and templates; elsewhere it is installed editable
# (SECAUDIT_EDITABLE=0/1 forces either).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(nmap poppler-utils fonts-liberation2 fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0
      libharfbuzz-subset0 iproute2 openssl python3-venv chromium chromium-driver
      libreoffice-writer)  # libreoffice-writer: test-time only (renders the Word report to check it)
missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
default_editable=1
[ "${CI:-}" = "true" ] && default_editable=0
if [ "${SECAUDIT_EDITABLE:-$default_editable}" = "1" ]; then
  .venv/bin/python -m pip install -q -e ".[test,sign]"
else
  .venv/bin/python -m pip install -q --force-reinstall --no-deps . >/dev/null
  .venv/bin/python -m pip install -q ".[test,sign]"
fi
echo "setup: ready ($(.venv/bin/secaudit --version), $(nmap --version | head -1))" >&2
