"""Verification jobs on a real Dask cluster over PostgreSQL: a ``dask scheduler`` and two ``dask worker`` processes on
127.0.0.1 (no nanny, so a worker's PID is the worker), the jobs tests' credential world in a real PostgreSQL.

* a 2,000-entry job on the cluster gives the same verdicts as the in-process run, with one worker SIGKILLed mid-job;
* the scheduler SIGKILLed mid-job: the driver reports it, and ``vcgate jobs run --resume`` on a new scheduler finishes
  the job from the database;
* a worker that cannot reach the database fails its tasks visibly, the job reports them, nothing is lost;
* per-worker throughput and the scheduler address reach ``vcgate jobs status --json``.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jobs._world import CHECKED_AT, World

from vcgate.gateway._cluster import ClusterError, DaskExecutor
from vcgate.gateway._jobs import InlineExecutor, create_job, job_results, job_status, read_entry_file, run_job
from vcgate.gateway._store import Store

pytestmark = [pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FACTORY = "tests.jobs._world:plain_checkers"
ENTRIES = 2000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def _vcgate(*args: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``vcgate ARGS`` in a fresh interpreter (the tests' modules importable), its output captured."""
    code = "from vcgate.gateway.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=_env(), timeout=timeout, cwd=cwd
    )


class Cluster:
    """A scheduler and workers as real processes; stopped by PID."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_scheduler(self) -> None:
        log = (self.tmp / f"scheduler-{self.port}.log").open("wb")
        self.scheduler = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-dashboard",
                "--no-show",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
        _wait_port(self.port)

    def start_worker(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker-{name}.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dask",
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                name,
                "--host",
                "127.0.0.1",
                "--worker-port",
                str(_free_port()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(**env),
            cwd=self.tmp,
        )
        self.workers.append(proc)
        return proc

    def wait_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=60)

    def stop(self) -> None:
        for p in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(timeout=30)
        self.workers = []
        self.scheduler = None


def _wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    c.start_scheduler()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def pg_world(
    world_and_rows: tuple[World, dict[str, dict[str, Any]], Path],
    postgres_url: str,
) -> tuple[World, dict[str, dict[str, Any]], str]:
    world, rows, _ = world_and_rows  # a fresh PostgreSQL database per test, filled with the world's credentials
    store = Store.open(postgres_url)
    try:
        world.fill(store)
    finally:
        store.close()
    return world, rows, postgres_url


def _entries_file(rows: dict[str, dict[str, Any]], tmp: Path, tag: str, n: int = ENTRIES) -> Path:
    """``n`` distinct entries cycling through every scenario (each gets its own entry number)."""
    scenarios = list(rows.values())
    lines = []
    for i in range(n):
        e = copy.deepcopy(scenarios[i % len(scenarios)])
        e["entryNumber"] = f"{tag}-{i:05d}"
        lines.append(json.dumps(e))
    path = tmp / f"{tag}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _untimed(value: Any) -> Any:
    """``value`` without the measured step durations (``durationUs``): everything else is deterministic."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "durationUs"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _verdicts(store: Store, job_id: str) -> dict[str, Any]:
    """Each entry's stored result (timings removed), by entry key."""
    rows = job_results(store, job_id)["rows"]
    return {r["entryKey"]: _untimed(r["result"]) for r in rows if "entryKey" in r}


def _job(store: Store, world: World, path: Path, job_id: str) -> None:
    rows = read_entry_file(path.name, path.read_bytes())
    create_job(store, rows, world.policy(), job_id=job_id, checked_at=CHECKED_AT, source=str(path))


def _reference(store: Store, world: World, path: Path, tag: str) -> dict[str, Any]:
    """The same entries verified in this process (no cluster), as a separate job."""
    _job(store, world, path, f"{tag}-inline")
    run_job(store, f"{tag}-inline", executor=InlineExecutor(), checker_factory=FACTORY)
    return _verdicts(store, f"{tag}-inline")


def _wait_done(store: Store, job_id: str, at_least: int, timeout: float = 240) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = job_status(store, job_id).done
        if done >= at_least:
            return done
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not reach {at_least} results")


