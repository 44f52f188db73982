#!/usr/bin/env bash
# Runs the conformance suite in real Chrome and regenerates docs/behaviors.md
# from its Ginkgo JSON report. Extra arguments go to ginkgo, e.g.
# --label-filter=connect.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
catalog=../shared/reference/messaging-behaviors.md
[[ -f $catalog ]] || catalog=""
for own in docs/catalog/*.md; do
  [[ -f $own ]] && catalog=${catalog:+$catalog,}$own
done
status=0
go tool ginkgo --no-color --json-report=report.json --output-dir="$out" "$@" ./specs || status=$?
go run ./scripts/behaviors -report "$out/report.json" ${catalog:+-catalog "$catalog"} -out docs/behaviors.md
exit $status
