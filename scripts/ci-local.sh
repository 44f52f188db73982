#!/usr/bin/env bash
# Runs a Linux leg of .github/workflows/ci.yml on this machine, its steps read
# from the workflow itself (scripts/ci-local/main.go; docs/ci.md):
#   ./scripts/ci-local.sh --list
#   ./scripts/ci-local.sh --dry-run debian-chromium
#   ./scripts/ci-local.sh race
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
exec go run ./scripts/ci-local "$@"
