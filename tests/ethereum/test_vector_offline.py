"""The stored evidence vector (tests/fixtures/ethereum, made on anvil by generate_vectors.py) checked offline, no
node: what a customs node does with evidence it receives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.ethereum import (
    CheckpointAnchor,
    EasSchema,
    EthereumEvidence,
    check_eas_attestation,
    check_eas_revocation,
)

VECTOR = Path(__file__).resolve().parents[1] / "fixtures" / "ethereum" / "eas-licence-evidence.json"
AT = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTOR.read_text())
    return data


def _anchor(vector: dict[str, Any]) -> CheckpointAnchor:
    checkpoint = vector["checkpoint"]
    return CheckpointAnchor.of(
        checkpoint["chainId"], {checkpoint["blockNumber"]: checkpoint["blockHash"]}, checkpoint["finalityDepth"]
    )


def test_stored_attestation_evidence_passes_offline(vector: dict[str, Any]) -> None:
    result = check_eas_attestation(
        vector["evidence"], _anchor(vector), at=AT, eas_address=vector["easAddress"], schema=EasSchema(vector["schema"])
    )
    assert result.status == "verified", result.problems
    assert result.attestation is not None
    assert result.fields is not None
    assert "0x" + result.attestation.uid.hex() == vector["expected"]["uid"]
    assert result.fields["licenseId"] == vector["expected"]["licenseId"]
    assert result.attestation.attester == vector["attester"]
    # The stored JSON is exactly what the model writes back (no lossy fields).
    assert EthereumEvidence.from_json(vector["evidence"]).to_json() == vector["evidence"]


def test_stored_revocation_evidence_passes_offline(vector: dict[str, Any]) -> None:
    checkpoint = vector["revocationCheckpoint"]
    anchor = CheckpointAnchor.of(31337, {checkpoint["blockNumber"]: checkpoint["blockHash"]})
    uid = bytes.fromhex(vector["expected"]["uid"][2:])
    result = check_eas_revocation(
        vector["revocationEvidence"], anchor, at=AT, eas_address=vector["easAddress"], uid=uid
    )
    assert result.status == "verified", result.problems
    assert result.revoked is vector["expected"]["revoked"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda d: d["log"].update(receiptProof="0x00"), "/log/receiptProof"),  # wrong type
        (lambda d: d["log"].update(extra=1), "/log/extra"),  # unknown member
        (lambda d: d.update(locator="tx/0x00/log/0"), "/locator"),  # locator not matching the proofs
        (lambda d: d.update(type="FabricEvidence"), "/type"),
        (lambda d: d["state"]["storage"][0].update(value="12"), "/state/storage/0/value"),
    ],
)
def test_malformed_evidence_names_the_member(vector: dict[str, Any], change: Any, pointer: str) -> None:
    document = json.loads(json.dumps(vector["evidence"]))
    change(document)
    result = check_eas_attestation(document, _anchor(vector), at=AT, eas_address=vector["easAddress"])
    assert result.status == "invalid"
    assert next((p.code, p.pointer) for p in result.problems) == ("ethereum.evidence_malformed", pointer)
