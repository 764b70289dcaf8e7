#!/usr/bin/env bash
# Run the six W3C / W3C-CCG VC test suites against this checkout's vcgate (`make interop-w3c`).
# Usage: run_all.sh [OUT_DIR]
#   env: W3C_SUITES_DIR  where the suites are checked out and npm-installed (default .cache/w3c-suites);
#        MIRROR_DIR      if the suites are not there yet: a directory of fetched snapshots (<owner>+<repo>/repo)
#                        that setup_suites.sh clones them from (npm install needs the npm registry, once);
#        VCGATE_POLICY   a policy name or file for `vcgate serve --policy` (default: w3c-interop; "default" for
#                        vcgate's default policy, under which only the documented divergences fail);
#        BACKEND_PORT / PROXY_PORT (default 8000 / 8443).
# Without the suites (and no MIRROR_DIR) it prints how to get them and exits 0: nothing is fetched from the
# network at run time.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=${W3C_SUITES_DIR:-$ROOT/.cache/w3c-suites}
OUT=${1:-$W/out}
SUITES="vc-data-model-2.0-test-suite:vc-data-model-2.0 vc-di-eddsa-test-suite:vc-di-eddsa
vc-di-ecdsa-test-suite:vc-di-ecdsa vc-bitstring-status-list-test-suite:vc-bitstring-status-list
vc-api-issuer-test-suite:vc-api-issuer vc-api-verifier-test-suite:vc-api-verifier"
missing=0
for pair in $SUITES; do [ -d "$W/${pair%%:*}/node_modules" ] || missing=1; done
if [ "$missing" = 1 ]; then
  if [ -n "${MIRROR_DIR:-}" ]; then
    mkdir -p "$W" && bash "$HERE/setup_suites.sh" "$W" || exit 1
  else
    echo "interop-w3c: skipped - the W3C suites are not checked out in $W."
    echo "  Fetch the repositories in $HERE/suite-commits.txt as bare snapshots into a directory D"
    echo "  (D/<owner>+<repo>/repo) and run: MIRROR_DIR=D make interop-w3c (or set W3C_SUITES_DIR)."
    exit 0
  fi
fi
export VCGATE=${VCGATE:-$(command -v vcgate)} PYTHON=${PYTHON:-$(command -v python3)}
export VCGATE_POLICY=${VCGATE_POLICY:-w3c-interop}
mkdir -p "$OUT"
for pair in $SUITES; do
  echo "== ${pair##*:} (policy $VCGATE_POLICY)"
  bash "$HERE/run_suite.sh" "$W/${pair%%:*}" "${pair##*:}" "$OUT"
done
"$PYTHON" "$HERE/summarize.py" "$OUT" --json "$OUT/summary.json" --text "$OUT/summary.txt"
