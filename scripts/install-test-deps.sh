#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages: the npm packages (digitalbazaar's reference libraries,
# anvil, contract artifacts) pinned in tests/node/package-lock.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$root/tests/node/package.json" ]; then
  (cd "$root/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Ethereum contract artifacts (ABI + creation bytecode) from the official npm packages, MIT licensed: EAS +
# SchemaRegistry and the ERC-1056 EthereumDIDRegistry. `npm pack` fetches only the tarball (a plain `npm install` of
# eas-contracts pulls ~220 MB); the sha256 pins make a changed upload fail loudly. tests/ethereum loads them from here.
eth_artifacts="$root/tests/node/artifacts"
if [ ! -f "$eth_artifacts/EAS.json" ] || [ ! -f "$eth_artifacts/SchemaRegistry.json" ] \
  || [ ! -f "$eth_artifacts/EthereumDIDRegistry.json" ]; then
  tmp_pack=$(mktemp -d)
  (
    cd "$tmp_pack"
    npm pack --silent @ethereum-attestation-service/eas-contracts@1.9.0 ethr-did-registry@1.3.0 >/dev/null
    echo "9b168dcbeea489418df67ed665b830c7919ae6c8d8c44bbd3694fdcf8bbd6f25  ethereum-attestation-service-eas-contracts-1.9.0.tgz
7b3385a371218e5d7fad8b4182309894c6684e1904da44f8ff863e9be6d90ea5  ethr-did-registry-1.3.0.tgz" | sha256sum -c --quiet
    tar xzf ethereum-attestation-service-eas-contracts-1.9.0.tgz \
      package/artifacts/contracts/EAS.sol/EAS.json package/artifacts/contracts/SchemaRegistry.sol/SchemaRegistry.json
    tar xzf ethr-did-registry-1.3.0.tgz package/artifacts/contracts/EthereumDIDRegistry.sol/EthereumDIDRegistry.json
  )
  mkdir -p "$eth_artifacts"
  cp "$tmp_pack/package/artifacts/contracts/EAS.sol/EAS.json" \
    "$tmp_pack/package/artifacts/contracts/SchemaRegistry.sol/SchemaRegistry.json" \
    "$tmp_pack/package/artifacts/contracts/EthereumDIDRegistry.sol/EthereumDIDRegistry.json" "$eth_artifacts/"
  rm -rf "$tmp_pack"
fi

# PostgreSQL from Debian's packages for tests/plain_ledger (the session fixture runs initdb + pg_ctl itself as the
# 'postgres' user on a free port on 127.0.0.1; no cluster is started here). Skipped when a server binary exists.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
  else
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
  fi
fi

# Headless Chromium and its driver from Debian's packages for the browser tests (tests/ui, Playwright for Python
# launches /usr/bin/chromium; `playwright install` is never run). Skipped when chromium is already installed.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
  else
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
  fi
fi
