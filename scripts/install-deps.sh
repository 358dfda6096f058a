#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build and the tests need.
# Idempotent: packages that are already there are skipped by apt.
set -euo pipefail
# --cli: only what the `passkeys` CLI needs: D-Bus for the Secret Service keychain, libudev for
# USB security keys (hidraw), pcsc-lite for NFC readers, libclang for fido-hid-rs's bindgen.
# default: everything the workspace and its tests need (Tauri/WebKitGTK, HID, PC/SC, E2E).
if [ "${1:-}" = "--cli" ]; then
  PKGS=(pkg-config libdbus-1-dev libudev-dev libpcsclite-dev libclang1-14 libclang-common-14-dev)
else
  PKGS=(pkg-config libwebkit2gtk-4.1-dev libdbus-1-dev libudev-dev libpcsclite-dev
        libclang1-14 libclang-common-14-dev xvfb webkit2gtk-driver)
fi
source "$(dirname "$0")/lib/apt.sh"
need_packages "${PKGS[@]}"
