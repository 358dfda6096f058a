#!/usr/bin/env bash
# Interop suite (issue 7): independent, widely used implementations judge the app's output.
# - oidc-provider (npm; a certified OpenID provider) runs on loopback and judges sign-in
#   (PKCE S256, loopback redirect), refresh with rotation and revocation done by the real
#   `passkeys` binary; the app must refuse tampered ID tokens and foreign nonces.
# - py_webauthn (PyPI) and @simplewebauthn/server (npm) verify every passkey registration the
#   app made in the CLI tests, with go-webauthn's (ZITADEL's) encoding rules applied.
# Runs after `cargo test --workspace --locked` (scripts/test.sh), so the binaries are built.
# Network: the npm registry and PyPI at install time only; the tests use loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/apt.sh
need_tools node:nodejs npm:npm python3:python3
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv

echo "-- npm ci (tests/interop/node: oidc-provider, @simplewebauthn/server)"
npm ci --prefix tests/interop/node --no-audit --no-fund --loglevel=error

venv=target/interop/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
echo "-- pip install (target/interop/venv: py_webauthn)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/interop/requirements.txt

dump="$PWD/target/interop/credentials"
rm -rf "$dump"
mkdir -p "$dump"

# The OIDC interop tests, every CLI test target and passkeys-ctap's enroll_e2e: their harness
# writes each registration the app made to $PASSKEYS_INTEROP_DUMP. `--workspace` keeps the
# features (and so the build) the same as the main test run's.
tests=()
for f in crates/passkeys-cli/tests/*.rs; do
  tests+=(--test "$(basename "$f" .rs)")
done
# The virtual security key's registration (passkeys-ctap's end-to-end enrollment) too.
tests+=(--test enroll_e2e)
echo "-- cargo test ${tests[*]} (PASSKEYS_INTEROP=1)"
PASSKEYS_INTEROP=1 PASSKEYS_INTEROP_DUMP="$dump" cargo test --workspace --locked "${tests[@]}"

echo "-- py_webauthn judges $(ls "$dump" | wc -l) registrations"
"$venv/bin/python" tests/interop/verify_credentials.py "$dump"
echo "-- @simplewebauthn/server judges them"
node tests/interop/node/verify-credentials.mjs "$dump"
