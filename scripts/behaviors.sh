#!/usr/bin/env bash
# Runs the conformance suite in real Chromium and in Firefox ESR, and
# regenerates docs/behaviors.md from their Ginkgo JSON reports, side by side.
# Extra arguments go to ginkgo, e.g. --label-filter=connect.
# PORTPROBE_BEHAVIORS_BROWSERS="chrome" runs only one of them.
# PORTPROBE_BEHAVIORS_REPORTS="a.json,b.json" runs nothing and writes the page
# from those reports instead: a CI run's, say, where the reports of one
# browser build (each shard's, docs/sharding.md) make one column.
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
reports=${PORTPROBE_BEHAVIORS_REPORTS:-}
if [[ -z $reports ]]; then
  for browser in ${PORTPROBE_BEHAVIORS_BROWSERS:-chrome firefox}; do
    PORTPROBE_BROWSER=$browser go tool ginkgo --no-color --json-report="$browser.json" --output-dir="$out" "$@" ./specs || status=$?
    reports=${reports:+$reports,}$out/$browser.json
  done
elif [[ $# -gt 0 ]]; then
  echo "behaviors.sh: ginkgo arguments given with PORTPROBE_BEHAVIORS_REPORTS, which runs nothing" >&2
  exit 2
fi
go run ./scripts/behaviors -report "$reports" ${catalog:+-catalog "$catalog"} -out docs/behaviors.md
exit $status
