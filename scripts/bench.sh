#!/usr/bin/env bash
# Benchmarks (not tests): builds release binaries and prints one table of figures measured in
# one run on this machine. Results are recorded in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --locked -p passkeys-cli --bins >&2
cargo build --release --locked -p passkey-enroll >&2
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sm); $(date -u +%Y-%m-%d)"
echo
cargo bench --locked -p passkeys-cli --bench enroll 2>/dev/null | sed -n '/^| measurement/,$p'
size() { stat -c %s "$1" | awk '{printf "%.1f MiB", $1/1048576}'; }
echo "| release binary: passkeys (CLI) | $(size target/release/passkeys) | stripped: no |"
echo "| release binary: passkey-enroll (desktop app) | $(size target/release/passkey-enroll) | stripped: no |"
if [ -x scripts/bench-desktop.sh ]; then
  bash scripts/bench-desktop.sh
fi
