#!/usr/bin/env bash
# Dependency hygiene: licences, banned/duplicate crates and sources (deny.toml).
# Advisories are skipped here: the RustSec database lives on GitHub, which CI cannot reach.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
cargo deny --all-features check --hide-inclusion-graph licenses bans sources
