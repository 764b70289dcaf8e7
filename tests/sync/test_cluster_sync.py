"""`vcgate sync --cluster local`: one Dask task per registered adapter on an embedded LocalCluster, each holding the
adapter's lease (one writer per cursor). Against a real plain ledger on 127.0.0.1, driven through the command line;
the store is read back and compared with an in-process sync of the same ledger into another store."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jobs_cluster.test_dask import Cluster
from plain_ledger_adapter.conftest import Ledger, sample
from sqlalchemy import text

from vcgate.adapters.plain_ledger import SubmitterKey
from vcgate.gateway import KeyPair
from vcgate.gateway._cluster_store import ClusterStore
from vcgate.gateway._store import Store

from .conftest import CLI, vcgate
from .test_quarantine import config_file, stored_subjects, write_mapping

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _register(tmp_path: Path, ledger: Ledger, db: Path, witness: str) -> None:
    cfg = config_file(tmp_path, ledger)
    added = vcgate(
        "adapters", "add", "plain-ledger", "--config", str(cfg), "--db", f"sqlite:///{db}", "--witness", witness
    )
    assert added.code == 0, added.stderr


def test_sync_on_a_local_cluster_stores_what_an_in_process_sync_stores(
    tmp_path: Path, ledger: Ledger, gs1: SubmitterKey, witness: tuple[KeyPair, Path]
) -> None:
    pair, key_file = witness
    write_mapping(tmp_path / "key-licence.yaml", key_type_default=True)
    for key in ("00614141000012", "00614141000029", "00614141000036", "00614141000043"):
        ledger.append(gs1, sample("key", key=key))
    on_cluster, in_process = tmp_path / "cluster.sqlite", tmp_path / "local.sqlite"
    for db in (on_cluster, in_process):
        _register(tmp_path, ledger, db, pair.controller)

    run = vcgate(
        "sync", "--db", f"sqlite:///{on_cluster}", "--witness-key", str(key_file), "--cluster", "local", "--json"
    )
    assert run.code == 0, run.stdout + run.stderr
    counts = run.json()["adapters"]["gs1-registry"]
    assert counts["stored"] == 4
    assert counts["errors"] == []
    assert counts["worker"].startswith("tcp://127.0.0.1:")  # it ran on a Dask worker, not in the driver
    local = vcgate("sync", "--db", f"sqlite:///{in_process}", "--witness-key", str(key_file), "--json")
    assert local.code == 0, local.stderr
    assert stored_subjects(on_cluster) == stored_subjects(in_process)
    # The lease was released after the pass.
    store = Store.open(f"sqlite:///{on_cluster}")
    try:
        assert ClusterStore(store.db).lease_holders(["adapter:gs1-registry"]) == {}
    finally:
        store.close()


def test_a_held_lease_keeps_a_second_writer_off_the_cursor(
    tmp_path: Path, ledger: Ledger, gs1: SubmitterKey, witness: tuple[KeyPair, Path]
) -> None:
    pair, key_file = witness
    write_mapping(tmp_path / "key-licence.yaml", key_type_default=True)
    ledger.append(gs1, sample("key", key="00614141000012"))
    db = tmp_path / "gateway.sqlite"
    _register(tmp_path, ledger, db, pair.controller)
    store = Store.open(f"sqlite:///{db}")
    leases = ClusterStore(store.db)
    try:
        # Another sync pass (elsewhere on the cluster) holds the adapter.
        assert leases.acquire_lease("adapter:gs1-registry", "other-pass", seconds=600, now=datetime.now(UTC))
        assert not leases.acquire_lease("adapter:gs1-registry", "intruder", seconds=600, now=datetime.now(UTC))
        held = vcgate("sync", "--db", f"sqlite:///{db}", "--witness-key", str(key_file), "--cluster", "local", "--json")
        assert held.code == 0, held.stderr
        counts = held.json()["adapters"]["gs1-registry"]
        assert counts["leaseHeldBy"] == "other-pass"
        assert stored_subjects(db) == {}
        assert store.adapters()[0].cursor is None  # the cursor did not move
        leases.release_lease("adapter:gs1-registry", "other-pass")
        done = vcgate("sync", "--db", f"sqlite:///{db}", "--witness-key", str(key_file), "--cluster", "local", "--json")
        assert done.code == 0, done.stderr
        assert done.json()["adapters"]["gs1-registry"]["stored"] == 1
        assert len(stored_subjects(db)) == 1
    finally:
        store.close()


def test_an_expired_lease_is_taken_over(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'leases.sqlite'}")
    leases = ClusterStore(store.db)
    try:
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        assert leases.acquire_lease("adapter:a", "crashed-pass", seconds=60, now=t0)
        assert not leases.acquire_lease("adapter:a", "next-pass", seconds=60, now=t0.replace(second=30))
        assert leases.acquire_lease("adapter:a", "next-pass", seconds=60, now=t0.replace(minute=2))
        assert leases.lease_holders(["adapter:a"])["adapter:a"][0] == "next-pass"
        leases.release_lease("adapter:a", "crashed-pass")  # not the holder: changes nothing
        assert leases.lease_holders(["adapter:a"])["adapter:a"][0] == "next-pass"
    finally:
        store.close()


def _suites(db: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("select id from credentials")]
    store = Store.open(f"sqlite:///{db}")
    try:
        return {d.document["proof"]["cryptosuite"] for d in store.credentials(ids).values()}
    finally:
        store.close()


def test_sync_on_a_cluster_signs_with_the_witness_suite_asked_for(
    tmp_path: Path, ledger: Ledger, gs1: SubmitterKey, witness: tuple[KeyPair, Path]
) -> None:
    pair, key_file = witness
    write_mapping(tmp_path / "key-licence.yaml", key_type_default=True)
    for key in ("00614141000012", "00614141000029"):
        ledger.append(gs1, sample("key", key=key))
    db = tmp_path / "gateway.sqlite"
    _register(tmp_path, ledger, db, pair.controller)
    run = vcgate(
        "sync", "--db", f"sqlite:///{db}", "--witness-key", str(key_file), "--witness-suite", "eddsa-jcs-2022",
        "--cluster", "local", "--json",
    )  # fmt: skip
    assert run.code == 0, run.stdout + run.stderr
    assert run.json()["adapters"]["gs1-registry"]["stored"] == 2
    assert _suites(db) == {"eddsa-jcs-2022"}  # not the default eddsa-rdfc-2022 the workers used before


# -- one adapter's records spread over a real scheduler and two workers, over PostgreSQL ------------------------------

SPREAD_RECORDS = 1200


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A real ``dask scheduler`` on 127.0.0.1 (workers are started by each test; all stopped by PID)."""
    c = Cluster(tmp_path)
    c.start_scheduler()
    try:
        yield c
    finally:
        c.stop()


