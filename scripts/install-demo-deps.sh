#!/usr/bin/env bash
# Installs what `vcgate demo` needs beyond Python packages (the `make demo` target runs it): the anvil Ethereum node
# (npm package @foundry-rs/anvil, pinned in tests/node/package-lock.json) and the official EAS + SchemaRegistry
# contract artifacts (ABI + creation bytecode) into tests/node/artifacts. The same pins as
# scripts/install-test-deps.sh, without the test suite's PostgreSQL; both skip what is already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v npm >/dev/null || { echo "npm is needed to install anvil (Node.js >= 20 with npm)" >&2; exit 1; }

if [ ! -x "$root/tests/node/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ]; then
  (cd "$root/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

eth_artifacts="$root/tests/node/artifacts"
if [ ! -f "$eth_artifacts/EAS.json" ] || [ ! -f "$eth_artifacts/SchemaRegistry.json" ]; then
  tmp_pack=$(mktemp -d)
  trap 'rm -rf "$tmp_pack"' EXIT
  (
    cd "$tmp_pack"
    # `npm pack` fetches only the tarball; the sha256 pin makes a changed upload fail loudly.
    npm pack --silent @ethereum-attestation-service/eas-contracts@1.9.0 >/dev/null
    echo "9b168dcbeea489418df67ed665b830c7919ae6c8d8c44bbd3694fdcf8bbd6f25  ethereum-attestation-service-eas-contracts-1.9.0.tgz" \
      | sha256sum -c --quiet
    tar xzf ethereum-attestation-service-eas-contracts-1.9.0.tgz \
      package/artifacts/contracts/EAS.sol/EAS.json package/artifacts/contracts/SchemaRegistry.sol/SchemaRegistry.json
  )
  mkdir -p "$eth_artifacts"
  cp "$tmp_pack/package/artifacts/contracts/EAS.sol/EAS.json" \
    "$tmp_pack/package/artifacts/contracts/SchemaRegistry.sol/SchemaRegistry.json" "$eth_artifacts/"
fi