def test_worker_killed_mid_job_changes_no_verdict(
    cluster: Cluster, pg_world: tuple[World, dict[str, dict[str, Any]], str], tmp_path: Path
) -> None:
    world, rows, url = pg_world
    path = _entries_file(rows, tmp_path, "kill-worker")
    store = Store.open(url)
    try:
        _job(store, world, path, "kill-worker")
        victim = cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.wait_workers(2)
        outcome: dict[str, Any] = {}

        def drive() -> None:
            try:
                outcome["summary"] = run_job(
                    store, "kill-worker", executor=DaskExecutor(cluster.address), chunk_size=32, checker_factory=FACTORY
                )
            except Exception as exc:
                outcome["error"] = exc

        driver = threading.Thread(target=drive)
        driver.start()
        _wait_done(store, "kill-worker", 200)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        driver.join(timeout=600)
        assert not driver.is_alive()
        assert "error" not in outcome, outcome.get("error")
        summary = outcome["summary"]
        assert summary.state == "finished"
        assert summary.done == summary.entries == ENTRIES
        # Every entry has exactly one stored result, equal to the in-process verdict.
        on_cluster = _verdicts(store, "kill-worker")
        assert on_cluster == _reference(store, world, path, "kill-worker")
        assert len({r["verdict"] for r in on_cluster.values()}) >= 3  # the scenarios' verdicts, not one default
        status = job_status(store, "kill-worker").to_json()
        assert status["cluster"]["scheduler"] == cluster.address
        assert len(status["workers"]) >= 2  # both workers verified chunks before one was killed
        assert sum(w["entries"] for w in status["workers"]) >= ENTRIES
    finally:
        store.close()


def test_scheduler_killed_then_resume_on_a_new_scheduler(
    cluster: Cluster, pg_world: tuple[World, dict[str, dict[str, Any]], str], tmp_path: Path
) -> None:
    world, rows, url = pg_world
    path = _entries_file(rows, tmp_path, "kill-scheduler")
    store = Store.open(url)
    try:
        _job(store, world, path, "kill-scheduler")
        cluster.start_worker("w1")
        cluster.wait_workers(1)
        outcome: dict[str, Any] = {}

        def drive() -> None:
            try:
                outcome["summary"] = run_job(
                    store,
                    "kill-scheduler",
                    executor=DaskExecutor(cluster.address),
                    chunk_size=32,
                    checker_factory=FACTORY,
                )
            except Exception as exc:
                outcome["error"] = exc

        driver = threading.Thread(target=drive)
        driver.start()
        before = _wait_done(store, "kill-scheduler", 100)
        assert cluster.scheduler is not None
        cluster.scheduler.send_signal(signal.SIGKILL)
        cluster.scheduler.wait(timeout=30)
        driver.join(timeout=300)
        assert not driver.is_alive()
        assert isinstance(outcome.get("error"), ClusterError), outcome
        assert "--resume" in str(outcome["error"])
        stopped = job_status(store, "kill-scheduler")
        assert before <= stopped.done < ENTRIES
        assert stopped.state == "running"
        cluster.stop()

        # A new scheduler and worker; the CLI resumes the job from the database alone.
        fresh = Cluster(tmp_path)
        fresh.start_scheduler()
        try:
            fresh.start_worker("w-new")
            fresh.wait_workers(1)
            cli = _vcgate(
                *("jobs", "run", "--resume", "--job-id", "kill-scheduler", "--db", url),
                *("--cluster", fresh.address, "--checkers", FACTORY, "--json"),
            )
        finally:
            fresh.stop()
        assert cli.returncode == 0, cli.stderr
        summary = json.loads(cli.stdout)
        assert summary["state"] == "finished"
        assert summary["done"] == ENTRIES
        assert summary["verifiedNow"] == ENTRIES - stopped.done
        assert _verdicts(store, "kill-scheduler") == _reference(store, world, path, "kill-scheduler")
    finally:
        store.close()


def test_worker_without_the_database_fails_its_tasks_visibly(
    cluster: Cluster, pg_world: tuple[World, dict[str, dict[str, Any]], str], tmp_path: Path
) -> None:
    world, rows, url = pg_world
    path = _entries_file(rows, tmp_path, "no-db", n=200)
    store = Store.open(url)
    try:
        _job(store, world, path, "no-db")
        closed = f"postgresql+psycopg2://postgres@127.0.0.1:{_free_port()}/postgres"
        cluster.start_worker("cut-off", VCGATE_WORKER_DATABASE_URL=closed)
        cluster.wait_workers(1)
        with pytest.raises(ClusterError, match=r"chunk\(s\) failed on the cluster.*cannot reach the database"):
            run_job(store, "no-db", executor=DaskExecutor(cluster.address, retries=0), chunk_size=50)
        status = job_status(store, "no-db")
        assert status.done == 0  # nothing verified against a missing store, nothing half-written
        assert status.state == "running"
        assert len(status.failed_tasks) == 4
        assert all("cannot reach the database" in f["error"] for f in status.failed_tasks)

        # A worker that reaches the database finishes the job; nothing was lost.
        cluster.start_worker("connected")
        cluster.wait_workers(2)
        for p in cluster.workers[:1]:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
        summary = run_job(store, "no-db", executor=DaskExecutor(cluster.address), checker_factory=FACTORY)
        assert summary.done == summary.entries == 200
        assert _verdicts(store, "no-db") == _reference(store, world, path, "no-db")
    finally:
        store.close()


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.sqlite'}"
    cli = _vcgate("jobs", "run", "--resume", "--job-id", "none", "--db", db, "--cluster", "127.0.0.1:8786", timeout=120)
    assert cli.returncode == 64
    assert "needs a scheme" in cli.stderr


