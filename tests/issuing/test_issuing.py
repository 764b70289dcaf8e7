"""The issuing service signs translations in partner and witness mode and refuses what it must not sign."""

from __future__ import annotations

import copy
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.sdk import CredentialMapping, apply_mapping, check_replay
from vcgate.gateway import DidResolver, IssuingError, IssuingService, KeyPair, Policy, Verifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sdk._helpers import INVOICE_MAPPING, INVOICE_RECORD, make_record

CREATED = datetime(2024, 6, 1, tzinfo=UTC)
AT = datetime(2024, 7, 1, tzinfo=UTC)


def _sample_raw() -> dict[str, Any]:
    return copy.deepcopy(INVOICE_RECORD)


def _mapping(mode: str, issuer: str | None = None) -> CredentialMapping:
    doc = copy.deepcopy(INVOICE_MAPPING)
    # A schema-valid invoice with no external status list (these tests run offline).
    del doc["credential"]["credentialStatus"]
    del doc["credential"]["credentialSubject"]["fields"]["comments"]
    price = doc["credential"]["credentialSubject"]["fields"]["totalPaymentDue"]["fields"]["price"]
    price["number"] = {"type": "decimal", "scale": -2}
    doc["credential"]["credentialSubject"]["fields"]["buyer"] = {
        "fields": {"type": {"const": ["Organization"]}, "name": {"const": "Importer Inc"}}
    }
    doc["credential"]["issuer"] = (
        {"mode": "partner", "id": {"const": issuer}} if mode == "partner" else {"mode": "witness"}
    )
    return CredentialMapping.from_json(doc)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(Policy.default(), DidResolver.offline())


_LEDGER_STAGES = ("evidence", "binding", "replay")


def _verified_but_the_ledger(result: Any) -> bool:
    """Every check passed except the ledger stages, which cannot be decided here: the test record's ledger
    (``test:ledger-1``) has no trust anchor, mapping registry or party registry (the one verifier runs them too)."""
    undecided = [c for c in result.checks if c.status in ("failed", "error")]
    ledger = [c for c in undecided if c.stage in _LEDGER_STAGES or c.name.startswith("ledger_")]
    return (
        undecided == ledger
        and all(c.status == "error" for c in ledger)
        and any(c.stage == "proof" for c in result.checks)
    )


def test_partner_mode_signs_and_verifies(verifier: Verifier) -> None:
    partner = KeyPair.generate("ed25519")
    mapping = _mapping("partner", partner.controller)
    translation = apply_mapping(mapping, make_record(_sample_raw()))
    signed = IssuingService.for_key(partner).issue(translation, created=CREATED)
    assert signed["issuer"] == partner.controller
    result = verifier.check(json.dumps(signed), at=AT)
    assert _verified_but_the_ledger(result), result.to_json()
    assert check_replay(signed, mapping).status == "verified"


def test_witness_mode_signs_as_gateway(verifier: Verifier) -> None:
    gateway = KeyPair.generate("ed25519")
    mapping = _mapping("witness")
    translation = apply_mapping(mapping, make_record(_sample_raw()), witness=gateway.controller)
    signed = IssuingService.for_key(gateway, "eddsa-jcs-2022").issue(translation, created=CREATED)
    assert signed["evidence"][0]["issuanceMode"] == "witness"
    assert signed["evidence"][0]["nativeSigner"]["did"] == "did:example:signer"
    assert _verified_but_the_ledger(verifier.check(signed, at=AT))


def test_refuses_credential_of_another_issuer() -> None:
    partner, other = KeyPair.generate("ed25519"), KeyPair.generate("ed25519")
    translation = apply_mapping(_mapping("partner", partner.controller), make_record(_sample_raw()))
    with pytest.raises(IssuingError, match="names issuer"):
        IssuingService.for_key(other).issue(translation, created=CREATED)


def test_refuses_invalid_credential() -> None:
    partner = KeyPair.generate("ed25519")
    translation = apply_mapping(_mapping("partner", partner.controller), make_record(_sample_raw()))
    broken = translation.to_json()
    del broken["credentialSubject"]
    with pytest.raises(IssuingError, match="CREDENTIAL_SUBJECT_MISSING"):
        IssuingService.for_key(partner).issue(broken, created=CREATED)


def test_refuses_already_signed() -> None:
    partner = KeyPair.generate("ed25519")
    translation = apply_mapping(_mapping("partner", partner.controller), make_record(_sample_raw()))
    service = IssuingService.for_key(partner)
    signed = service.issue(translation, created=CREATED)
    with pytest.raises(IssuingError, match="already has a proof"):
        service.issue(signed, created=CREATED)


def test_suite_must_fit_key() -> None:
    with pytest.raises(IssuingError, match="Ed25519"):
        IssuingService.for_key(KeyPair.generate("p256"), "eddsa-rdfc-2022")
    with pytest.raises(IssuingError, match="unknown cryptosuite"):
        IssuingService.for_key(KeyPair.generate("ed25519"), "rsa-2000")
