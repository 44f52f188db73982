#!/usr/bin/env bash
# Runs the conformance suite (without the slow specs) many times in a row,
# stopping at the first failure: first N times on a quiet machine, then M
# times with CPU hogs that this script starts and always stops: three per
# core ($PORTPROBE_SOAK_HOGS to change), six on two cores. Under load the
# suite's deadlines are scaled by 3 ($PORTPROBE_TIMEOUT_SCALE, see scaled in
# specs/suite_test.go): a loaded machine is slow, not wrong. Ginkgo's JSON
# reports and failure artifacts stay in $PORTPROBE_SOAK_OUT (default
# soak-out/).
#
#   ./scripts/soak.sh [N] [M] [ginkgo flags...]     # default 20 5 -p
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
quiet=${1:-20}
loaded=${2:-5}
shift $(( $# < 2 ? $# : 2 ))
flags=("$@")
[[ ${#flags[@]} -gt 0 ]] || flags=(-p)
out=${PORTPROBE_SOAK_OUT:-soak-out}
mkdir -p "$out"
export PORTPROBE_ARTIFACTS=$PWD/$out/artifacts

hogs=()
stop_hogs() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
  hogs=()
}
trap stop_hogs EXIT

run() { # name repeats
  local start=$SECONDS
  if go tool ginkgo --no-color "${flags[@]}" --repeat=$(($2 - 1)) \
      --json-report="$1.json" --output-dir="$out" ./specs >"$out/$1.log" 2>&1; then
    echo "soak: $1: $2/$2 runs passed in $((SECONDS - start)) s"
  else
    echo "soak: $1: FAILED after $((SECONDS - start)) s; see $out/$1.log" >&2
    grep -a -A3 '\[FAIL\]' "$out/$1.log" >&2 || true
    exit 1
  fi
}

if ((quiet > 0)); then run quiet "$quiet"; fi
if ((loaded > 0)); then
  export PORTPROBE_TIMEOUT_SCALE=${PORTPROBE_TIMEOUT_SCALE:-3}
  for ((i = 0; i < ${PORTPROBE_SOAK_HOGS:-$((3 * $(nproc)))}; i++)); do
    (while :; do :; done) &
    hogs+=($!)
  done
  echo "soak: ${#hogs[@]} CPU hogs running (load $(cut -d' ' -f1 /proc/loadavg)), deadlines scaled by $PORTPROBE_TIMEOUT_SCALE"
  run loaded "$loaded"
fi
