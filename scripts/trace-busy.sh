#!/usr/bin/env bash
# Runs `portprobe trace` on the inject-on-update fixture N times (default 20)
# with both cores kept busy, and checks each run: the injected content
# script's six port events are all printed, and printed in time order (no
# event after a later one). Prints one line per run and a total; exits 1 if
# a run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
bin=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$bin"' EXIT
go build -o "$bin/portprobe" ./cmd/portprobe
for _ in $(nproc 2>/dev/null || echo 2); do (while :; do :; done) & done
ok=0
for i in $(seq "$runs"); do
  out=$("$bin/portprobe" trace fixtures/extensions/inject-on-update --for 3s --html "" 2>&1 || true)
  events=$(grep -c '^ *[0-9][0-9]* [0-9:.]* ' <<<"$out" || true)
  ordered=$(grep '^ *[0-9][0-9]* [0-9:.]* ' <<<"$out" | awk '{ if (prev != "" && $2 < prev) bad = 1; prev = $2 } END { print bad ? "no" : "yes" }')
  if [[ $events -ge 6 && $ordered == yes ]]; then ok=$((ok + 1)); verdict=ok; else verdict=FAIL; fi
  echo "run $i: $events events, in time order: $ordered: $verdict"
  if [[ $verdict != ok ]]; then
    while IFS= read -r line; do printf '    %s\n' "$line"; done <<<"$out"
  fi
done
echo "$ok of $runs runs showed every event in order, with both cores busy"
[[ $ok -eq $runs ]]