KEYS = ("00614141000012", "00614141000029", "00614141000036", "00614141000043")


def _fill(ledger: Ledger, gs1: SubmitterKey, n: int) -> None:
    entries = [
        gs1.sign_entry({"kind": "record", "recordId": f"spread-{i:05d}", "record": sample("key", key=KEYS[i % 4])})
        for i in range(n)
    ]
    for i in range(0, n, 200):
        results = ledger.client.append_batch(entries[i : i + 200])
        assert all("index" in r for r in results), results[:3]


def _register_at(tmp_path: Path, ledger: Ledger, url: str, witness: str, page_size: int) -> None:
    cfg = config_file(tmp_path, ledger)
    doc = yaml.safe_load(cfg.read_text())
    doc["pageSize"] = page_size
    cfg.write_text(yaml.safe_dump(doc))
    added = vcgate("adapters", "add", "plain-ledger", "--config", str(cfg), "--db", url, "--witness", witness)
    assert added.code == 0, added.stderr


def _stored_rows(url: str) -> dict[str, tuple[str, str]]:
    """Every stored credential's digest and stored document text, by id (the bytes the store keeps)."""
    store = Store.open(url)
    try:
        with store.db.transaction() as conn:
            rows = conn.execute(text("select id, digest, document from credentials")).all()
        return {r[0]: (r[1], r[2]) for r in rows}
    finally:
        store.close()


