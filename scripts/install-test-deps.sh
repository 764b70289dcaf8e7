#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages: the npm packages (digitalbazaar's reference libraries,
# anvil, contract artifacts) pinned in tests/node/package-lock.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$root/tests/node/package.json" ]; then
  (cd "$root/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
