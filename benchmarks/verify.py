"""Verifications per second on one core for eddsa-rdfc-2022 and eddsa-jcs-2022, on ONE credential verified again and
again (vcgate issue 2 benchmark).

What it measures: the warm steady state of ``Verifier.check`` on a single Traceability CommercialInvoiceCredential
(benchmarks/data/commercial-invoice.unsigned.json) - strict JSON parse, data model and schema, strict terms, proof
(did:key), issuer binding, validity. Every cache is hit every time (processed contexts, compiled schemas, the RDFC
fast path's compiled shape, did:key lookups), so it hides cold paths and shape compilation and flatters anything
keyed by content. For figures on distinct credentials, cold and warm, beside digitalbazaar, use
benchmarks/verify_corpus.py. Run: ``python benchmarks/verify.py [--seconds 5] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier, sign

DATA = Path(__file__).resolve().parent / "data" / "commercial-invoice.unsigned.json"


def _rate(fn: Any, seconds: float) -> tuple[float, int]:
    fn()  # warm caches (processed contexts, compiled schemas)
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += 1
    return n / elapsed, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    key = KeyPair.generate("ed25519")
    unsigned = json.loads(DATA.read_text())
    unsigned["issuer"]["id"] = key.controller
    # The file's LedgerEvidence is made up and reaches no anchor: a credential carrying it is never verified (issue
    # 11). Measured here: every stage of a credential without evidence (the ledger stages are then not applicable).
    unsigned.pop("evidence", None)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    verifier = Verifier(Policy.default(), DidResolver.offline())
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, one used",
        "python": platform.python_version(),
    }
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022"):
        signed = sign(unsigned, key, suite=suite, created=datetime(2025, 1, 1, tzinfo=UTC))
        raw = json.dumps(signed).encode()
        assert verifier.check(raw, at=at).verified, verifier.check(raw, at=at).to_json()
        rate, n = _rate(lambda raw=raw: verifier.check(raw, at=at), args.seconds)
        results[suite] = {"verifications_per_second": round(rate, 1), "iterations": n}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            print(f"{k:18} {v}")


if __name__ == "__main__":
    main()
