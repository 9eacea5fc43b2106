#!/usr/bin/env bash
# The main job on the bundled example data, on a fresh Debian machine:
# loopback services up -> init -> import inventory -> answers -> scan -> status and levels ->
# PDF reports (per agency and the province roll-up), XLSX, a verified bundle -> services down.
# Everything it writes goes to demo-out/ (override with DEMO_OUT=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

OUT=${DEMO_OUT:-demo-out}
rm -rf "$OUT"
mkdir -p "$OUT"
export SECAUDIT_WORKSPACE="$OUT/workspace"
export SECAUDIT_ACTOR="demo"
SA=.venv/bin/secaudit
# "today" as secaudit sees it (Vietnam calendar day; $SECAUDIT_NOW pins it for a reproducible run)
AS_OF=${DEMO_AS_OF:-$(.venv/bin/python -c 'from secaudit import clock; print(clock.today())')}

.venv/bin/python examples/services.py start --state-dir "$OUT/services"
trap '.venv/bin/python examples/services.py stop --state-dir "$OUT/services" || true' EXIT

$SA init
$SA inventory import examples/inventory
for answers in examples/answers/*.yaml; do
  agency=$(basename "$answers" .yaml)
  $SA assess "$agency" --answers "$answers"
done
for agency in $($SA agency list --format csv | tail -n +2 | cut -d, -f1); do
  # An incomplete scan (a host that did not answer) is reported, not fatal for the demo.
  $SA scan "$agency" || echo "demo: scan of $agency reported a problem (see above)" >&2
done
$SA status --as-of "$AS_OF" || true   # exit 3 = requirements not met, expected on example data
$SA level list || true                 # exit 3 = a level flag is an error, expected on example data
mkdir -p "$OUT/reports" "$OUT/bundles"
for agency in $($SA agency list --format csv | tail -n +2 | cut -d, -f1); do
  $SA report "$agency" --format pdf -o "$OUT/reports/$agency.pdf" --as-of "$AS_OF"
done
$SA report --province --format pdf -o "$OUT/reports/tong-hop-tinh.pdf" --as-of "$AS_OF"
$SA report --province --format html -o "$OUT/reports/tong-hop-tinh.html" --as-of "$AS_OF"
# the publishable list of agencies behind (CV 3130/UBND-VX): no addresses, ports or findings
$SA report --province --non-compliant --format pdf -o "$OUT/reports/co-quan-chua-dat.pdf" --as-of "$AS_OF"
$SA report so-khcn --format xlsx -o "$OUT/reports/so-khcn.xlsx" --as-of "$AS_OF"
$SA report so-khcn --format docx -o "$OUT/reports/so-khcn.docx" --as-of "$AS_OF"   # the same report in Word
$SA inventory export --format xlsx -o "$OUT/danh-muc.xlsx"
$SA bundle export --agency so-khcn -o "$OUT/bundles/so-khcn.zip" --as-of "$AS_OF" --no-report
$SA bundle verify "$OUT/bundles/so-khcn.zip" >/dev/null
$SA evidence verify
$SA log verify
# The inspector's path: two agencies' bundles into Công an tỉnh's own workspace (scripts/demo-inspector.sh).
DEMO_OUT="$OUT" DEMO_AS_OF="$AS_OF" bash scripts/demo-inspector.sh
echo
echo "Báo cáo PDF / PDF reports: $(cd "$OUT/reports" && pwd)/"
ls -1 "$OUT/reports"
