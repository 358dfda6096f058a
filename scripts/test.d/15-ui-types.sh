#!/usr/bin/env bash
# Type-checks the UI (issue 13 move 5): ui/ is plain JavaScript ES modules with `// @ts-check`
# and JSDoc; `tsc --noEmit` checks it against ui/types/ipc.d.ts (generated from the Rust DTOs,
# kept current by `cargo test`: src-tauri/src/ipc_types.rs) and ui/types/commands.d.ts. So a
# renamed or retyped Rust field breaks here, not in the running app.
# TypeScript comes from the npm registry, pinned by scripts/ui-types/package-lock.json; it is
# installed there (outside ui/, which ships as it is). Network: the npm registry at install time.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/apt.sh
need_tools node:nodejs npm:npm

echo "-- npm ci (scripts/ui-types: typescript)"
npm ci --prefix scripts/ui-types --no-audit --no-fund --loglevel=error
echo "-- tsc --noEmit (ui/, strict, checkJs)"
scripts/ui-types/node_modules/.bin/tsc --noEmit -p scripts/ui-types/tsconfig.json
echo "ui types: ok"
