# Sourced by the scripts that need Debian/Ubuntu tools: one way to install what is missing.
#
#   source scripts/lib/apt.sh
#   need_tools node:nodejs npm:npm rpm:rpm     # command:package pairs; only missing commands
#   need_packages libudev-dev xvfb             # packages by name; only those not installed
#
# Idempotent: nothing is installed (and apt-get update is not run) when all is there. Uses sudo
# when not root. Network: the distribution's mirrors, only when something is missing.

apt_install() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "installing: $*" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

need_tools() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  apt_install "${missing[@]}"
}

need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  apt_install "${missing[@]}"
}
