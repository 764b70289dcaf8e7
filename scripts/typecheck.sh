#!/usr/bin/env bash
# mypy (strict) over the installed layout. The top-level folders map to vcgate.* only through the build backend's
# package-dir mapping, which mypy cannot follow in an editable install, so we lay the same mapping out with symlinks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/vcgate"
for pkg in canonical_schema adapters gateway conformance_tests; do ln -s "$root/$pkg" "$tmp/vcgate/$pkg"; done
cd "$tmp"
# MYPY / PYTHON: the venv's mypy and interpreter (the Makefile passes .venv's); default: those on PATH.
"${MYPY:-mypy}" --python-executable "${PYTHON:-$(command -v python3)}" --config-file "$root/pyproject.toml" \
  --cache-dir "$root/.mypy_cache" \
  -p vcgate.canonical_schema -p vcgate.adapters -p vcgate.gateway -p vcgate.conformance_tests
