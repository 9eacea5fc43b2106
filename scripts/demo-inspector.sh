#!/usr/bin/env bash
# The inspector's path (issue 16), run by scripts/demo.sh after the main job, or on its own:
#   SECAUDIT_WORKSPACE=<the agencies' workspace> DEMO_OUT=<dir> bash scripts/demo-inspector.sh
# Two agencies export their bundles from their workspace; Công an tỉnh, in a SEPARATE workspace, sets
# its identity as issuer, imports and accepts the bundles, scans the declared hosts itself (the example
# loopback services must be running), compares claims with its own findings, and writes the roll-up
# built from the bundles and one inspection report in its own name.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_OUT:-demo-out}
SA=${SA:-.venv/bin/secaudit}
AGENCIES=${DEMO_AGENCIES:-"so-khcn vp-ubnd-tinh"}
AS_OF=${DEMO_AS_OF:-$(.venv/bin/python -c 'from secaudit import clock; print(clock.today())')}
POLICE="$OUT/cong-an-tinh"
mkdir -p "$OUT/bundles" "$OUT/reports"
rm -rf "$POLICE"

for agency in $AGENCIES; do   # each agency, from its own data
  $SA bundle export --agency "$agency" -o "$OUT/bundles/$agency.zip" --as-of "$AS_OF" --no-report
done
export SECAUDIT_WORKSPACE="$POLICE" SECAUDIT_ACTOR="pa05-demo"
$SA init
$SA issuer set --name "Công an tỉnh Nghệ An" --parent "Bộ Công an" --symbol "CAT-PA05" --place "Nghệ An" \
  --signer-authority "TL." --signer-on-behalf-of "Giám đốc" \
  --signer-title "Trưởng phòng An ninh mạng và phòng, chống tội phạm sử dụng công nghệ cao" \
  --signer-name "Thái Bá Cường" --recipient "Đồng chí Giám đốc Công an tỉnh (để báo cáo)" \
  --recipient "Sở Khoa học và Công nghệ" --recipient "Lưu: VT, PA05"
for agency in $AGENCIES; do
  $SA bundle verify "$OUT/bundles/$agency.zip" >/dev/null
  $SA bundle import "$OUT/bundles/$agency.zip"
  sub=$($SA submissions list --agency "$agency" --format csv --no-bom | tail -n 1 | cut -d, -f1)
  $SA submissions accept "$agency" "$sub"        # the declared hosts become the police's scan scope
  $SA scan "$agency" || echo "demo: scan of $agency reported a problem (see above)" >&2
  $SA submissions status "$agency" --as-of "$AS_OF"
done
$SA submissions late --deadline "$AS_OF"
$SA submissions rollup --format pdf -o "$OUT/reports/cong-an-tong-hop-tu-goi.pdf" --as-of "$AS_OF"
$SA report so-khcn --inspection --format pdf -o "$OUT/reports/cong-an-kiem-tra-so-khcn.pdf" --as-of "$AS_OF"