def _cursor_and_quarantine(url: str) -> tuple[Any, int]:
    store = Store.open(url)
    try:
        return store.adapters()[0].cursor, len(store.quarantined("gs1-registry"))
    finally:
        store.close()


def _local_reference(tmp_path: Path, ledger: Ledger, key_file: Path, witness: str) -> dict[str, tuple[str, str]]:
    """The same ledger synced in one process (no cluster) into its own store."""
    url = f"sqlite:///{tmp_path / 'in-process.sqlite'}"
    _register_at(tmp_path, ledger, url, witness, page_size=100)
    local = vcgate("sync", "--db", url, "--witness-key", str(key_file), "--json", timeout=600)
    assert local.code == 0, local.stderr
    assert local.json()["adapters"]["gs1-registry"]["stored"] == SPREAD_RECORDS
    return _stored_rows(url)


def _sync_process(url: str, key_file: Path, address: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop("VCGATE_DATABASE_URL", None)
    return subprocess.Popen(
        [*CLI, "sync", "--db", url, "--witness-key", str(key_file), "--cluster", address, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _start_workers(cluster: Cluster) -> dict[str, subprocess.Popen[bytes]]:
    """Two workers, each with the sync modules imported (as ``dask worker --preload vcgate.gateway._cluster`` does):
    a worker still importing on a loaded machine would let the other take every chunk."""
    from distributed import Client

    procs = {name: cluster.start_worker(name) for name in ("w1", "w2")}
    cluster.wait_workers(2)
    with Client(cluster.address, timeout=30) as client:
        for module in ("vcgate.gateway._cluster", "vcgate.adapters.plain_ledger", "vcgate.gateway._jobs"):
            client.run(importlib.import_module, module)
    return procs


def _stored_count(url: str) -> int:
    store = Store.open(url)
    try:
        with store.db.transaction() as conn:
            return int(conn.execute(text("select count(*) from credentials")).scalar_one())
    finally:
        store.close()


def test_one_adapters_records_are_signed_on_both_workers_and_stored_as_in_process(
    tmp_path: Path,
    ledger: Ledger,
    gs1: SubmitterKey,
    witness: tuple[KeyPair, Path],
    cluster: Cluster,
    postgres_url: str,
) -> None:
    pair, key_file = witness
    write_mapping(tmp_path / "key-licence.yaml", key_type_default=True)
    _fill(ledger, gs1, SPREAD_RECORDS)
    _register_at(tmp_path, ledger, postgres_url, pair.controller, page_size=100)
    _start_workers(cluster)

    proc = _sync_process(postgres_url, key_file, cluster.address)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stdout + stderr
    counts = json.loads(stdout)["adapters"]["gs1-registry"]
    assert counts["stored"] == SPREAD_RECORDS
    assert counts["errors"] == []
    assert counts["quarantined"] == 0
    # Both workers translated and signed records of this one adapter's stream, and checked stored credentials.
    workers = counts["workers"]
    assert len(workers) == 2, workers
    assert all(w["records"] > 0 for w in workers.values()), workers
    assert sum(w["records"] for w in workers.values()) == SPREAD_RECORDS
    assert sum(w["checked"] for w in workers.values()) == SPREAD_RECORDS
    assert counts["worker"] in workers  # the lease holder is one of them

    on_cluster = _stored_rows(postgres_url)
    assert len(on_cluster) == SPREAD_RECORDS
    assert on_cluster == _local_reference(tmp_path, ledger, key_file, pair.controller)  # same ids, digests, bytes
    assert _cursor_and_quarantine(postgres_url)[1] == 0
    # The checks ran under the pass's policy: every stored credential has a cached verification result.
    store = Store.open(postgres_url)
    try:
        with store.db.transaction() as conn:
            cached = conn.execute(text("select count(distinct credential_id) from verification_cache")).scalar_one()
        assert cached == SPREAD_RECORDS
    finally:
        store.close()


@pytest.mark.parametrize("victim", ["lease holder", "helper"])
def test_a_worker_killed_mid_sync_leaves_the_store_a_local_sync_makes(
    tmp_path: Path,
    ledger: Ledger,
    gs1: SubmitterKey,
    witness: tuple[KeyPair, Path],
    cluster: Cluster,
    postgres_url: str,
    victim: str,
) -> None:
    pair, key_file = witness
    write_mapping(tmp_path / "key-licence.yaml", key_type_default=True)
    _fill(ledger, gs1, SPREAD_RECORDS)
    _register_at(tmp_path, ledger, postgres_url, pair.controller, page_size=20)
    procs = _start_workers(cluster)

    proc = _sync_process(postgres_url, key_file, cluster.address)
    from distributed import Client

    with Client(cluster.address, timeout=30) as client:
        deadline = time.monotonic() + 300
        while _stored_count(postgres_url) < SPREAD_RECORDS // 5:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # The scheduler says which worker runs the adapter's task (the lease holder, seceded while it waits).
        names = {str(info["name"]): address for address, info in client.scheduler_info()["workers"].items()}
        holder = next(a for a, keys in client.processing().items() if any("vcgate-sync-" in str(k) for k in keys))
    target = next(n for n, a in names.items() if (a == holder) == (victim == "lease holder"))
    before = _stored_count(postgres_url)
    procs[target].send_signal(signal.SIGKILL)
    procs[target].wait(timeout=30)
    stdout, stderr = proc.communicate(timeout=600)
    assert before < SPREAD_RECORDS, "the sync finished before the worker was killed"
    assert proc.returncode == 0, stdout + stderr
    counts = json.loads(stdout)["adapters"]["gs1-registry"]
    assert counts["errors"] == []
    survivor = next(a for n, a in names.items() if n != target)
    if victim == "lease holder":
        # Dask ran the adapter's task again on the survivor; it took the lease over and went on from the cursor the
        # dead holder last committed.
        assert counts["worker"] == survivor
        assert 0 < counts["stored"] < SPREAD_RECORDS
    else:
        # The holder lived; the chunks lost with the helper were run again (on the holder's worker).
        assert counts["worker"] == holder
        assert counts["stored"] == SPREAD_RECORDS
    assert sum(w["records"] for w in counts["workers"].values()) >= counts["stored"]
    on_cluster = _stored_rows(postgres_url)
    assert on_cluster == _local_reference(tmp_path, ledger, key_file, pair.controller)
    assert _cursor_and_quarantine(postgres_url)[1] == 0
    # The lease was given back (a dead holder's retry took its own lease over under the task's key).
    store = Store.open(postgres_url)
    try:
        assert ClusterStore(store.db).lease_holders(["adapter:gs1-registry"]) == {}
    finally:
        store.close()


def test_a_worker_without_the_witness_key_fails_the_adapter_visibly(
    tmp_path: Path,
    ledger: Ledger,
    gs1: SubmitterKey,
    witness: tuple[KeyPair, Path],
    cluster: Cluster,
    postgres_url: str,
) -> None:
    """The key never travels through the scheduler: a worker whose key file is missing fails the adapter's pass with
    an error naming the path (not the key), and nothing is stored."""
    pair, key_file = witness
    write_mapping(tmp_path / "key-licence.yaml", key_type_default=True)
    _fill(ledger, gs1, 10)
    _register_at(tmp_path, ledger, postgres_url, pair.controller, page_size=5)
    missing = tmp_path / "not-here" / "witness.json"
    cluster.start_worker("keyless", VCGATE_WORKER_WITNESS_KEY=str(missing))
    cluster.wait_workers(1)
    proc = _sync_process(postgres_url, key_file, cluster.address)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stdout + stderr
    (error,) = json.loads(stdout)["adapters"]["gs1-registry"]["errors"]
    assert f"has no witness key file at {missing}" in error
    assert "VCGATE_WORKER_WITNESS_KEY" in error
    assert json.loads(key_file.read_text())["secretKeyMultibase"] not in stdout + stderr
    assert _stored_count(postgres_url) == 0
    assert _cursor_and_quarantine(postgres_url) == (None, 0)
