"""Crash safety: SIGKILL the server during a burst of appends, restart it, and find every acknowledged entry in a
consistent tree that extends every checkpoint published before the crash."""

from __future__ import annotations

import base64
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from vcgate.adapters.plain_ledger import (
    LedgerEntry,
    LogKey,
    LogLeaf,
    PlainLedgerClient,
    PlainLedgerStore,
    SubmitterKey,
    check_consistency,
    check_inclusion,
)

from .conftest import start_server

pytestmark = pytest.mark.server


def _burst(
    url: str,
    key: SubmitterKey,
    prefix: str,
    stop: threading.Event,
    acknowledged: list[dict[str, Any]],
    lock: threading.Lock,
) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        n = 0
        while not stop.is_set():
            record_id = f"{prefix}-{n}"
            n += 1
            try:
                response = http.post(
                    "/entries", json=key.sign_entry({"kind": "record", "recordId": record_id, "record": {"n": n}})
                )
            except httpx.HTTPError:
                return  # the server died: this append was never acknowledged
            if response.status_code == 201:
                with lock:
                    acknowledged.append({**response.json(), "recordId": record_id})


@pytest.mark.parametrize("rounds", [2])
def test_sigkill_during_appends_loses_no_acknowledged_entry(
    ledger_files: tuple[Path, Path, LogKey], submitter: SubmitterKey, rounds: int
) -> None:
    db, key_file, log_key = ledger_files
    pinned = log_key.verifier.to_vkey()
    acknowledged: list[dict[str, Any]] = []
    published: list[str] = []  # checkpoints seen before each crash
    lock = threading.Lock()
    for round_number in range(rounds):
        server = start_server(db, key_file)
        try:
            stop = threading.Event()
            with ThreadPoolExecutor(12) as pool:
                for worker in range(12):
                    pool.submit(_burst, server.url, submitter, f"r{round_number}w{worker}", stop, acknowledged, lock)
                target = len(acknowledged) + 150
                deadline = time.monotonic() + 20
                while len(acknowledged) < target and time.monotonic() < deadline:
                    time.sleep(0.01)
                published.append(httpx.get(server.url + "/checkpoint").text)
                time.sleep(0.05)  # keep the burst going: the kill lands while batches are being committed
                server.stop(signal.SIGKILL)  # no shutdown handler, no final flush
                stop.set()
        finally:
            server.stop(signal.SIGKILL)
        assert server.process.returncode == -signal.SIGKILL
        assert len(acknowledged) >= target, "the burst did not get going before the kill"

    # Restart: the database opens (self-check: nodes vs latest signed checkpoint) and serves every acknowledged entry.
    server = start_server(db, key_file)
    try:
        with PlainLedgerClient(server.url) as client:
            final = client.checkpoint()
            size = int(final.split("\n")[1])
            assert size >= max(a["index"] for a in acknowledged) + 1
            for ack in acknowledged:
                entry = client.get(ack["index"])
                assert base64.b64encode(entry.leaf_hash).decode() == ack["leafHash"]
                assert entry.record_id == ack["recordId"]
                assert entry.logged_at == ack["loggedAt"]
            for ack in acknowledged[:: max(1, len(acknowledged) // 25)]:
                result = check_inclusion(
                    client.get(ack["index"]).leaf, client.inclusion_proof(ack["index"]), final, pinned
                )
                assert result.ok, result.to_json()
            # the recovered log extends every checkpoint published before a crash: no fork, no rewrite
            for note in published:
                old_size = int(note.split("\n")[1])
                assert check_consistency(note, final, client.consistency_proof(old_size, size), pinned).ok
            # and it keeps going where it stopped
            receipt = client.append(submitter.sign_entry({"kind": "record", "recordId": "after", "record": {}}))
            assert receipt["index"] == size
        with PlainLedgerStore.open(db) as store:
            checkpoint = store.audit()  # every leaf, node and the latest checkpoint recomputed from scratch
            assert checkpoint.size == size + 1
            indices = [e.index for e in store.list_entries(0, 1000)]
            assert indices == list(range(min(size + 1, 1000)))
            assert all(LogLeaf.from_bytes(e.leaf).entry.signer.did == submitter.did for e in store.list_entries(0, 50))
    finally:
        server.stop()


def test_a_store_killed_mid_transaction_keeps_its_last_commit(
    tmp_path: Path, log_key: LogKey, submitter: SubmitterKey
) -> None:
    """An append that raises inside its transaction leaves the tree exactly at the previous commit."""
    with PlainLedgerStore.create(tmp_path / "l.sqlite", log_key) as store:
        store.append_batch(
            [
                LedgerEntry.from_json(submitter.sign_entry({"kind": "record", "recordId": f"a{i}", "record": {}}))
                for i in range(5)
            ]
        )
        before = store.latest_checkpoint()

        def broken_clock() -> Any:
            raise RuntimeError("simulated crash after the writer lock was taken")

        store._clock = broken_clock  # type: ignore[method-assign] - inject a failure inside the transaction
        with pytest.raises(RuntimeError):
            store.append(
                LedgerEntry.from_json(submitter.sign_entry({"kind": "record", "recordId": "lost", "record": {}}))
            )
    with PlainLedgerStore.open(tmp_path / "l.sqlite", log_key) as store:
        assert store.latest_checkpoint() == before
        assert store.audit().size == 5
        assert (
            store.append(
                LedgerEntry.from_json(submitter.sign_entry({"kind": "record", "recordId": "lost", "record": {}}))
            ).index
            == 5
        )
