#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build and the tests need (see docs/build-notes in README).
# Idempotent: packages that are already there are skipped by apt.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PKGS=(pkg-config libwebkit2gtk-4.1-dev libdbus-1-dev libudev-dev libpcsclite-dev
      libclang1-14 libclang-common-14-dev xvfb webkit2gtk-driver)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