def test_cli_on_an_embedded_local_cluster_equals_the_local_pool(
    world_and_rows: tuple[World, dict[str, dict[str, Any]], Path], tmp_path: Path
) -> None:
    """``--cluster local`` starts a LocalCluster (no server to install) over a SQLite store; same verdicts as the
    local process pool on a copy of the same store."""
    world, rows, template = world_and_rows
    path = _entries_file(rows, tmp_path, "local", n=300)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(dict(world.policy().raw)))
    runs: dict[str, Any] = {}
    for name, extra in (("cluster", ["--cluster", "local", "--chunk-size", "40"]), ("pool", [])):
        db = tmp_path / f"{name}.sqlite"
        shutil.copy(template, db)
        proc = _vcgate(
            *("jobs", "run", str(path), "--db", f"sqlite:///{db}", "--checkers", FACTORY),
            *("--checked-at", "2025-06-01T00:00:00Z", "--policy", str(policy), "--workers", "2", "--job-id", "j"),
            *("--json", *extra),
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        store = Store.open(f"sqlite:///{db}")
        try:
            runs[name] = (json.loads(proc.stdout), _verdicts(store, "j"))
        finally:
            store.close()
    summary, on_cluster = runs["cluster"]
    assert summary["done"] == summary["entries"] == summary["verifiedNow"] == 300
    assert summary["cluster"]["scheduler"] == "local"
    assert summary["cluster"]["dashboard"].startswith("http://127.0.0.1:")
    assert sum(w["entries"] for w in summary["workers"]) == 300
    assert len(summary["verdicts"]) >= 3  # the scenarios' different verdicts
    assert runs["pool"][0]["verdicts"] == summary["verdicts"]
    assert on_cluster == runs["pool"][1]


def test_api_jobs_on_the_cluster_report_workers_and_dashboard(
    world_and_rows: tuple[World, dict[str, dict[str, Any]], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``POST /jobs`` with ``$VCGATE_DASK_SCHEDULER`` set runs the job on the cluster (here an embedded
    LocalCluster); ``GET /jobs/{id}`` reports the scheduler, its dashboard and each worker's throughput."""
    from api_wiring.conftest import run_gateway

    from vcgate.gateway.api._wiring import WiringSettings

    world, rows, template = world_and_rows
    db = tmp_path / "gateway.sqlite"
    shutil.copy(template, db)
    entries = [json.loads(line) for line in _entries_file(rows, tmp_path, "api", n=120).read_text().splitlines()]
    monkeypatch.setenv("VCGATE_DASK_SCHEDULER", "local")
    with run_gateway(db, WiringSettings(checker_factory=FACTORY)) as gw:
        analyst = gw.client("did:web:customs.example", ["run:jobs", "read:jobs"])
        policy = json.loads(json.dumps(dict(world.policy().raw)))
        checked = CHECKED_AT.isoformat().replace("+00:00", "Z")
        r = gw.http.post(
            "/jobs", json={"policy": policy, "checkedAt": checked, "entries": entries}, headers=gw.auth(analyst)
        )
        assert r.status_code == 202, r.text
        status = gw.wait_for_job(r.json()["jobId"], gw.auth(analyst), timeout=300)
    assert status["state"] == "finished", status
    assert status["done"] == status["entries"] == 120
    assert status["cluster"]["scheduler"] == "local"
    assert status["cluster"]["dashboard"].startswith("http://127.0.0.1:")
    assert sum(w["entries"] for w in status["workers"]) == 120
    assert all(w["entriesPerSecond"] > 0 and w["worker"].startswith("tcp://127.0.0.1:") for w in status["workers"])
