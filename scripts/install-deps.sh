#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build and the tests need.
# Idempotent: packages that are already there are skipped by apt.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
# --cli: only what the `passkeys` CLI needs: D-Bus for the Secret Service keychain, libudev for
# USB security keys (hidraw), pcsc-lite for NFC readers, libclang for fido-hid-rs's bindgen.
# default: everything the workspace and its tests need (Tauri/WebKitGTK, HID, PC/SC, E2E).
if [ "${1:-}" = "--cli" ]; then
  PKGS=(pkg-config libdbus-1-dev libudev-dev libpcsclite-dev libclang1-14 libclang-common-14-dev)
else
  PKGS=(pkg-config libwebkit2gtk-4.1-dev libdbus-1-dev libudev-dev libpcsclite-dev
        libclang1-14 libclang-common-14-dev xvfb webkit2gtk-driver)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
