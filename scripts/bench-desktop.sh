#!/usr/bin/env bash
# Desktop-app figures for scripts/bench.sh: start-up time and memory under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tauri-driver >/dev/null || cargo install tauri-driver --locked --version '^2' >&2
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=4544
while listening "$PORT" || listening "$((PORT + 1))"; do PORT=$((PORT + 2)); done
DISPLAY_NUM=120
while [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] || [ -e "/tmp/.X$DISPLAY_NUM-lock" ]; do DISPLAY_NUM=$((DISPLAY_NUM + 1)); done
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
Xvfb ":$DISPLAY_NUM" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=":$DISPLAY_NUM"
tauri-driver --port "$PORT" --native-port "$((PORT + 1))" --native-driver "$(command -v WebKitWebDriver)" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do listening "$PORT" && break; sleep 0.1; done
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
python3 scripts/bench_desktop.py "http://127.0.0.1:$PORT" "$target_dir/release/passkey-enroll" "${DESKTOP_ROUNDS:-5}"
