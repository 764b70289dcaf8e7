"""The offline evidence checker: changing the record, the proof or the tree head is caught, each with its code; an
evidence that reaches no anchor is an error, never verified."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785

from vcgate.adapters.plain_ledger import (
    Checkpoint,
    LogKey,
    NoteSigner,
    PlainLedgerEvidenceChecker,
    SubmitterKey,
    sign_checkpoint,
)
from vcgate.adapters.sdk import EvidenceResult
from vcgate.canonical_schema import b64url, b64url_decode

from .conftest import Ledger, sample

pytestmark = pytest.mark.server

AT = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def credential(ledger: Ledger, gs1: SubmitterKey) -> dict[str, Any]:
    """An unsigned translation of a freshly appended record (the evidence checker ignores the credential proof)."""
    for _ in range(3):  # a tree of several entries, so the audit path is not empty
        ledger.append(gs1, sample("entry"))
    index = ledger.append(gs1, sample("prefix"))
    adapter = ledger.adapter()
    return adapter.translate(adapter.fetch(f"entries/{index}")).to_json()


def _check(ledger: Ledger, credential: dict[str, Any], anchor: dict[str, Any] | None = None) -> EvidenceResult:
    anchor = {"kind": "plain", "logVerifierKey": ledger.vkey} if anchor is None else anchor
    return PlainLedgerEvidenceChecker().check(credential, credential["evidence"][0], anchor, at=AT)


def _failed(result: EvidenceResult) -> list[tuple[str, str]]:
    return [(c.name, p.code) for c in result.checks if c.status == "failed" for p in c.problems]


def test_untouched_evidence_verifies(ledger: Ledger, credential: dict[str, Any]) -> None:
    result = _check(ledger, credential)
    assert result.status == "verified", result.to_json()
    assert result.check("plain.consistency").status == "not_applicable"  # no store, no carried proof


def _set(path: str, value: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    keys = path.split("/")

    def change(evidence: dict[str, Any]) -> None:
        target = evidence
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last: Any = int(keys[-1]) if isinstance(target, list) else keys[-1]
        target[last] = value(target[last])

    return change


def _digest_of_raw(evidence: dict[str, Any]) -> None:
    evidence["recordDigest"] = "sha256:" + hashlib.sha256(rfc8785.dumps(evidence["rawRecord"])).hexdigest()


def _flip_first_bit(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _note_lines(note: str, line: int, value: Callable[[str], str]) -> str:
    lines = note.split("\n")
    lines[line] = value(lines[line])
    return "\n".join(lines)


def _other_signature(signature: str) -> str:
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x40
    return b64url(bytes(raw))


TAMPERS: dict[str, tuple[Callable[[dict[str, Any]], None], list[tuple[str, str]]]] = {
    "record changed": (
        _set("rawRecord/companyPrefix", lambda _: "0999999"),
        [
            ("plain.record_digest", "PLAIN_LEDGER_RECORD_DIGEST_MISMATCH"),
            ("plain.entry_signature", "PLAIN_LEDGER_SIGNATURE_INVALID"),
            ("plain.inclusion_proof", "PLAIN_LEDGER_INCLUSION_PROOF_INVALID"),
        ],
    ),
    "record and its digest changed": (
        lambda ev: _digest_of_raw(_set("rawRecord/licensee/name", lambda _: "Mallory Apparel")(ev) or ev),
        [
            ("plain.entry_signature", "PLAIN_LEDGER_SIGNATURE_INVALID"),
            ("plain.inclusion_proof", "PLAIN_LEDGER_INCLUSION_PROOF_INVALID"),
        ],
    ),
    "entry signature changed": (
        _set("proofMaterial/entry/signature", _other_signature),
        [
            ("plain.entry_signature", "PLAIN_LEDGER_SIGNATURE_INVALID"),
            ("plain.inclusion_proof", "PLAIN_LEDGER_INCLUSION_PROOF_INVALID"),
        ],
    ),
    "log time changed": (
        _set("proofMaterial/loggedAt", lambda _: "2020-01-01T00:00:00.000Z"),
        [("plain.inclusion_proof", "PLAIN_LEDGER_INCLUSION_PROOF_INVALID")],
    ),
    "audit path changed": (
        _set("proofMaterial/inclusionProof/hashes/0", _flip_first_bit),
        [("plain.inclusion_proof", "PLAIN_LEDGER_INCLUSION_PROOF_INVALID")],
    ),
    "proof for another index": (
        _set("proofMaterial/inclusionProof/index", lambda i: i - 1),
        [("plain.inclusion_proof", "PLAIN_LEDGER_INCLUSION_PROOF_INVALID")],
    ),
    "proof for another tree size": (
        _set("proofMaterial/inclusionProof/treeSize", lambda n: n + 1),
        [("plain.inclusion_proof", "PLAIN_LEDGER_PROOF_SIZE_MISMATCH")],
    ),
    "tree head root changed": (
        _set("proofMaterial/checkpoint", lambda note: _note_lines(note, 2, _flip_first_bit)),
        [("plain.checkpoint_signature", "PLAIN_LEDGER_CHECKPOINT_SIGNATURE_INVALID")],
    ),
    "tree head size changed": (
        _set("proofMaterial/checkpoint", lambda note: _note_lines(note, 1, lambda n: str(int(n) + 1))),
        [("plain.checkpoint_signature", "PLAIN_LEDGER_CHECKPOINT_SIGNATURE_INVALID")],
    ),
    "locator changed": (
        _set("locator", lambda _: "entries/0"),
        [("plain.record_facts", "PLAIN_LEDGER_EVIDENCE_MISMATCH")],
    ),
    "ledger height changed": (
        _set("ledgerHeight", lambda h: h + 5),
        [("plain.record_facts", "PLAIN_LEDGER_EVIDENCE_MISMATCH")],
    ),
    "ledger time changed": (
        _set("ledgerTime", lambda _: "2020-01-01T00:00:00Z"),
        [("plain.record_facts", "PLAIN_LEDGER_EVIDENCE_MISMATCH")],
    ),
    "native signer changed": (
        _set("nativeSigner/did", lambda _: "did:web:mallory.example"),
        [("plain.record_facts", "PLAIN_LEDGER_EVIDENCE_MISMATCH")],
    ),
    "checkpoint missing": (
        lambda ev: ev["proofMaterial"].pop("checkpoint") and None,
        [("plain.evidence", "PLAIN_LEDGER_EVIDENCE_MALFORMED")],
    ),
    "another ledger kind": (
        _set("ledgerKind", lambda _: "csv"),
        [("plain.evidence", "PLAIN_LEDGER_EVIDENCE_MALFORMED")],
    ),
}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_tampering_is_caught_with_its_code(ledger: Ledger, credential: dict[str, Any], case: str) -> None:
    change, expected = TAMPERS[case]
    tampered = copy.deepcopy(credential)
    change(tampered["evidence"][0])
    result = _check(ledger, tampered)
    assert result.status == "invalid"
    assert _failed(result) == expected


def test_checkpoint_resigned_by_another_key_with_the_same_name(ledger: Ledger, credential: dict[str, Any]) -> None:
    # A forger who knows the log's name but not its key signs a tree head of their own.
    forger = NoteSigner.generate(ledger.key.origin)
    tampered = copy.deepcopy(credential)
    material = tampered["evidence"][0]["proofMaterial"]
    size = material["inclusionProof"]["treeSize"]
    material["checkpoint"] = sign_checkpoint(Checkpoint(ledger.key.origin, size, bytes(32)), forger)
    result = _check(ledger, tampered)
    assert _failed(result) == [("plain.checkpoint_signature", "PLAIN_LEDGER_CHECKPOINT_SIGNATURE_INVALID")]


@pytest.mark.parametrize(
    ("anchor", "code"),
    [
        ({"kind": "plain"}, "PLAIN_LEDGER_NO_ANCHOR"),
        ({"kind": "plain", "logVerifierKey": "not a key"}, "PLAIN_LEDGER_NO_ANCHOR"),
        (
            {"kind": "plain", "logVerifierKey": LogKey.generate("other.example/log").verifier.to_vkey()},
            "PLAIN_LEDGER_ANCHOR_MISMATCH",
        ),
    ],
)
def test_evidence_without_its_anchor_is_an_error(
    ledger: Ledger, credential: dict[str, Any], anchor: dict[str, Any], code: str
) -> None:
    result = _check(ledger, credential, anchor)
    assert result.status == "error"
    check = result.check("plain.anchor")
    assert check.status == "error"
    assert [p.code for p in check.problems] == [code]


def test_record_logged_after_the_check_instant_fails(ledger: Ledger, credential: dict[str, Any]) -> None:
    result = PlainLedgerEvidenceChecker().check(
        credential,
        credential["evidence"][0],
        {"kind": "plain", "logVerifierKey": ledger.vkey},
        at=datetime(2001, 1, 1, tzinfo=UTC),
    )
    assert _failed(result) == [("plain.time", "PLAIN_LEDGER_RECORD_AFTER_CHECK_TIME")]
