"""Fork and rewrite detection: two logs that share one key but not one history are caught by the evidence checker
(through its store of checkpoints seen before) and by the adapter itself (a consistency proof against the tree head
it saw before)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.plain_ledger import (
    LogKey,
    MemoryCheckpointStore,
    PlainLedgerAdapterError,
    PlainLedgerEvidenceChecker,
    SubmitterKey,
)

from .conftest import Ledger, sample, serve_ledger

pytestmark = pytest.mark.server

AT = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def forked(tmp_path_factory: pytest.TempPathFactory, gs1: SubmitterKey) -> Iterator[tuple[Ledger, Ledger]]:
    """Two ledgers signed by one log key (same ledger id, same origin) with different histories of two entries."""
    key = LogKey.generate("test.vcgate.example/forked")
    a = serve_ledger(tmp_path_factory.mktemp("fork-a"), key)
    b = serve_ledger(tmp_path_factory.mktemp("fork-b"), key)
    try:
        for ledger in (a, b):
            ledger.append(gs1, sample("prefix"), record_id="prefix-licence")
            ledger.append(gs1, sample("key"), record_id="key-licence")
        yield a, b
    finally:
        for ledger in (a, b):
            ledger.client.close()
            ledger.server.stop()


def _credential(ledger: Ledger, index: int) -> dict[str, Any]:
    adapter = ledger.adapter()
    return adapter.translate(adapter.fetch(f"entries/{index}")).to_json()


def _consistency(checker: PlainLedgerEvidenceChecker, credential: dict[str, Any], vkey: str) -> Any:
    result = checker.check(credential, credential["evidence"][0], {"kind": "plain", "logVerifierKey": vkey}, at=AT)
    return result, result.check("plain.consistency")


def test_same_size_fork_is_detected(forked: tuple[Ledger, Ledger]) -> None:
    a, b = forked
    assert a.key.ledger_id == b.key.ledger_id
    checker = PlainLedgerEvidenceChecker(MemoryCheckpointStore())
    first, check = _consistency(checker, _credential(a, 0), a.vkey)
    assert (first.status, check.status) == ("verified", "passed")
    # The other history verifies on its own — its checkpoint is signed by the same key …
    alone, _ = _consistency(PlainLedgerEvidenceChecker(), _credential(b, 0), b.vkey)
    assert alone.status == "verified"
    # … but not next to what the checker saw before: same tree size, other root; same index, other leaf.
    second, check = _consistency(checker, _credential(b, 0), b.vkey)
    assert second.status == "invalid"
    assert check.status == "failed"
    assert [p.code for p in check.problems] == ["PLAIN_LEDGER_FORK_DETECTED", "PLAIN_LEDGER_FORK_DETECTED"]
    assert [p.pointer for p in check.problems] == ["/proofMaterial/checkpoint", "/proofMaterial/inclusionProof"]


def test_fork_at_another_size_is_detected_through_a_shared_leaf(
    forked: tuple[Ledger, Ledger], gs1: SubmitterKey, tmp_path: Path
) -> None:
    a, b = forked
    checker = PlainLedgerEvidenceChecker(MemoryCheckpointStore())
    assert _consistency(checker, _credential(a, 1), a.vkey)[0].status == "verified"
    b.append(gs1, sample("entry"))  # b's tree is now bigger: no same-size checkpoint to compare
    result, check = _consistency(checker, _credential(b, 1), b.vkey)
    assert result.status == "invalid"
    assert [p.code for p in check.problems] == ["PLAIN_LEDGER_FORK_DETECTED"]


def test_store_round_trips_and_keeps_the_first_history(forked: tuple[Ledger, Ledger]) -> None:
    a, b = forked
    store = MemoryCheckpointStore()
    PlainLedgerEvidenceChecker(store).check(
        _credential(a, 0), _credential(a, 0)["evidence"][0], {"kind": "plain", "logVerifierKey": a.vkey}, at=AT
    )
    reopened = MemoryCheckpointStore.from_json(store.to_json())
    assert reopened.to_json() == store.to_json()
    _, check = _consistency(PlainLedgerEvidenceChecker(reopened), _credential(b, 0), b.vkey)
    assert check.status == "failed"


def test_carried_consistency_proof_is_verified(tmp_path: Path, gs1: SubmitterKey) -> None:
    ledger = serve_ledger(tmp_path / "grow")
    try:
        first = ledger.append(gs1, sample("prefix"))
        ledger.append(gs1, sample("key"))
        adapter = ledger.adapter()
        assert len([r for p in adapter.records() for r in p.records]) == 2  # the adapter saw tree size 2
        ledger.append(gs1, sample("entry"))
        record = adapter.fetch(f"entries/{first}")  # proven against tree size 3, linked back to 2
        credential = adapter.translate(record).to_json()
        carried = credential["evidence"][0]["proofMaterial"]["consistencyProof"]
        assert (carried["first"], carried["second"]) == (2, 3)

        store = MemoryCheckpointStore()
        result, check = _consistency(PlainLedgerEvidenceChecker(store), credential, ledger.vkey)
        assert result.status == "verified"
        assert "consistency proof 2→3 verified" in check.detail
        assert store.sizes(ledger.vkey) == (2, 3)  # both tree heads are now known to the checker

        tampered = copy.deepcopy(credential)
        proof = tampered["evidence"][0]["proofMaterial"]["consistencyProof"]
        raw = bytearray(base64.b64decode(proof["hashes"][0]))
        raw[0] ^= 1
        proof["hashes"][0] = base64.b64encode(bytes(raw)).decode()
        result, check = _consistency(PlainLedgerEvidenceChecker(), tampered, ledger.vkey)
        assert result.status == "invalid"
        assert [p.code for p in check.problems] == ["PLAIN_LEDGER_CONSISTENCY_PROOF_INVALID"]
    finally:
        ledger.client.close()
        ledger.server.stop()


def test_adapter_refuses_a_log_that_rewrote_its_history(tmp_path: Path, gs1: SubmitterKey) -> None:
    """The ledger behind one URL is replaced by another history under the same key: the adapter's next pass fails
    before it translates anything (larger: consistency proof fails; same size: fork; smaller: rollback)."""
    key = LogKey.generate("test.vcgate.example/rewritten")
    original = serve_ledger(tmp_path / "original", key)
    port = original.server.port
    for _ in range(2):
        original.append(gs1, sample("prefix"))
    adapter = original.adapter()
    assert len([r for p in adapter.records() for r in p.records]) == 2
    same_size = original.adapter()
    list(same_size.records())
    original.server.stop()

    rewritten = serve_ledger(tmp_path / "rewritten", key, port)
    try:
        for _ in range(2):
            rewritten.append(gs1, sample("key"))
        with pytest.raises(PlainLedgerAdapterError) as caught:
            list(same_size.records())
        assert caught.value.problem.code == "PLAIN_LEDGER_FORK_DETECTED"

        rewritten.append(gs1, sample("key"))
        with pytest.raises(PlainLedgerAdapterError) as caught:
            list(adapter.records())
        assert caught.value.problem.code == "PLAIN_LEDGER_CONSISTENCY_PROOF_INVALID"
        assert adapter.health().status == "down"
        seen_bigger = rewritten.adapter()
        assert len([r for p in seen_bigger.records() for r in p.records]) == 3
    finally:
        rewritten.client.close()
        rewritten.server.stop()

    restored = serve_ledger(tmp_path / "original", key, port)  # the first history again: smaller than 3
    try:
        with pytest.raises(PlainLedgerAdapterError) as caught:
            list(seen_bigger.records())
        assert caught.value.problem.code == "PLAIN_LEDGER_CHECKPOINT_ROLLBACK"
    finally:
        restored.client.close()
        restored.server.stop()
