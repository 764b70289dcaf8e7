"""Entries verified per second for a warm 10,000-entry job under each commodity workflow (issue 15 benchmark).

The credential worlds are the commodity scenarios (examples/commodities/*.yaml, built by tests/workflows/_commodities:
credentials recorded on a real plain ledger, signed, verified by the full pipeline). Each job's entries cycle through
the scenario's entries with fresh entry numbers and dates, so reconciliations accumulate across the job; a fresh entry
number has no CBP 7501 summary on the ledger, so every entry is refused at ``entry_summary`` while every other step
still runs (steps never short-circuit) — the figure is the cost of the whole chain. Warm: a first
job fills the result cache; the measured job reuses it, as `vcgate jobs run --workflow NAME` does. A workflow other
than IPR judges its entries in one ordered pass (docs/workflows.md, "Jobs"): one process.

The IPR figure (parallel chunks, claim book) is benchmarks/jobs.py's. Run: ``python benchmarks/workflows.py
[--entries 10000] [--workflow NAME] [--json]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.jobs._world import CHECKED_AT  # noqa: E402
from tests.workflows._commodities import build  # noqa: E402
from vcgate.gateway._jobs import InlineExecutor, create_job, read_entry_file, run_job  # noqa: E402
from vcgate.gateway.workflows import builtin_workflow  # noqa: E402
from vcgate.gateway.workflows._decide import policy_with_workflow  # noqa: E402

FACTORY = "tests.jobs._world:plain_checkers"
COMMODITIES = ("steel", "natural-gas", "timber", "food-safety")


def _entries(scenario: dict[str, Any], n: int, tag: str) -> bytes:
    base = scenario["entries"]
    out = []
    for i in range(n):
        e = copy.deepcopy(base[i % len(base)])
        e["entryNumber"] = f"{tag}-{i:06d}"
        # Dates stay within the scenario's validity windows: the same day as the template row, or up to 3 days on.
        day = date.fromisoformat(str(e["entryDate"])[:10]) + timedelta(days=(i // len(base)) % 3)
        e["entryDate"] = day.isoformat()
        out.append(json.dumps(e))
    return ("\n".join(out) + "\n").encode()


def _job(cw: Any, name: str, data: bytes, job: str) -> tuple[float, dict[str, int]]:
    wf = builtin_workflow(name)
    policy = policy_with_workflow(cw.env.policy, wf)
    rows = read_entry_file("e.jsonl", data, wf)
    create_job(cw.store, rows, policy, job_id=job, checked_at=CHECKED_AT, source=job)
    start = time.perf_counter()
    summary = run_job(cw.store, job, executor=InlineExecutor(), checker_factory=FACTORY)
    elapsed = time.perf_counter() - start
    assert summary.done == summary.entries
    return elapsed, dict(summary.verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--workflow", choices=COMMODITIES, action="append")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores (shared); one ordered pass per job",
        "python": platform.python_version(),
    }
    for name in args.workflow or COMMODITIES:
        tmp = Path(tempfile.mkdtemp(prefix=f"vcgate-bench-{name}-"))
        cw = build(name, tmp)
        _job(cw, name, _entries(cw.scenario, 50, "PREWARM"), "prewarm")
        seconds, verdicts = _job(cw, name, _entries(cw.scenario, args.entries, "WARM"), "warm")
        results[name] = {
            "entries": args.entries,
            "seconds": round(seconds, 2),
            "entries_per_second": round(args.entries / seconds, 1),
            "verdicts": verdicts,
        }
        cw.store.close()
        if not args.json:
            print(f"{name}: {results[name]['entries_per_second']} entries/s ({args.entries} entries, {seconds:.1f} s)")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
