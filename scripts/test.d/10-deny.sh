#!/usr/bin/env bash
# Dependency hygiene: licences, banned/duplicate crates and sources (deny.toml).
# Advisories are skipped here: the RustSec database lives on GitHub, which CI cannot reach.
# Errors are printed in full; crates in more than one version (a warning, deny.toml says why)
# are summed up in one line — `cargo deny check bans` lists them.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo deny --all-features check --hide-inclusion-graph licenses bans sources >"$log" 2>&1 || status=$?
dups=$(grep -c '^warning\[duplicate\]' "$log" || true)
others=$(grep '^warning\[' "$log" | grep -vc '^warning\[duplicate\]' || true)
if [ "$status" != 0 ] || [ "$others" != 0 ]; then
  # every diagnostic block except the duplicate-version warnings
  awk 'BEGIN{p=0} /^(error|warning)\[/{p = ($0 !~ /^warning\[duplicate\]/)} p' "$log" >&2
fi
echo "cargo deny: $(grep -E '^(licenses|bans|sources) ' "$log" | tr '\n' ' ')($dups crates in two or more versions)"
exit "$status"
