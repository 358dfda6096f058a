#!/usr/bin/env bash
# Benchmarks (not tests): builds release binaries and prints one table of figures measured in
# one run on this machine. Results are recorded in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# One invocation, the same as scripts/package.sh (the shared crates are built once).
cargo build --release --locked -p passkeys-cli -p passkey-enroll \
  --features passkey-enroll/custom-protocol >&2
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sm); $(date -u +%Y-%m-%d)"
echo
cargo bench --locked -p passkeys-cli --bench enroll 2>/dev/null | sed -n '/^| measurement/,$p'
size() { stat -c %s "$1" | awk '{printf "%.1f MiB", $1/1048576}'; }
target_dir="${CARGO_TARGET_DIR:-target}"
echo "| release binary: passkeys (CLI) | $(size "$target_dir/release/passkeys") | target ≤ 8 MiB; LTO, opt-level s, stripped |"
echo "| release binary: passkey-enroll (desktop app) | $(size "$target_dir/release/passkey-enroll") | target ≤ 15 MiB; LTO, opt-level s, stripped |"
for deb in "$target_dir"/release/bundle/deb/*.deb; do
  [ -f "$deb" ] && echo "| .deb (scripts/package.sh) | $(size "$deb") | target ≤ 10 MiB; xz |"
done
if [ -x scripts/bench-desktop.sh ]; then
  bash scripts/bench-desktop.sh
fi
