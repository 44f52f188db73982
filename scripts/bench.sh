#!/usr/bin/env bash
# Times MDN's runtime.connect() example scenario in portprobe and in
# Puppeteer on the same machine and Chrome, alternating (A B A B ...), and
# prints each side's median and the ratio. Target: portprobe <= 0.6x.
# Each round also times the same scenario in Firefox through portprobe's
# Firefox engine (the repository's fixture, which has Firefox's
# background.scripts; no Puppeteer side: Puppeteer's Firefox does not load
# extensions), and its median is printed next to Chrome's. No Firefox found
# (PORTPROBE_FIREFOX, or firefox-esr/firefox) skips that line.
#
#   ./scripts/bench.sh [rounds]        # default 10 rounds
#
# The Puppeteer side is ../shared/bench/puppeteer-mdn (or $PUPPETEER_MDN): it
# is copied to a cache folder and gets `npm install puppeteer-core` once.
# Both sides load the same extension folder (its ext-mdn/), and both run one
# process per round, from Chrome's start to its exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
rounds=${1:-10}
src=${PUPPETEER_MDN:-../shared/bench/puppeteer-mdn}
chrome=${PORTPROBE_CHROME:-$(command -v /usr/lib/chromium/chromium chromium google-chrome 2>/dev/null | head -n 1)}
firefox=${PORTPROBE_FIREFOX:-$(command -v /usr/lib/firefox-esr/firefox-esr firefox-esr firefox 2>/dev/null | head -n 1 || true)}
cache=${PORTPROBE_BENCH_CACHE:-$HOME/.cache/portprobe-bench}
if [[ ! -f $src/scenario.mjs ]]; then
  echo "bench: no Puppeteer scenario at $src (set PUPPETEER_MDN)" >&2
  exit 1
fi
mkdir -p "$cache"
cp -r "$src/." "$cache/"
if [[ ! -d $cache/node_modules/puppeteer-core ]]; then
  echo "bench: installing puppeteer-core in $cache" >&2
  (cd "$cache" && npm install --silent --no-audit --no-fund puppeteer-core >/dev/null)
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/benchmdn" ./scripts/benchmdn

total() { sed -n 's/.*"total_ms":\([0-9]*\).*/\1/p'; }
if [[ -z $firefox ]]; then
  echo "bench: no Firefox found (set PORTPROBE_FIREFOX); no Firefox line" >&2
fi
pp=() pt=() ff=()
for ((i = 1; i <= rounds; i++)); do
  a=$(PORTPROBE_CHROME=$chrome "$bin/benchmdn" -ext "$cache/ext-mdn")
  b=$(cd "$cache" && CHROME_PATH=$chrome node scenario.mjs)
  pp+=("$(total <<<"$a")") pt+=("$(total <<<"$b")")
  echo "round $i: portprobe $a"
  echo "round $i: puppeteer $b"
  if [[ -n $firefox ]]; then
    c=$(PORTPROBE_FIREFOX=$firefox "$bin/benchmdn" -browser firefox -ext fixtures/extensions/mdn-example)
    ff+=("$(total <<<"$c")")
    echo "round $i: portprobe firefox $c"
  fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
mp=$(median "${pp[@]}") mt=$(median "${pt[@]}")
echo "portprobe median ${mp} ms, Puppeteer median ${mt} ms over $rounds rounds ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v p="$mp" -v t="$mt" 'BEGIN { r = p / t; printf "ratio %.2f (target <= 0.60): %s\n", r, (r <= 0.6 ? "met" : "NOT met") }'
if [[ -n $firefox ]]; then
  echo "portprobe Firefox median $(median "${ff[@]}") ms (Chrome ${mp} ms) over $rounds rounds ($("$firefox" --version 2>/dev/null | head -n 1))"
fi
