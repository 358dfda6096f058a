#!/usr/bin/env bash
# Packaging (issue 16): builds the .deb and the .rpm (scripts/package.sh), installs the .deb
# with apt on this machine and tests what is installed, then removes it again:
# - the files land: binaries on PATH, desktop entry (desktop-file-validate), AppStream
#   metainfo (appstreamcli validate), icons (hicolor PNGs and scalable SVG), man pages, bash/
#   zsh/fish completions, the FIDO udev rule with uaccess (through libu2f-udev);
# - the installed `passkeys demo` runs the sandbox + software authenticator end to end;
# - the installed `passkey-enroll` runs the UI end-to-end suite (tests/e2e.rs pointed at
#   /usr/bin/passkey-enroll with PASSKEY_ENROLL_BIN) under Xvfb + tauri-driver;
# - `apt-get remove` leaves none of the package's files behind;
# - the .rpm's contents, modes and dependencies are listed (rpm -qp).
# Needs root (or sudo) for apt. The release build is the slow part (LTO: ~15-25 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
started=$(date +%s)
step() { echo "-- [$(($(date +%s) - started)) s] $*"; }
fail() { echo "40-package: $*" >&2; exit 1; }

source scripts/lib/apt.sh
need_tools desktop-file-validate:desktop-file-utils appstreamcli:appstream rpm:rpm \
  rsvg-convert:librsvg2-bin

