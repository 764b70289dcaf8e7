"""Verification jobs on a Dask cluster vs the in-process executor, over one warm PostgreSQL store (issue 16).

The credential world is the jobs tests' (tests/jobs/_world.py): did:key parties, a plain ledger with signed
checkpoints and inclusion proofs, eddsa-rdfc-2022 credentials; every entry walks the whole IPR chain against one
large invoice. The store's result cache is warmed by a first job, then for 1 and 2 workers each executor verifies
its own job of ``--entries`` distinct entries (the same entries for every run, so the work is equal):

* ``local``: :class:`LocalProcessExecutor` (the default of ``vcgate jobs run``), results written by the driver;
* ``dask``: a real ``dask scheduler`` and N ``dask worker`` processes (1 thread each, no nanny) on 127.0.0.1, started
  by this script; workers write results themselves;
* ``inline`` (once): :class:`InlineExecutor`, everything in this one process: the in-process baseline.

Printed per run: entries/s, CPU ms per entry (driver + scheduler + workers, from /proc), the ratio dask/local pool,
dask per worker / in-process (target ≥ 0.9 per worker) and the CPU ratio to in-process. Also the scheduler overhead
per task (wall time of a batch of no-op tasks / tasks), the engine's cost per task in the real run (worker time
outside tasks / tasks), the chunk size and the load average at start and end. PostgreSQL is started here (initdb in
a temporary folder, as the tests do; run as root it uses ``runuser``).

Run: ``python benchmarks/jobs_cluster.py [--entries 100000] [--chunk-size 256] [--json]``.

Measured 2026-12-08 (2-core x86_64 VM, 24 GiB, shared: load 6.0 at start, 6.2 at end; 100,000 entries, chunk 256):
in-process 695 entries/s, 0.485 ms CPU/entry; 1 worker: local pool 1,170/s (0.537 ms), Dask 1,103/s (0.506 ms),
ratio 0.94, CPU ratio to in-process 0.96; 2 workers: local pool 778/s (0.610 ms), Dask 959/s (0.556 ms), ratio
1.23, CPU ratio 0.87; no-op task 2-3 ms, engine 34 ms (1 worker) / 131 ms (2 workers) per task. Wall rates are
unreliable at that load; see docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import copy
import glob
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.jobs._world import CHECKED_AT, build_world  # noqa: E402
from vcgate.gateway._cluster import DaskExecutor  # noqa: E402
from vcgate.gateway._cluster_store import ClusterStore  # noqa: E402
from vcgate.gateway._jobs import (  # noqa: E402
    Executor,
    InlineExecutor,
    LocalProcessExecutor,
    create_job,
    read_entry_file,
    run_job,
)
from vcgate.gateway._store import Store  # noqa: E402

FACTORY = "tests.jobs._world:plain_checkers"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _start_postgres(root: Path) -> tuple[str, Path, Path]:
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]), check=True
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    subprocess.run(
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]),
        check=True,
    )
    return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres", bindir, data


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of processes (and their reaped children) from /proc, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])
    return total / tick


def _entries(base: dict[str, Any], n: int) -> bytes:
    lines = []
    for i in range(n):
        e = copy.deepcopy(base)
        e["entryNumber"] = f"BENCH-{i:07d}"
        e["entryDate"] = f"2024-09-{1 + i % 28:02d}"
        e["invoiceNumber"] = "INV-BENCH"
        e["lines"][0]["quantity"] = 1
        lines.append(json.dumps(e))
    return ("\n".join(lines) + "\n").encode()


class DaskProcesses:
    """A scheduler and ``n`` workers as processes on 127.0.0.1."""

    def __init__(self, n: int, tmp: Path) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        log = (tmp / "dask.log").open("ab")
        dask = [sys.executable, "-m", "dask"]
        self.procs = [
            subprocess.Popen(
                [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard", "--no-show"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        ]
        time.sleep(2)
        for i in range(n):
            self.procs.append(
                subprocess.Popen(
                    [
                        *dask,
                        "worker",
                        self.address,
                        *("--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}"),
                        *("--host", "127.0.0.1", "--worker-port", str(_free_port())),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(n, timeout=120)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def _task_overhead(address: str, tasks: int = 2000) -> float:
    """Scheduler round trip per task: wall time of ``tasks`` trivial tasks divided by their number, in ms."""
    from distributed import Client, wait

    with Client(address, timeout=60) as client:
        start = time.perf_counter()
        futures = client.map(abs, range(tasks), pure=False)
        wait(futures)
        return (time.perf_counter() - start) / tasks * 1000


def _run(store: Store, data: bytes, job: str, executor: Executor, chunk: int, pids: list[int]) -> dict[str, Any]:
    create_job(store, read_entry_file("e.jsonl", data), _policy, job_id=job, checked_at=CHECKED_AT, source=job)
    cpu0 = _cpu_seconds([os.getpid(), *pids])
    start = time.perf_counter()
    summary = run_job(store, job, executor=executor, chunk_size=chunk, checker_factory=FACTORY)
    wall = time.perf_counter() - start
    cpu = _cpu_seconds([os.getpid(), *pids]) - cpu0
    assert summary.done == summary.entries, summary
    out = {
        "seconds": round(wall, 2),
        "entries_per_second": round(summary.entries / wall, 1),
        "cpu_ms_per_entry": round(cpu / summary.entries * 1000, 3),
        "verdicts": dict(summary.verdicts),
    }
    workers = ClusterStore(store.db).throughput(job)
    if workers:
        # The engine's cost per task in the real run: worker time not spent inside a task (scheduling, transfer,
        # idle at the tail), spread over the tasks.
        tasks = sum(w["tasks"] for w in workers)
        busy = sum(w["seconds"] for w in workers)
        out["tasks"] = tasks
        out["engine_ms_per_task"] = round((wall * len(workers) - busy) / tasks * 1000, 3)
        out["task_cpu_ms_per_entry"] = round(sum(w["cpuSeconds"] for w in workers) / summary.entries * 1000, 3)
    return out


_policy: Any = None


def main() -> None:
    global _policy
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--workers", default="1,2", help="Comma-separated worker counts.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vcgate-bench-cluster-"))
    pg_root = Path(tempfile.mkdtemp(prefix="vcgate-bench-pg-"))
    url, bindir, data_dir = _start_postgres(pg_root)
    try:
        world, rows = build_world(tmp)
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
        store = Store.open(url)
        world.fill(store)
        _policy = world.policy()
        data = _entries(rows["authorized"], args.entries)
        _run(store, _entries(rows["authorized"], 500), "prewarm", LocalProcessExecutor(2), args.chunk_size, [])
        from sqlalchemy import text

        results: dict[str, Any] = {
            "machine": f"{platform.machine()} {os.cpu_count()} cores",
            "load_at_start": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "entries": args.entries,
            "chunk_size": args.chunk_size,
            "runs": {},
        }
        with store.db.transaction() as conn:
            conn.execute(text("DELETE FROM entry_results"))
        # The in-process executor (one process, no pool, no engine): the baseline per worker.
        inline = _run(store, data, "inline", InlineExecutor(), args.chunk_size, [])
        results["inline"] = inline
        for n in (int(x) for x in args.workers.split(",")):
            # Each run verifies the same entries under its own job id against the same warm credential cache; the
            # entry results of the previous run are removed so that every run does the whole job.
            store.db.engine.dispose()
            with store.db.transaction() as conn:
                conn.execute(text("DELETE FROM entry_results"))
            local = _run(store, data, f"local-{n}", LocalProcessExecutor(n), args.chunk_size, [])
            with store.db.transaction() as conn:
                conn.execute(text("DELETE FROM entry_results"))
            cluster = DaskProcesses(n, tmp)
            try:
                dask = _run(store, data, f"dask-{n}", DaskExecutor(cluster.address), args.chunk_size, cluster.pids())
                overhead = _task_overhead(cluster.address)
            finally:
                cluster.stop()
            assert dask["verdicts"] == local["verdicts"]
            results["runs"][str(n)] = {
                "local": local,
                "dask": dask,
                "ratio": round(dask["entries_per_second"] / local["entries_per_second"], 3),
                "ratio_per_worker_to_inline": round(dask["entries_per_second"] / (n * inline["entries_per_second"]), 3),
                "cpu_ratio_to_inline": round(inline["cpu_ms_per_entry"] / dask["cpu_ms_per_entry"], 3),
                "scheduler_overhead_ms_per_task": round(overhead, 3),
            }
        store.close()
        results["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"]), check=False)
        shutil.rmtree(pg_root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{results['machine']}; load {results['load_at_start']} -> {results['load_at_end']}; {args.entries} entries; "
        f"chunk {args.chunk_size}"
    )
    i = results["inline"]
    print(f"in-process: {i['entries_per_second']}/s ({i['cpu_ms_per_entry']} ms CPU/entry)")
    for n, r in results["runs"].items():
        print(
            f"{n} worker(s): local {r['local']['entries_per_second']}/s ({r['local']['cpu_ms_per_entry']} ms CPU/entry)"
            f", dask {r['dask']['entries_per_second']}/s ({r['dask']['cpu_ms_per_entry']} ms CPU/entry), "
            f"ratio {r['ratio']} (per worker to in-process {r['ratio_per_worker_to_inline']}, CPU "
            f"{r['cpu_ratio_to_inline']}), scheduler {r['scheduler_overhead_ms_per_task']} ms/no-op task, engine "
            f"{r['dask']['engine_ms_per_task']} ms/task"
        )


if __name__ == "__main__":
    main()
