"""`vcgate sync --cluster local`: one Dask task per registered adapter on an embedded LocalCluster, each holding the
adapter's lease (one writer per cursor). Against a real plain ledger on 127.0.0.1, driven through the command line;
the store is read back and compared with an in-process sync of the same ledger into another store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from plain_ledger_adapter.conftest import Ledger, sample

from vcgate.adapters.plain_ledger import SubmitterKey
from vcgate.gateway import KeyPair
from vcgate.gateway._cluster_store import ClusterStore
from vcgate.gateway._store import Store

from .conftest import vcgate
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
