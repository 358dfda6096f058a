#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each; FUZZ_SECONDS to change).
# Uses cargo-fuzz (libFuzzer) on the stable toolchain via RUSTC_BOOTSTRAP=1. A crash leaves its
# input under fuzz/artifacts/<target>/: turn it into a fixture in
# crates/passkeys-core/tests/fixtures/bad-inputs/ so it becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=$(cd fuzz && cargo fuzz list)
for t in $targets; do
  echo "== fuzz $t for ${SECONDS_EACH}s"
  mkdir -p "fuzz/corpus/$t"
  (cd fuzz && cargo fuzz run "$t" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=8192)
done
echo "fuzzing finished without crashes"
