#!/usr/bin/env bash
# README's second command: installs what is missing and runs the whole test suite
# (formatting, lints, unit and integration tests, then each suite in scripts/test.d/ in
# name order: UI end-to-end, interop, ...). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The CLI's `docs` feature (man pages and completions for the packages) is off by default.
cargo clippy -p passkeys-cli --all-targets --features docs --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
shopt -s nullglob
for suite in scripts/test.d/*.sh; do
  echo "== $suite"
  bash "$suite"
done
