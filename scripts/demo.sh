#!/usr/bin/env bash
# README's first command: installs what is missing, then enrolls passkeys end to end against
# the built-in sandbox with software authenticators (`passkeys demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --cli
echo "Building the passkeys CLI (the first run compiles for a few minutes)…" >&2
exec cargo run --locked -p passkeys-cli --bin passkeys -- demo "$@"
