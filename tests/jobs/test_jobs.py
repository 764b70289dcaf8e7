"""Jobs: parallel, resumable after SIGKILL with results identical to an uninterrupted run, idempotent re-runs,
malformed rows reported per row, quantities reconciled across entries whatever the execution order."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.gateway._jobs import (
    InlineExecutor,
    LocalProcessExecutor,
    create_job,
    default_job_id,
    job_results,
    job_status,
    read_entry_file,
    run_job,
)
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, ROOT, World, gtin

FACTORY = "tests.jobs._world:plain_checkers"
N = 500


def _entries_file(tmp: Path, rows: dict[str, dict[str, Any]]) -> Path:
    base = rows["authorized"]
    lines = []
    for i in range(N):
        e = json.loads(json.dumps(base))
        e["entryNumber"] = f"BIG-{i:05d}"
        e["entryDate"] = f"2024-09-{1 + i % 28:02d}"
        e["lines"][0]["quantity"] = 3  # 500 x 3 > the 1,200 units invoiced: later entries exceed the invoice
        lines.append(json.dumps(e))
        if i in (7, 250):
            lines.append('{"entryNumber": "BAD-1", "lines": []}')
        if i == 300:
            lines.append("{not json")
    path = tmp / "entries.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _policy_file(tmp: Path, world: World) -> Path:
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(dict(world.policy().raw)))
    return path


def _without_timings(value: Any) -> Any:
    """``value`` without the measured ``durationUs`` members (stored per step; two runs never measure the same)."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k != "durationUs"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _results(db: Path) -> dict[str, Any]:
    """Stored results by entry key, without measured step timings (docs/workflows.md: never part of the verdict)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT entry_key, result FROM entry_results").fetchall()
    return {key: _without_timings(json.loads(result)) for key, result in rows}


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM entry_results").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _cli(db: Path, entries: Path, policy: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from vcgate.gateway.cli import main; main()",
        "jobs",
        "run",
        str(entries),
        "--policy",
        str(policy),
        "--db",
        f"sqlite:///{db}",
        "--checked-at",
        "2025-06-01T00:00:00Z",
        "--checkers",
        FACTORY,
        "--no-progress",
        *extra,
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.slow
def test_killed_job_resumes_to_the_same_results_as_an_uninterrupted_run(
    world: World, rows: dict[str, dict[str, Any]], store_path: Path, tmp_path: Path
) -> None:
    entries = _entries_file(tmp_path, rows)
    policy_file = _policy_file(tmp_path, world)
    db_a = tmp_path / "a.sqlite"
    db_b = tmp_path / "b.sqlite"
    db_a.write_bytes(store_path.read_bytes())
    db_b.write_bytes(store_path.read_bytes())

    # A: uninterrupted, in this process with a 2-worker pool.
    store_a = Store.open(f"sqlite:///{db_a}")
    policy = world.policy()
    data = entries.read_bytes()
    job = default_job_id(data, policy, CHECKED_AT)
    assert create_job(
        store_a, read_entry_file("entries.jsonl", data), policy, job_id=job, checked_at=CHECKED_AT, source="t"
    )
    summary_a = run_job(store_a, job, executor=LocalProcessExecutor(2), chunk_size=16, checker_factory=FACTORY)
    assert summary_a.done == summary_a.entries == N
    assert summary_a.malformed == 3

    # B: the CLI in a subprocess, killed with SIGKILL (with its workers) part-way, then resumed.
    proc = subprocess.Popen(
        [*_cli(db_b, entries, policy_file), "--chunk-size", "1", "--workers", "2"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline:
        n = _count(db_b)
        if n >= 40:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = n
            break
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.wait(timeout=30)
    assert killed_at is not None, "the job finished before it could be killed"
    partial = _count(db_b)
    assert 40 <= partial < N, partial
    assert proc.returncode == -signal.SIGKILL

    resumed = subprocess.run(
        [*_cli(db_b, entries, policy_file), "--json"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["done"] == N
    assert out["verifiedNow"] == N - partial  # nothing verified twice, nothing lost

    results_a, results_b = _results(db_a), _results(db_b)
    assert len(results_a) == len(results_b) == N
    assert results_a == results_b
    verdicts = [r["verdict"] for r in results_a.values()]
    # 1,200 invoiced units / 3 per entry: exactly 400 entries fit, in (entry date, entry number) order.
    assert verdicts.count("authorized") == 400
    assert verdicts.count("not_authorized") == 100

    # Re-running the finished job changes nothing.
    again = subprocess.run(
        [*_cli(db_b, entries, policy_file), "--json"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["verifiedNow"] == 0
    assert _results(db_b) == results_b


def test_malformed_rows_are_reported_per_row_and_the_job_goes_on(
    world: World, rows: dict[str, dict[str, Any]], store: Store, tmp_path: Path
) -> None:
    g = rows["authorized"]["lines"][0]["gtin"]
    text = (
        "entry_number,importer_of_record,entry_date,invoice_number,line,gtin,manufacturer_id,quantity,value\n"
        f"E-1,95-481237600,2024-09-02,INV-AUTH,1,{g},CNDONSUM88DON,10,100.00\n"
        f"E-2,95-481237600,2024-09-02,INV-AUTH,1,{g[:-1]}0,CNDONSUM88DON,10,100.00\n"
        f"E-3,95-481237600,not-a-date,INV-AUTH,1,{g},CNDONSUM88DON,10,100.00\n"
        f"E-4,95-481237600,2024-09-02,INV-AUTH,1,{g},CNDONSUM88DON,-5,100.00\n"
        f"E-5,95-481237600,2024-09-02,INV-AUTH,1,{g},CNDONSUM88DON,10,100.00\n"
        f"E-5,95-481237600,2024-09-02,INV-AUTH,2,{gtin(12345)},CNDONSUM88DON,10,100.00\n"
    )
    data = text.encode()
    parsed = read_entry_file("entries.csv", data)
    problems = {r.row: r.problem.code for r in parsed if r.problem}
    assert problems == {3: "ENTRY_GTIN_INVALID", 4: "ENTRY_FIELD_INVALID", 5: "ENTRY_FIELD_INVALID"}
    policy = world.policy()
    assert create_job(store, parsed, policy, job_id="job-csv", checked_at=CHECKED_AT, source="t")
    summary = run_job(store, "job-csv", executor=InlineExecutor(), chunk_size=1, checker_factory=FACTORY)
    assert (summary.rows, summary.malformed, summary.entries, summary.done) == (4 + 1, 3, 2, 2)
    report = job_results(store, "job-csv")
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["result"]["verdict"] == "authorized"
    assert by_row[6]["result"]["entryNumber"] == "E-5"
    assert [ln["line"] for ln in by_row[6]["result"]["lines"]] == [1, 2]
    assert by_row[3]["problem"]["code"] == "ENTRY_GTIN_INVALID"
    assert by_row[3]["problem"]["pointer"] == "/lines/0/gtin"


def test_rerunning_a_finished_job_changes_nothing(world: World, rows: dict[str, dict[str, Any]], store: Store) -> None:
    data = "\n".join(json.dumps(rows[k]) for k in ("authorized", "no_licence", "importer_mismatch")).encode()
    policy = world.policy()
    parsed = read_entry_file("e.jsonl", data)
    assert create_job(store, parsed, policy, job_id="j", checked_at=CHECKED_AT, source="t")
    first = run_job(store, "j", executor=InlineExecutor(), checker_factory=FACTORY)
    before = job_results(store, "j")
    assert not create_job(store, parsed, policy, job_id="j", checked_at=CHECKED_AT, source="t")
    second = run_job(store, "j", executor=InlineExecutor(), checker_factory=FACTORY)
    assert (first.verified_now, second.verified_now) == (3, 0)
    assert job_results(store, "j")["rows"] == before["rows"]
    assert job_status(store, "j").verdicts == {"authorized": 1, "not_authorized": 2}
