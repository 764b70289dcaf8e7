#!/usr/bin/env bash
# Prints the interpreter `make` builds the project's .venv with: the first of python3, python3.13, python3.12,
# python3.11 on PATH that runs and is >= 3.11 (Debian 12's /usr/bin/python3 is 3.11). Exits 1 with a hint if none is.
set -euo pipefail
for candidate in python3 python3.13 python3.12 python3.11; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  # pyenv shims exist for versions that are not selected; running the interpreter is the only reliable test.
  if "$path" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
echo "no Python >= 3.11 found on PATH (install python3, e.g. apt-get install python3 python3-venv)" >&2
exit 1
