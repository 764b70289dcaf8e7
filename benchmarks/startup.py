"""Start-up cost of the ``vcgate`` command line (issue 13): wall time per call and what each command imports.

Each command runs in a fresh interpreter, the way a user runs it (the console script's ``main()``), many times over
distinct inputs where the command takes one (``verify`` gets a different credential file per run, from
``examples/credentials`` and the conformance vectors). Reported: wall-time median / p90 / min per command, the
machine's load average, and ``python -X importtime``'s ten most expensive imports for ``--help`` and ``verify``.
Target: ``vcgate --help`` ≤ 0.3 s wall on a quiet 2-core machine.

Run: ``python benchmarks/startup.py [--runs 15] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY = "import sys; sys.argv[0] = 'vcgate'; from vcgate.gateway.cli import main; main()"


def credentials() -> list[Path]:
    """Distinct credential files to verify (examples and the conformance suite's vectors)."""
    found = sorted((ROOT / "examples" / "credentials").glob("*.json"))
    found += sorted((ROOT / "conformance_tests" / "vectors").rglob("*.json"))
    return [p for p in found if p.stat().st_size < 200_000]


def timed(args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU (user + system) is the steadier figure on a loaded machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def importtime(args: list[str], top: int = 10) -> list[tuple[str, float]]:
    """The ``top`` most expensive imports (cumulative microseconds → seconds) of one run."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", ENTRY, *args], capture_output=True, text=True, check=False
    )
    rows: list[tuple[str, float]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name[1:].startswith(" "):  # only top-level imports (their cumulative cost includes their children)
            rows.append((name.strip(), int(cumulative.strip()) / 1e6))
    rows.sort(key=lambda r: r[1], reverse=True)
    return rows[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    files = credentials()
    commands: dict[str, list[list[str]]] = {
        "vcgate --help": [["--help"]] * opts.runs,
        "vcgate verify --offline FILE": [["verify", "--offline", str(files[i % len(files)])] for i in range(opts.runs)],
        "vcgate adapters list": [["adapters", "list"]] * opts.runs,
    }
    results: dict[str, dict[str, float]] = {}
    for name, runs in commands.items():
        timed(runs[0])  # warm the file cache once
        measured = [timed(args) for args in runs]
        walls = sorted(w for w, _ in measured)
        results[name] = {
            "median_s": statistics.median(walls),
            "p90_s": walls[int(0.9 * (len(walls) - 1))],
            "min_s": walls[0],
            "cpu_median_s": statistics.median(c for _, c in measured),
            "runs": len(walls),
        }
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "distinct_verify_inputs": min(len(files), opts.runs),
        "results": results,
        "imports_help": importtime(["--help"]),
        "imports_verify": importtime(["verify", "--offline", str(files[0])]),
    }
    if opts.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['machine']}; load average {', '.join(f'{x:.2f}' for x in report['load_average'])}")
    for name, r in results.items():
        print(
            f"{name:30} wall median {r['median_s']:.3f} s  p90 {r['p90_s']:.3f} s  min {r['min_s']:.3f} s;"
            f"  CPU median {r['cpu_median_s']:.3f} s  ({r['runs']} runs)"
        )
    for title in ("imports_help", "imports_verify"):
        print(f"\n{title.replace('_', ' ')} (cumulative, top-level):")
        for module, seconds in report[title]:
            print(f"  {seconds:7.3f} s  {module}")


if __name__ == "__main__":
    main()
