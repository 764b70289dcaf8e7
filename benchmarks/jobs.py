"""Entries verified per second for a 10,000-entry job on 2 cores, warm and cold, and the latency of one warm entry
(vcgate issue 7 benchmark).

The credential world is the jobs tests' (tests/jobs/_world.py): real did:key parties, a real plain ledger with
signed checkpoints and inclusion proofs, eddsa-rdfc-2022 credentials, Bitstring status lists. Each entry's chain is
a GS1 licence, an IPR credential, a licence and an invoice (plus the status list of the GS1 licence).

* cold: the result cache and the workers' memo are off — every credential of every entry goes through the full
  pipeline (proof, schema, strict terms, evidence, binding, replay, status, trust);
* warm: credential results are cached (the store's result cache, then each worker's memo);
* latency: one entry verified in-process with a warm environment, p50/p99 over ``--latency-samples`` entries.

Run: ``python benchmarks/jobs.py [--entries 10000] [--workers 2] [--json]``. The job's results are committed chunk
by chunk (SQLite, WAL, synchronous=FULL) exactly as ``vcgate jobs run`` does.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.jobs._world import CHECKED_AT, build_world, plain_checkers  # noqa: E402
from vcgate.gateway._jobs import (  # noqa: E402
    LocalProcessExecutor,
    VerificationEnvironment,
    create_job,
    read_entry_file,
    run_job,
)
from vcgate.gateway._links import parse_entry  # noqa: E402
from vcgate.gateway._store import Store  # noqa: E402

FACTORY = "tests.jobs._world:plain_checkers"


def _entries(base: dict[str, Any], n: int, tag: str) -> bytes:
    lines = []
    for i in range(n):
        e = copy.deepcopy(base)
        e["entryNumber"] = f"{tag}-{i:06d}"
        e["entryDate"] = f"2024-09-{1 + i % 28:02d}"
        e["invoiceNumber"] = "INV-BENCH"
        e["lines"][0]["quantity"] = 1 + i % 5
        lines.append(json.dumps(e))
    return ("\n".join(lines) + "\n").encode()


def _run(store: Store, data: bytes, job: str, workers: int, *, use_cache: bool) -> tuple[float, dict[str, int]]:
    policy = _policy
    create_job(store, read_entry_file("e.jsonl", data), policy, job_id=job, checked_at=CHECKED_AT, source=job)
    start = time.perf_counter()
    summary = run_job(
        store, job, executor=LocalProcessExecutor(workers), chunk_size=64, checker_factory=FACTORY, use_cache=use_cache
    )
    elapsed = time.perf_counter() - start
    assert summary.done == summary.entries
    return elapsed, dict(summary.verdicts)


_policy: Any = None


def main() -> None:
    global _policy  # set once from the world below
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--cold-entries", type=int, default=None, help="Entries in the cold run (default: --entries).")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-samples", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vcgate-bench-jobs-"))
    world, rows = build_world(tmp)
    # A large invoice so that quantities do not run out: every entry walks the whole chain.
    auth = next(c for c in world.credentials.values() if c["credentialSubject"].get("invoiceNumber") == "INV-AUTH")
    subject = copy.deepcopy(auth["credentialSubject"])
    subject["invoiceNumber"] = "INV-BENCH"
    subject["itemsShipped"][0]["itemCount"] = 10_000_000
    world.issue_on_ledger(
        "summit",
        "CommercialInvoiceCredential",
        subject,
        at=datetime(2024, 8, 15, tzinfo=UTC),
        valid_from="2024-08-15T00:00:00Z",
    )
    store = Store.open(f"sqlite:///{tmp / 'store.sqlite'}")
    world.fill(store)
    _policy = world.policy()
    base = rows["authorized"]

    cold_n = args.cold_entries or args.entries
    cold_s, cold_verdicts = _run(store, _entries(base, cold_n, "COLD"), "cold", args.workers, use_cache=False)
    # Warm: a first job fills the result cache; the measured job uses fresh workers over the warm cache.
    _run(store, _entries(base, 200, "PREWARM"), "prewarm", args.workers, use_cache=True)
    warm_s, warm_verdicts = _run(store, _entries(base, args.entries, "WARM"), "warm", args.workers, use_cache=True)

    env = VerificationEnvironment(store, _policy, checked_at=CHECKED_AT, checkers=plain_checkers())
    samples = []
    for i in range(args.latency_samples):
        entry = parse_entry(json.loads(_entries(base, 1, f"LAT{i}").decode()))
        t = time.perf_counter()
        env.verify([entry])
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    results = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores (shared), {args.workers} workers",
        "python": platform.python_version(),
        "cold": {
            "entries": cold_n,
            "seconds": round(cold_s, 2),
            "entries_per_second": round(cold_n / cold_s, 1),
            "verdicts": cold_verdicts,
        },
        "warm": {
            "entries": args.entries,
            "seconds": round(warm_s, 2),
            "entries_per_second": round(args.entries / warm_s, 1),
            "verdicts": warm_verdicts,
        },
        "warm_entry_latency_ms": {
            "p50": round(statistics.median(samples), 3),
            "p99": round(samples[int(len(samples) * 0.99) - 1], 3),
            "samples": len(samples),
        },
    }
    store.close()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"cold: {results['cold']['entries_per_second']} entries/s ({cold_n} entries, {cold_s:.1f} s)")
        print(f"warm: {results['warm']['entries_per_second']} entries/s ({args.entries} entries, {warm_s:.1f} s)")
        lat = results["warm_entry_latency_ms"]
        print(f"one warm entry: p50 {lat['p50']} ms, p99 {lat['p99']} ms")


if __name__ == "__main__":
    main()