step "build the packages"
bash scripts/package.sh
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
deb=$(ls "$target_dir"/release/bundle/deb/*.deb)
rpm_file=$(ls "$target_dir"/release/bundle/rpm/*.rpm)
size() { stat -c %s "$1" | awk '{printf "%.2f MiB", $1/1048576}'; }
echo "deb: $deb ($(size "$deb"))"
echo "rpm: $rpm_file ($(size "$rpm_file"))"

step "the .deb's control data"
pkg=$(dpkg-deb -f "$deb" Package)
version=$(dpkg-deb -f "$deb" Version)
dpkg-deb -f "$deb" Package Version Architecture Installed-Size Depends Recommends
[ "$pkg" = passkey-enroll ] || fail "package name $pkg"
[ "$(dpkg-deb -I "$deb" control | grep -c '^Depends:')" = 1 ] || fail "Depends must be listed once"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libwebkit2gtk-4.1-0 libgtk-3-0 libu2f-udev libpcsclite1; do
  [ "$(tr ',' '\n' <<<"$depends" | grep -c "^ *$d\b")" = 1 ] || fail "Depends: $d must appear once: $depends"
done
dpkg-deb -f "$deb" Recommends | grep -qw pcscd || fail "pcscd must be recommended"

# Files no other package owns yet: after removal they must be gone.
if dpkg -s "$pkg" >/dev/null 2>&1; then $SUDO apt-get remove -y -q "$pkg"; fi
mapfile -t files < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|' | grep -v '/$')
echo "${#files[@]} files in the .deb"

step "apt-get install ./$(basename "$deb")"
$SUDO apt-get install -y -q "$deb"

step "the files landed"
[ "$(command -v passkeys)" = /usr/bin/passkeys ] || fail "passkeys is not on PATH"
[ "$(command -v passkey-enroll)" = /usr/bin/passkey-enroll ] || fail "passkey-enroll is not on PATH"
app_id=dev.passkey-enroll.app
desktop=/usr/share/applications/$app_id.desktop
[ -f "$desktop" ] || fail "no desktop entry $desktop"
[ "$(ls /usr/share/applications | grep -ci 'passkey')" = 1 ] || fail "more than one desktop entry: $(ls /usr/share/applications)"
desktop-file-validate "$desktop"
grep -qx 'Exec=passkey-enroll' "$desktop" || fail "desktop Exec"
grep -qx 'Icon=passkey-enroll' "$desktop" || fail "desktop Icon"
metainfo=/usr/share/metainfo/$app_id.metainfo.xml
appstreamcli validate --no-net "$metainfo"
for s in 32x32 64x64 128x128 256x256 512x512; do
  [ -f "/usr/share/icons/hicolor/$s/apps/passkey-enroll.png" ] || fail "icon $s missing"
done
svg=/usr/share/icons/hicolor/scalable/apps/passkey-enroll.svg
rsvg-convert -w 48 -h 48 "$svg" -o "$target_dir/package-icon-48.png" || fail "the scalable icon does not render"
for m in passkeys passkeys-login passkeys-add passkeys-authenticators passkeys-demo; do
  zcat "/usr/share/man/man1/$m.1.gz" | grep -q '^\.TH' || fail "man page $m.1.gz"
done
bash -c 'source /usr/share/bash-completion/completions/passkeys && complete -p passkeys' >/dev/null \
  || fail "bash completion"
grep -q '#compdef passkeys' /usr/share/zsh/vendor-completions/_passkeys || fail "zsh completion"
grep -q 'complete -c passkeys' /usr/share/fish/vendor_completions.d/passkeys.fish || fail "fish completion"
# Device access: libu2f-udev brings the FIDO rules (Debian 12: systemd's 60-fido-id.rules,
# through udev >= 244, tags every FIDO HID device ID_SECURITY_TOKEN, and 70-uaccess.rules
# gives the logged-in user access to those; older releases: libu2f-udev's 70-u2f.rules).
dpkg -s libu2f-udev >/dev/null || fail "libu2f-udev is not installed"
rules=/usr/lib/udev/rules.d
if [ -f $rules/60-fido-id.rules ]; then
  grep -q 'fido_id' $rules/60-fido-id.rules || fail "60-fido-id.rules does not run fido_id"
  grep -q 'ID_SECURITY_TOKEN.*uaccess' $rules/70-uaccess.rules || fail "no uaccess for security tokens"
else
  grep -q 'uaccess' $rules/70-u2f.rules || fail "no FIDO udev rule with uaccess"
fi
[ "$(passkeys --version)" = "passkeys $version" ] || fail "passkeys --version: $(passkeys --version)"

step "the installed passkeys demo"
passkeys demo | tee "$target_dir/package-demo.log"
grep -q '^Done: a passkey was enrolled end to end' "$target_dir/package-demo.log" || fail "passkeys demo"
passkeys authenticators | tee "$target_dir/package-authenticators.log"
grep -q 'No security key found' "$target_dir/package-authenticators.log" || fail "passkeys authenticators"

step "the installed passkey-enroll under the UI end-to-end suite"
PASSKEY_ENROLL_E2E=1 PASSKEY_ENROLL_BIN=/usr/bin/passkey-enroll \
  bash scripts/e2e-session.sh "$target_dir/package-e2e-logs" \
  cargo test --workspace --locked --test e2e -- --test-threads=1

step "apt-get remove"
$SUDO apt-get remove -y -q "$pkg"
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
  fail "$pkg is still installed"
fi
left=()
for f in "${files[@]}"; do
  if [ -e "$f" ]; then left+=("$f"); fi
done
[ ${#left[@]} = 0 ] || fail "left behind after removal: ${left[*]}"
if command -v passkeys >/dev/null; then fail "passkeys still on PATH"; fi
echo "all ${#files[@]} files are gone"

step "the .rpm"
rpm -qip "$rpm_file" 2>/dev/null | grep -E '^(Name|Version|Release|Architecture|Size|Summary) *:'
echo "requires:"; rpm -qpR "$rpm_file" 2>/dev/null | sed 's/^/  /'
echo "contents:"; rpm -qp --qf '[%{FILEMODES:perms} %{FILESIZES} %{FILENAMES}\n]' "$rpm_file" 2>/dev/null | sed 's/^/  /'
# (Lists are read whole first: `grep -q` closing a pipe early fails it under pipefail.)
rpm_modes=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm_file" 2>/dev/null)
grep -qx -- '-rwxr-xr-x /usr/bin/passkeys' <<<"$rpm_modes" || fail "the rpm's /usr/bin/passkeys is not executable"
rpm_files=$(rpm -qlp "$rpm_file" 2>/dev/null)
for f in /usr/bin/passkey-enroll /usr/share/metainfo/$app_id.metainfo.xml \
  /usr/share/man/man1/passkeys.1.gz /usr/share/bash-completion/completions/passkeys \
  /usr/share/applications/$app_id.desktop /usr/share/icons/hicolor/scalable/apps/passkey-enroll.svg; do
  grep -qx "$f" <<<"$rpm_files" || fail "the rpm has no $f"
done
[ "$(grep -c '^/usr/share/applications/' <<<"$rpm_files")" = 1 ] || fail "the rpm has more than one desktop entry"
rpm_req=$(rpm -qpR "$rpm_file" 2>/dev/null)
for r in 'libwebkit2gtk-4.1.so.0()(64bit)' systemd-udev pcsc-lite-libs; do
  grep -qxF "$r" <<<"$rpm_req" || fail "the rpm does not require $r"
done
step "done"
