#!/usr/bin/env bash
# Builds the Linux packages: target/release/bundle/deb/*.deb and target/release/bundle/rpm/*.rpm
# (under $CARGO_TARGET_DIR when set).
#
# - The Tauri CLI comes from the npm registry, pinned in packaging/package.json and its lock.
# - Release build of the app (production asset protocol) and the CLI in ONE cargo invocation,
#   so the shared crates are built once.
# - Man pages and bash/zsh/fish completions are generated from the CLI's clap definitions
#   (`passkeys generate-docs`, a debug build with `--features docs`; the shipped binary does not
#   carry the generators).
# - `tauri bundle` with packaging/linux.json merged into tauri.conf.json: the CLI as external
#   binary, the generated files, the AppStream metainfo and the scalable icon, and the desktop
#   entry template (these name files that exist only after the steps above, so they are not in
#   tauri.conf.json, which the app's build reads). The dependencies are in tauri.conf.json
#   (libu2f-udev gives the FIDO udev rules with uaccess; pcscd is recommended for NFC readers;
#   the Tauri CLI adds libwebkit2gtk-4.1-0 and libgtk-3-0 itself, so they are not listed).
# - The .deb is then re-packed with dpkg-deb: the desktop entry is named after the app id
#   (dev.passkey-enroll.app.desktop; Tauri names it after the product name, with a space), and
#   xz compression instead of gzip.
# - The .rpm is then re-built with rpmbuild from the same package tree, so it holds exactly the
#   .deb's files (desktop entry included); name, version, summary, licence, description,
#   Requires and Recommends are read from Tauri's .rpm (Tauri's rpm writer cannot rename a
#   file in place).
# AppImage is not built: Tauri's AppImage bundler downloads linuxdeploy and its plugins from
# GitHub, which CI may not reach and the project does not take binaries from (README).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
APP_ID=dev.passkey-enroll.app
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
host=$(rustc -vV | sed -n 's/^host: //p')

source scripts/lib/apt.sh
need_tools npm:npm dpkg-deb:dpkg rpmbuild:rpm

echo "-- npm ci (packaging: @tauri-apps/cli)"
npm ci --prefix packaging --no-audit --no-fund --loglevel=error
tauri="$PWD/packaging/node_modules/.bin/tauri"

echo "-- cargo build --release (passkey-enroll + passkeys)"
cargo build --release --locked -p passkeys-cli -p passkey-enroll --features passkey-enroll/custom-protocol

stage=packaging/stage
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/share/metainfo" "$stage/share/icons/hicolor/scalable/apps"
# Tauri's externalBin naming: <name>-<target triple>, installed as /usr/bin/<name>.
install -m 0755 "$target_dir/release/passkeys" "$stage/bin/passkeys-$host"

echo "-- passkeys generate-docs (man pages, completions)"
# A debug build with the same targets as `cargo test --workspace` (so the same features: after
# the test run, only passkeys-cli is rebuilt) plus the `docs` feature.
cargo build --locked --workspace --lib --bins --tests --features passkeys-cli/docs
"$target_dir/debug/passkeys" generate-docs "$stage/share"
gzip -9n "$stage"/share/man/man1/*.1
install -m 0644 "packaging/linux/$APP_ID.metainfo.xml" "$stage/share/metainfo/"
install -m 0644 icons/passkey-enroll.svg "$stage/share/icons/hicolor/scalable/apps/passkey-enroll.svg"

echo "-- tauri bundle --bundles deb rpm"
rm -rf "$target_dir/release/bundle"
"$tauri" bundle --ci --bundles deb rpm --config packaging/linux.json

echo "-- re-pack the .deb (desktop entry named after the app id, xz)"
# Tauri names the files after the product name ("Passkey Enroll_0.1.0_amd64.deb"); use the
# package name as Debian and Fedora do.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
tauri_deb=$(ls "$target_dir"/release/bundle/deb/*.deb)
deb="$target_dir/release/bundle/deb/passkey-enroll_${version}_amd64.deb"
tauri_rpm=$(ls "$target_dir"/release/bundle/rpm/*.rpm)
rpm_file="$target_dir/release/bundle/rpm/passkey-enroll-${version}-1.x86_64.rpm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$tauri_deb" "$work/pkg"
apps="$work/pkg/usr/share/applications"
desktop=$(ls "$apps"/*.desktop)
if [ "$desktop" != "$apps/$APP_ID.desktop" ]; then
  mv "$desktop" "$apps/$APP_ID.desktop"
fi
# md5sums lists every file of the data part: regenerate it.
(cd "$work/pkg" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$work/pkg/DEBIAN/md5sums"
rm "$tauri_deb"
dpkg-deb --root-owner-group -Zxz --build "$work/pkg" "$deb" >/dev/null

echo "-- re-build the .rpm from the same tree (rpmbuild)"
# The rpm's header fields come from Tauri's rpm (q), its files from the .deb's tree.
q() { rpm -qp --qf "$1" "$tauri_rpm" 2>/dev/null; }
mkdir -p "$work"/rpm/{SPECS,RPMS,BUILD} "$work/tree"
cp -a "$work/pkg/." "$work/tree/"
rm -rf "$work/tree/DEBIAN"
spec="$work/rpm/SPECS/passkey-enroll.spec"
{
  echo "Name: $(q '%{NAME}')"
  echo "Version: $(q '%{VERSION}')"
  echo "Release: $(q '%{RELEASE}')"
  echo "Summary: $(q '%{SUMMARY}')"
  echo "License: $(q '%{LICENSE}')"
  echo "AutoReqProv: no"
  rpm -qpR "$tauri_rpm" 2>/dev/null | grep -v '^rpmlib(' | sed 's/^/Requires: /'
  rpm -qp --recommends "$tauri_rpm" 2>/dev/null | sed 's/^/Recommends: /'
  echo "%global debug_package %{nil}"
  echo "%global __os_install_post %{nil}"
  echo "%description"
  q '%{DESCRIPTION}'
  echo
  echo "%install"
  echo "cp -a '$work/tree/.' %{buildroot}/"
  echo "%files"
  echo "%defattr(-,root,root,-)"
  (cd "$work/tree" && find . -type f | sed 's|^\.||' | LC_ALL=C sort | sed 's/^/"/; s/$/"/')
} >"$spec"
rpmbuild -bb --quiet --define "_topdir $work/rpm" --define "_build_id_links none" "$spec" >/dev/null
rm "$tauri_rpm"
mv "$work"/rpm/RPMS/*/*.rpm "$rpm_file"

echo "-- packages"
ls -l "$deb" "$rpm_file"
