"""One adapter's `vcgate sync` in one process vs spread over a Dask cluster (issue 16, item 3), into PostgreSQL.

A plain ledger served on 127.0.0.1 holds ``--records`` GS1 key-licence records (distinct record ids, pages of 100).
Each run registers the adapter in a fresh PostgreSQL database and runs, as an operator does,
``vcgate sync --witness-key K --json`` (witness mode, eddsa-rdfc-2022, the default verification pass on):

* ``in-process``: no cluster; one process translates, signs, stores and checks;
* ``dask-N``: a real ``dask scheduler`` and N ``dask worker`` processes (1 thread each, no nanny, the sync modules
  preloaded) on 127.0.0.1; the adapter's task holds the lease and commits every page, its records' translation and
  signing and the checks of the stored credentials run as chunk tasks on all N workers.

Printed per run: records/s, CPU ms per record (the CLI process + scheduler + workers, from the OS) and what each
worker did; the stored credentials of every run are compared (same ids, digests and bytes). The ledger server's and
PostgreSQL's CPU are not counted. Run from the repository root:

    python benchmarks/sync_cluster.py [--records 5000] [--workers 1,2] [--json]

On demand only. Measured 2026-12-08 (2-core x86_64 VM, shared: load 5.9 at start, 8.2 at end; 5,000 records):
in-process 78 records/s, 3.07 ms CPU/record; Dask 1 worker 97/s, 3.97 ms; Dask 2 workers 100/s, 4.30 ms, the
records split 2,625 / 2,375 between the workers; stores equal. See docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from plain_ledger_adapter.conftest import sample, serve_ledger  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks.jobs_cluster import DaskProcesses, _as_postgres, _cpu_seconds, _start_postgres  # noqa: E402
from vcgate.adapters.plain_ledger import SubmitterKey  # noqa: E402
from vcgate.gateway import KeyPair  # noqa: E402

VCGATE = Path(sys.executable).with_name("vcgate")
CLI = [str(VCGATE)] if VCGATE.is_file() else [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]
MAPPING = ROOT / "adapters/plain_ledger/mappings/gs1-identification-key-license.witness.yaml"
KEYS = ("00614141000012", "00614141000029", "00614141000036", "00614141000043")


def _cli(*args: str) -> tuple[Any, float, float]:
    """Run `vcgate ARGS`; its JSON output, wall seconds and the child's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "VCGATE_DATABASE_URL"}
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"vcgate {' '.join(args[:2])} exited {done.returncode}: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (json.loads(done.stdout) if "--json" in args else None), wall, cpu


def _database(server_url: str, name: str) -> str:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _stored(url: str) -> dict[str, tuple[str, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("select id, digest, document from credentials")).all()
    engine.dispose()
    return {r[0]: (r[1], r[2]) for r in rows}


def _warm(address: str) -> None:
    """Import the sync modules on every worker first (as ``--preload vcgate.gateway._cluster`` does in production)."""
    from distributed import Client

    with Client(address, timeout=60) as client:
        for module in ("vcgate.gateway._cluster", "vcgate.adapters.plain_ledger", "vcgate.gateway._jobs"):
            client.run(importlib.import_module, module)


def _one(
    server_url: str, name: str, config: Path, key: Path, did: str, address: str | None, pids: list[int]
) -> tuple[str, dict[str, Any]]:
    """Register the adapter in a fresh database ``name`` and time one sync pass; the database URL and the figures."""
    url = _database(server_url, name.replace("-", "_"))
    _cli("adapters", "add", "plain-ledger", "--config", str(config), "--db", url, "--witness", did)
    cpu0 = _cpu_seconds(pids)
    extra = ["--cluster", address] if address else []
    out, wall, cpu = _cli("sync", "--db", url, "--witness-key", str(key), *extra, "--json")
    cpu += _cpu_seconds(pids) - cpu0
    counts = out["adapters"]["gs1-registry"]
    stored = int(counts["stored"])
    return url, {
        "seconds": round(wall, 2),
        "records_per_second": round(stored / wall, 1),
        "cpu_ms_per_record": round(cpu / stored * 1000, 3),
        "stored": stored,
        "workers": counts.get("workers", {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--workers", default="1,2", help="Comma-separated worker counts.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vcgate-bench-sync-cluster-"))
    pg_root = Path(tempfile.mkdtemp(prefix="vcgate-bench-pg-"))
    server_url, bindir, data_dir = _start_postgres(pg_root)
    ledger = serve_ledger(tmp / "ledger")
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
        "records": args.records,
        "runs": {},
    }
    try:
        gs1, witness = SubmitterKey.generate("Ed25519"), KeyPair.generate()
        key = tmp / "witness.json"
        witness.to_file(key)
        entries = [
            gs1.sign_entry({"kind": "record", "recordId": f"b-{i:07d}", "record": sample("key", key=KEYS[i % 4])})
            for i in range(args.records)
        ]
        for i in range(0, len(entries), 500):
            ledger.client.append_batch(entries[i : i + 500])
        mapping = yaml.safe_load(MAPPING.read_text())
        mapping["credential"]["credentialSubject"]["fields"]["identificationKeyType"] = {
            "path": "keyType",
            "default": "GTIN",
        }
        (tmp / "key-licence.yaml").write_text(yaml.safe_dump(mapping))
        config = tmp / "gs1-ledger.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "id": "gs1-registry",
                    "url": ledger.url,
                    "logVerifierKey": ledger.key.verifier.to_vkey(),
                    "mode": "witness",
                    "pageSize": 100,
                    "mappings": {"gs1-identification-key-license": "key-licence.yaml"},
                }
            )
        )
        reference, results["runs"]["in-process"] = _one(
            server_url, "in-process", config, key, witness.controller, None, []
        )
        expected = _stored(reference)
        for n in (int(x) for x in args.workers.split(",")):
            cluster = DaskProcesses(n, tmp)
            try:
                _warm(cluster.address)
                url, run = _one(
                    server_url, f"dask-{n}", config, key, witness.controller, cluster.address, cluster.pids()
                )
            finally:
                cluster.stop()
            assert _stored(url) == expected, f"dask-{n} stored other credentials than the in-process sync"
            run["ratio_to_in_process"] = round(
                run["records_per_second"] / results["runs"]["in-process"]["records_per_second"], 3
            )
            results["runs"][f"dask-{n}"] = run
        results["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        ledger.client.close()
        ledger.server.stop()
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"]), check=False)
        shutil.rmtree(pg_root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{results['machine']}; load {results['load_at_start']} -> {results['load_at_end']}; {args.records} records")
    for name, r in results["runs"].items():
        workers = ", ".join(f"{w}: {v['records']} records, {v['checked']} checked" for w, v in r["workers"].items())
        print(
            f"{name}: {r['records_per_second']}/s, {r['cpu_ms_per_record']} ms CPU/record"
            + (f", ratio {r['ratio_to_in_process']} ({workers})" if "ratio_to_in_process" in r else "")
        )


if __name__ == "__main__":
    main()
