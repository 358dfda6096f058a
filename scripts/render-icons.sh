#!/usr/bin/env bash
# Renders the app icon, icons/passkey-enroll.svg, to every size the bundles need:
#   icons/{32x32,64x64,128x128,128x128@2x,256x256,icon}.png  rsvg-convert (Debian librsvg2-bin)
#   icons/icon.ico, icons/icon.icns                    `tauri icon` (npm @tauri-apps/cli,
#                                                       pinned in packaging/package.json)
# The .deb/.rpm also install the SVG itself as the hicolor "scalable" icon.
# Run it after editing the SVG and commit the results (the build reads the PNGs).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v rsvg-convert >/dev/null || {
  echo "rsvg-convert is missing: apt-get install librsvg2-bin" >&2
  exit 1
}
svg=icons/passkey-enroll.svg
render() { rsvg-convert --width "$1" --height "$1" --keep-aspect-ratio "$svg" -o "$2"; }
render 32 icons/32x32.png
render 64 icons/64x64.png
render 128 icons/128x128.png
render 256 icons/128x128@2x.png
render 256 icons/256x256.png
render 512 icons/icon.png
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
render 1024 "$tmp/icon-1024.png"
npm ci --prefix packaging --no-audit --no-fund --loglevel=error
(cd packaging && npx --no-install tauri icon "$tmp/icon-1024.png" --output "$tmp/out" >/dev/null)
cp "$tmp/out/icon.ico" "$tmp/out/icon.icns" icons/
ls -l icons/
