#!/usr/bin/env bash
# Runs a command inside a UI test session: Xvfb on a free display and tauri-driver (with
# WebKitWebDriver) on a free port pair from 4444, both stopped afterwards. The command gets
# DISPLAY and TAURI_DRIVER_URL. Used by scripts/test.d/20-e2e.sh (the dev build) and
# scripts/test.d/40-package.sh (the installed package).
#   scripts/e2e-session.sh LOGDIR COMMAND [ARGS...]
set -euo pipefail
LOGS="$1"
shift
command -v tauri-driver >/dev/null || cargo install tauri-driver --locked --version '^2'
command -v Xvfb >/dev/null || { echo "Xvfb is missing: run scripts/install-deps.sh" >&2; exit 1; }
command -v WebKitWebDriver >/dev/null || { echo "WebKitWebDriver is missing (webkit2gtk-driver): run scripts/install-deps.sh" >&2; exit 1; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# tauri-driver's port and WebKitWebDriver's: the first free pair from 4444 (others may be
# running their own E2E on this machine).
PORT="${TAURI_DRIVER_PORT:-4444}"
while listening "$PORT" || listening "$((PORT + 1))"; do PORT=$((PORT + 2)); done
NATIVE_PORT=$((PORT + 1))
mkdir -p "$LOGS"

# A free display number (a second run, or a developer's own Xvfb, may hold :99).
DISPLAY_NUM=99
while [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] || [ -e "/tmp/.X$DISPLAY_NUM-lock" ]; do
  DISPLAY_NUM=$((DISPLAY_NUM + 1))
done

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

Xvfb ":$DISPLAY_NUM" -screen 0 1280x900x24 -nolisten tcp >"$LOGS/xvfb.log" 2>&1 &
pids+=($!)
export DISPLAY=":$DISPLAY_NUM"

tauri-driver --port "$PORT" --native-port "$NATIVE_PORT" \
  --native-driver "$(command -v WebKitWebDriver)" >"$LOGS/tauri-driver.log" 2>&1 &
pids+=($!)

# Wait (bounded) for tauri-driver to listen.
for _ in $(seq 1 100); do
  if listening "$PORT"; then break; fi
  sleep 0.1
done
listening "$PORT" || {
  echo "tauri-driver did not start on port $PORT; log:" >&2
  cat "$LOGS/tauri-driver.log" >&2
  exit 1
}

export TAURI_DRIVER_URL="http://127.0.0.1:$PORT"
"$@"
