#!/usr/bin/env bash
# UI end-to-end: the desktop app in a real window (WebKitGTK) under Xvfb, driven by
# tests/e2e.rs through tauri-driver + WebKitWebDriver (scripts/e2e-session.sh starts both).
# Screenshots: target/e2e-screenshots/.
# scripts/test.sh runs this after `cargo test --workspace --locked`, so the app binary is
# already built; `--workspace` keeps the same feature set (no rebuild).
set -euo pipefail
cd "$(dirname "$0")/../.."

PASSKEY_ENROLL_E2E=1 bash scripts/e2e-session.sh target/e2e-logs \
  cargo test --workspace --locked --test e2e -- --test-threads=1
echo "screenshots: $(pwd)/target/e2e-screenshots/"
