#!/usr/bin/env bash
# usage: scripts/venv.sh PYTHON VENV — create the project's virtual environment VENV with interpreter PYTHON.
# Works on an externally managed interpreter (PEP 668: Debian's /usr/bin/python3 refuses `pip install` outside a
# venv). Debian ships the venv module's pip bootstrap (ensurepip) separately, in python3-venv / python3.X-venv:
# when it is missing and we are root (CI), install it; otherwise say which package to install.
set -euo pipefail
python=$1
venv=$2
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  exit 0
fi
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  pkg="python3-venv python$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkg
  else
    echo "$python has no venv/ensurepip module: install it (Debian/Ubuntu: sudo apt-get install $pkg)" >&2
    exit 1
  fi
fi
rm -rf "$venv"
"$python" -m venv "$venv"
# The venv's pip is whatever the interpreter bundles; the lock file is resolved with a current pip.
"$venv/bin/python" -m pip install --quiet --upgrade "pip>=24,<27"
