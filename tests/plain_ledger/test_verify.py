"""Offline evidence checks: check_inclusion / check_consistency list every check with stable problem codes."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from vcgate.adapters.plain_ledger import (
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    LedgerEntry,
    LogKey,
    PlainLedgerStore,
    SubmitterKey,
    check_consistency,
    check_inclusion,
    sign_checkpoint,
)
from vcgate.canonical_schema import InputError


@pytest.fixture
def filled(tmp_path: Path, log_key: LogKey, submitter: SubmitterKey) -> Iterator[PlainLedgerStore]:
    with PlainLedgerStore.create(tmp_path / "l.sqlite", log_key) as store:
        for n in range(3):
            store.append_batch(
                [
                    LedgerEntry.from_json(
                        submitter.sign_entry({"kind": "record", "recordId": f"r{n}-{i}", "record": {"i": i}})
                    )
                    for i in range(4)
                ]
            )
        yield store


def _codes(result: object) -> dict[str, str]:
    return {c.name: (c.problem.code if c.problem else c.status) for c in result.checks}  # type: ignore[attr-defined]


def test_good_evidence_verifies_with_every_check_listed(filled: PlainLedgerStore, log_key: LogKey) -> None:
    result = check_inclusion(
        filled.get(5).leaf, filled.inclusion_proof(5), filled.latest_checkpoint(), log_key.verifier.to_vkey()
    )
    assert result.status == "verified"
    assert [c.name for c in result.checks] == [
        "leaf_format",
        "entry_signature",
        "checkpoint_signature",
        "inclusion_proof",
    ]
    assert result.checkpoint is not None
    assert result.checkpoint.size == 12
    assert result.leaf is not None
    assert result.leaf.entry.record_id == "r1-1"


def test_an_older_checkpoint_and_its_proof_also_verify(filled: PlainLedgerStore, log_key: LogKey) -> None:
    assert check_inclusion(filled.get(2).leaf, filled.inclusion_proof(2, 4), filled.checkpoint(4), log_key.verifier).ok


def _flip_leaf(leaf: bytes) -> bytes:
    return leaf.replace(b'"i":1', b'"i":7')


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered leaf", {"leaf_format": "passed", "entry_signature": "PLAIN_LEDGER_SIGNATURE_INVALID"}),
        ("tampered log time", {"inclusion_proof": "PLAIN_LEDGER_INCLUSION_PROOF_INVALID"}),
        ("non-canonical leaf", {"leaf_format": "PLAIN_LEDGER_LEAF_MALFORMED"}),
        ("proof for another index", {"inclusion_proof": "PLAIN_LEDGER_INCLUSION_PROOF_INVALID"}),
        ("proof hash flipped", {"inclusion_proof": "PLAIN_LEDGER_INCLUSION_PROOF_INVALID"}),
        ("proof for another size", {"inclusion_proof": "PLAIN_LEDGER_PROOF_SIZE_MISMATCH"}),
        (
            "checkpoint by another key",
            {"checkpoint_signature": "PLAIN_LEDGER_CHECKPOINT_SIGNATURE_INVALID", "inclusion_proof": "not_applicable"},
        ),
        ("checkpoint root rewritten", {"checkpoint_signature": "PLAIN_LEDGER_CHECKPOINT_SIGNATURE_INVALID"}),
        ("checkpoint garbage", {"checkpoint_signature": "PLAIN_LEDGER_CHECKPOINT_MALFORMED"}),
        ("checkpoint of another origin", {"checkpoint_signature": "PLAIN_LEDGER_CHECKPOINT_ORIGIN_MISMATCH"}),
    ],
)
def test_bad_evidence_fails_the_right_check(
    filled: PlainLedgerStore, log_key: LogKey, case: str, expected: dict[str, str]
) -> None:
    leaf, proof, note = filled.get(5).leaf, filled.inclusion_proof(5), filled.latest_checkpoint()
    if case == "tampered leaf":
        leaf = _flip_leaf(leaf)
    elif case == "tampered log time":
        leaf = leaf[:-6] + (b"1" if leaf[-6:-5] != b"1" else b"2") + leaf[-5:]
    elif case == "non-canonical leaf":
        leaf = b" " + leaf
    elif case == "proof for another index":
        proof = replace(proof, index=4)
    elif case == "proof hash flipped":
        proof = replace(proof, hashes=(bytes([proof.hashes[0][0] ^ 1]) + proof.hashes[0][1:], *proof.hashes[1:]))
    elif case == "proof for another size":
        proof = filled.inclusion_proof(5, 8)
    elif case == "checkpoint by another key":
        note = sign_checkpoint(
            Checkpoint(log_key.origin, 12, filled.root_at(12)), LogKey.generate(log_key.origin).signer
        )
    elif case == "checkpoint root rewritten":
        lines = note.split("\n")
        lines[2] = base64.b64encode(b"\x00" * 32).decode()
        note = "\n".join(lines)
    elif case == "checkpoint garbage":
        note = "hello"
    elif case == "checkpoint of another origin":
        note = sign_checkpoint(Checkpoint("elsewhere.example/log", 12, filled.root_at(12)), log_key.signer)
    result = check_inclusion(leaf, proof, note, log_key.verifier.to_vkey())
    assert result.status == "invalid"
    codes = _codes(result)
    for name, code in expected.items():
        assert codes[name] == code, codes
    assert result.entry is None or codes["entry_signature"] == "passed"


def test_an_unusable_pinned_key_is_an_error_not_a_verdict(filled: PlainLedgerStore) -> None:
    result = check_inclusion(filled.get(0).leaf, filled.inclusion_proof(0), filled.latest_checkpoint(), "junk")
    assert result.status == "error"
    assert result.check("checkpoint_signature").problem.code == "PLAIN_LEDGER_LOG_KEY_INVALID"  # type: ignore[union-attr]


def test_consistency_between_checkpoints(filled: PlainLedgerStore, log_key: LogKey) -> None:
    old, new = filled.checkpoint(4), filled.latest_checkpoint()
    assert check_consistency(old, new, filled.consistency_proof(4), log_key.verifier).ok
    # a log that rewrote entry 0 after publishing size 4: same key, a different history
    forged_root = bytes(32)
    forked = sign_checkpoint(Checkpoint(log_key.origin, 4, forged_root), log_key.signer)
    result = check_consistency(old, forked, ConsistencyProof(4, 4, ()), log_key.verifier)
    assert _codes(result)["consistency_proof"] == "PLAIN_LEDGER_FORK_DETECTED"
    rewritten = sign_checkpoint(Checkpoint(log_key.origin, 12, forged_root), log_key.signer)
    result = check_consistency(old, rewritten, filled.consistency_proof(4), log_key.verifier)
    assert _codes(result)["consistency_proof"] == "PLAIN_LEDGER_CONSISTENCY_PROOF_INVALID"
    result = check_consistency(new, old, filled.consistency_proof(4), log_key.verifier)
    assert _codes(result)["consistency_proof"] == "PLAIN_LEDGER_CHECKPOINT_ROLLBACK"
    result = check_consistency(old, new, filled.consistency_proof(8), log_key.verifier)
    assert _codes(result)["consistency_proof"] == "PLAIN_LEDGER_PROOF_SIZE_MISMATCH"
    result = check_consistency(old, "garbage", filled.consistency_proof(4), log_key.verifier)
    assert _codes(result) == {
        "first_checkpoint_signature": "passed",
        "second_checkpoint_signature": "PLAIN_LEDGER_CHECKPOINT_MALFORMED",
        "consistency_proof": "not_applicable",
    }


def test_proof_json_round_trip_and_strict_parsing(filled: PlainLedgerStore) -> None:
    proof = filled.inclusion_proof(5)
    assert InclusionProof.from_json(proof.to_json()) == proof
    cproof = filled.consistency_proof(4)
    assert ConsistencyProof.from_json(cproof.to_json()) == cproof
    for bad in [
        {"index": -1, "treeSize": 3, "hashes": []},
        {"index": 0, "treeSize": 3, "hashes": ["AAAA"]},
        {"index": True, "treeSize": 3, "hashes": []},
        {"index": 0, "treeSize": 3, "hashes": "x"},
    ]:
        with pytest.raises(InputError):
            InclusionProof.from_json(bad)
