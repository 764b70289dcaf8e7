"""The store on SQLite and on a real PostgreSQL: durability settings, appends, revocations, proofs, reopening."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.plain_ledger import (
    LedgerEntry,
    LedgerRequestError,
    LogKey,
    LogLeaf,
    PlainLedgerStore,
    StoreError,
    SubmitterKey,
    check_consistency,
    check_inclusion,
    leaf_hash,
    open_checkpoint,
)


def rec(key: SubmitterKey, record_id: str, **record: Any) -> LedgerEntry:
    return LedgerEntry.from_json(key.sign_entry({"kind": "record", "recordId": record_id, "record": record}))


def revoke(key: SubmitterKey, target: int | str) -> LedgerEntry:
    return LedgerEntry.from_json(key.sign_entry({"kind": "revocation", "supersedes": target}))


def test_sqlite_runs_in_wal_mode_with_synchronous_full(tmp_path: Path, log_key: LogKey) -> None:
    with PlainLedgerStore.create(tmp_path / "l.sqlite", log_key) as store:
        assert store.durability() == {"dialect": "sqlite", "journal_mode": "wal", "synchronous": "FULL"}
        # read back on a raw pooled connection too: the settings hold for every connection the store uses
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
    assert (tmp_path / "l.sqlite-wal").exists() or (tmp_path / "l.sqlite").exists()


@pytest.mark.server
def test_postgresql_commits_synchronously(postgres_url: str, log_key: LogKey) -> None:
    with PlainLedgerStore.create(postgres_url, log_key) as store:
        assert store.durability() == {"dialect": "postgresql", "synchronous_commit": "on", "fsync": "on"}


def test_a_new_ledger_has_a_signed_empty_checkpoint(store: PlainLedgerStore, log_key: LogKey) -> None:
    checkpoint = open_checkpoint(store.latest_checkpoint(), log_key.verifier)
    assert (checkpoint.origin, checkpoint.size) == (log_key.origin, 0)
    assert store.tree_size() == 0
    assert store.ledger_id == log_key.ledger_id
    assert store.ledger_id.startswith("plain:")
    assert len(store.ledger_id) == len("plain:") + 16


def test_appends_are_indexed_in_order_and_provable(
    store: PlainLedgerStore, log_key: LogKey, submitter: SubmitterKey, p256_submitter: SubmitterKey
) -> None:
    receipts = store.append_batch([rec(submitter, f"r{i}", n=i) for i in range(5)])
    receipts += [store.append(rec(p256_submitter, "p0"))]
    assert [r.index for r in receipts] == list(range(6))  # type: ignore[union-attr]
    assert store.tree_size() == 6
    note = store.latest_checkpoint()
    for i in range(6):
        stored = store.get(i)
        assert leaf_hash(stored.leaf) == stored.leaf_hash
        result = check_inclusion(stored.leaf, store.inclusion_proof(i), note, log_key.verifier.to_vkey())
        assert result.ok, result.to_json()
        assert result.entry is not None
        assert result.entry.record_id == stored.record_id
    first = store.checkpoint(5)
    assert check_consistency(first, note, store.consistency_proof(5), log_key.verifier).ok
    store.audit()


def test_refused_entries_are_not_stored_and_do_not_block_their_batch(
    store: PlainLedgerStore, submitter: SubmitterKey
) -> None:
    store.append(rec(submitter, "dup"))
    outcomes = store.append_batch(
        [rec(submitter, "ok-1"), rec(submitter, "dup"), rec(submitter, "ok-2"), rec(submitter, "ok-1")]
    )
    assert isinstance(outcomes[1], LedgerRequestError)
    assert isinstance(outcomes[3], LedgerRequestError)
    assert outcomes[1].problem.code == outcomes[3].problem.code == "PLAIN_LEDGER_DUPLICATE_RECORD_ID"
    assert outcomes[1].status == 409
    assert [getattr(o, "index", None) for o in outcomes] == [1, None, 2, None]
    assert store.tree_size() == 3
    store.audit()


def test_revocation_rules(store: PlainLedgerStore, submitter: SubmitterKey, p256_submitter: SubmitterKey) -> None:
    store.append_batch([rec(submitter, "a"), rec(submitter, "b"), rec(p256_submitter, "c")])
    receipt = store.append(revoke(submitter, "a"))
    assert store.get(0).revoked_by == receipt.index
    assert store.get(receipt.index).supersedes == 0
    cases = [
        (revoke(submitter, "a"), "PLAIN_LEDGER_ALREADY_REVOKED", 409),
        (revoke(submitter, 0), "PLAIN_LEDGER_ALREADY_REVOKED", 409),
        (revoke(submitter, "nope"), "PLAIN_LEDGER_SUPERSEDED_NOT_FOUND", 422),
        (revoke(submitter, 99), "PLAIN_LEDGER_SUPERSEDED_NOT_FOUND", 422),
        (revoke(submitter, receipt.index), "PLAIN_LEDGER_SUPERSEDES_REVOCATION", 422),
        (revoke(submitter, "c"), "PLAIN_LEDGER_SUPERSEDE_FORBIDDEN", 403),
    ]
    size = store.tree_size()
    for entry, code, status in cases:
        with pytest.raises(LedgerRequestError) as caught:
            store.append(entry)
        assert (caught.value.problem.code, caught.value.status) == (code, status)
    assert store.tree_size() == size
    # within one batch: a record and its revocation, then a second revocation of it
    outcomes = store.append_batch([rec(submitter, "d"), revoke(submitter, "d"), revoke(submitter, "d")])
    assert [type(o).__name__ for o in outcomes] == ["AppendReceipt", "AppendReceipt", "LedgerRequestError"]
    assert store.get_record("d").revoked_by == size + 1
    store.audit()


def test_reads_and_bad_ranges(store: PlainLedgerStore, submitter: SubmitterKey) -> None:
    store.append_batch([rec(submitter, f"r{i}") for i in range(7)])
    assert [e.index for e in store.list_entries(2, 3)] == [2, 3, 4]
    assert store.get_record("r4").index == 4
    for call, code in [
        (lambda: store.get(7), "PLAIN_LEDGER_NOT_FOUND"),
        (lambda: store.get_record("zz"), "PLAIN_LEDGER_NOT_FOUND"),
        (lambda: store.inclusion_proof(7), "PLAIN_LEDGER_BAD_RANGE"),
        (lambda: store.inclusion_proof(3, 8), "PLAIN_LEDGER_BAD_RANGE"),
        (lambda: store.inclusion_proof(3, 3), "PLAIN_LEDGER_BAD_RANGE"),
        (lambda: store.consistency_proof(5, 4), "PLAIN_LEDGER_BAD_RANGE"),
        (lambda: store.list_entries(0, 0), "PLAIN_LEDGER_BAD_RANGE"),
        (lambda: store.checkpoint(3), "PLAIN_LEDGER_NOT_FOUND"),
    ]:
        with pytest.raises(LedgerRequestError) as caught:
            call()
        assert caught.value.problem.code == code


def test_reopening_restores_the_tree_and_checks_the_key(
    ledger_target: str, log_key: LogKey, submitter: SubmitterKey
) -> None:
    with PlainLedgerStore.create(ledger_target, log_key) as store:
        store.append_batch([rec(submitter, f"r{i}") for i in range(10)])
        root = store.root_at(10)
    with PlainLedgerStore.open(ledger_target, log_key) as store:
        assert store.tree_size() == 10
        assert store.root_at(10) == root
        store.append(rec(submitter, "r10"))
        store.audit()
    with PlainLedgerStore.open(ledger_target) as read_only:
        assert read_only.tree_size() == 11
        with pytest.raises(StoreError, match="without its log key"):
            read_only.append(rec(submitter, "r11"))
    with pytest.raises(StoreError, match="not this ledger's key"):
        PlainLedgerStore.open(ledger_target, LogKey.generate(log_key.origin))
    with pytest.raises(StoreError, match="already holds"):
        PlainLedgerStore.create(ledger_target, log_key)


def test_opening_an_uninitialised_database_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not an initialised plain ledger"):
        PlainLedgerStore.open(tmp_path / "empty.sqlite")


def test_log_time_comes_from_the_injected_clock_and_is_in_the_leaf(
    ledger_target: str, log_key: LogKey, submitter: SubmitterKey
) -> None:
    at = datetime(2025, 6, 1, 12, 30, 45, 123456, tzinfo=UTC)
    with PlainLedgerStore.create(ledger_target, log_key, clock=lambda: at) as store:
        receipt = store.append(rec(submitter, "t"))
        assert receipt.logged_at == "2025-06-01T12:30:45.123Z"
        assert LogLeaf.from_bytes(store.get(0).leaf).logged_at == receipt.logged_at


def test_two_stores_on_one_database_interleave_without_breaking_the_tree(
    ledger_target: str, log_key: LogKey, submitter: SubmitterKey
) -> None:
    """Writers serialise on the tree-size row: two processes' worth of stores appending concurrently."""
    PlainLedgerStore.create(ledger_target, log_key).close()
    stores = [PlainLedgerStore.open(ledger_target, log_key) for _ in range(2)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(15):
                stores[n].append_batch([rec(submitter, f"s{n}-{i}-{j}") for j in range(3)])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stores[0].tree_size() == 90
    stores[1].audit()
    for s in stores:
        s.close()
