#!/usr/bin/env bash
# Regenerates constraints.txt, the pinned versions `make` and CI install from (`pip install -c constraints.txt`).
# Run it after changing a dependency in pyproject.toml (and before landing): it resolves every extra afresh in a
# throw-away virtual environment with the interpreter `make` uses, then records `pip freeze`.
#   usage: scripts/lock.sh [PYTHON]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-$(bash "$root/scripts/find-python.sh")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$root/scripts/venv.sh" "$python" "$tmp/venv"
# Every extra of pyproject.toml, so that a newly added one is pinned too.
extras=$("$tmp/venv/bin/python" -c 'import sys, tomllib; print(",".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]))' "$root/pyproject.toml")
"$tmp/venv/bin/python" -m pip install --quiet "$root[$extras]"
{
  echo "# Pinned versions of every dependency (all extras), resolved by scripts/lock.sh with"
  echo "# $("$tmp/venv/bin/python" --version) on $(uname -sm). Do not edit by hand: change pyproject.toml and re-run it."
  "$tmp/venv/bin/python" -m pip freeze --all --exclude-editable | grep -v -i -E '^(vcgate|pip|setuptools)( @|==)' \
    | LC_ALL=C sort -f
} >"$root/constraints.txt.new"
mv "$root/constraints.txt.new" "$root/constraints.txt"
echo "wrote $root/constraints.txt ($(grep -c '==' "$root/constraints.txt") pins)"
