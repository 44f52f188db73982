#!/usr/bin/env bash
# Sets up a fresh Debian or Ubuntu machine to run portprobe's tests: installs
# Chromium when no Chrome is found and Xvfb when there is none (a visible
# Chrome on a machine without a display), and downloads the Go modules. Safe to run
# twice. Set PORTPROBE_CHROME to use a Chrome you already have.
set -euo pipefail
cd "$(dirname "$0")/.."

have_chrome() {
  if [[ -n "${PORTPROBE_CHROME:-}" ]]; then
    [[ -x "$PORTPROBE_CHROME" ]] && return 0
    echo "setup: PORTPROBE_CHROME=$PORTPROBE_CHROME is not an executable file" >&2
    exit 1
  fi
  local c
  for c in /usr/lib/chromium/chromium chromium chromium-browser google-chrome google-chrome-stable chrome; do
    if command -v "$c" >/dev/null 2>&1; then return 0; fi
  done
  return 1
}

if have_chrome; then
  echo "setup: Chrome found, not installing Chromium"
else
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no Chrome found and no apt-get to install Chromium; install Chrome and set PORTPROBE_CHROME" >&2
    exit 1
  fi
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "setup: installing Chromium with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

# Xvfb gives a visible Chrome a virtual display on a machine without one:
# the harness starts it itself when Options.Headful (or DevTools, which
# devtools pages need) finds no DISPLAY.
if [[ $(uname -s) == Linux ]] && ! command -v Xvfb >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    echo "setup: installing Xvfb with apt-get"
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq xvfb >/dev/null 2>&1; then
      $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq xvfb >/dev/null
    fi
  else
    echo "setup: no Xvfb and no apt-get: specs that need a visible Chrome (devtools pages) will fail; install Xvfb" >&2
  fi
fi

# Firefox ESR for the Firefox engine (PORTPROBE_BROWSER=firefox, and the
# core's Firefox tests). Its remote debugging protocol changes between
# versions: the supported major is pinned here.
firefox_major=153
if [[ -z "${PORTPROBE_FIREFOX:-}" ]] && ! command -v firefox-esr >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    echo "setup: installing Firefox ESR $firefox_major with apt-get"
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "firefox-esr=${firefox_major}.*" >/dev/null 2>&1; then
      # Not fatal: without Firefox, the Firefox engine's tests say they
      # were skipped and why; Chrome's run as before.
      { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "firefox-esr=${firefox_major}.*" >/dev/null; } ||
        echo "setup: warning: could not install Firefox ESR $firefox_major (is Debian's security repository in the apt sources?); the Firefox tests will be skipped" >&2
    fi
  else
    echo "setup: no Firefox ESR and no apt-get: the Firefox engine's tests will be skipped; install Firefox ESR $firefox_major" >&2
  fi
fi
if command -v firefox-esr >/dev/null 2>&1 && ! firefox-esr --version 2>/dev/null | grep -q " ${firefox_major}\."; then
  echo "setup: warning: $(firefox-esr --version 2>/dev/null) is not Firefox ESR $firefox_major, the version portprobe's Firefox engine is tested with" >&2
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "setup: Go is not installed (https://go.dev/doc/install); portprobe needs Go 1.26" >&2
    exit 1
  fi
fi
echo "setup: downloading Go modules"
go mod download
go build ./...
echo "setup: done ($(go version | cut -d' ' -f3), $(go run ./scripts/chromeversion 2>/dev/null || echo 'Chrome version unknown'))"
