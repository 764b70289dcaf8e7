"""Proof sets and proof chains (VC Data Integrity §4.3-§4.5): every proof verifies, the policy applies to each,
a chained proof signs the proofs it names. Keys and credentials are generated here."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from vcgate.gateway import Policy, Verifier
from vcgate.gateway.verification._dids import DidResolver
from vcgate.gateway.verification._keys import KeyPair
from vcgate.gateway.verification._proofs import ProofError, sign

V2 = "https://www.w3.org/ns/credentials/v2"
T0 = datetime(2026, 2, 1, tzinfo=UTC)
AT = datetime(2026, 2, 2, tzinfo=UTC)


def _credential(issuer: str) -> dict[str, Any]:
    return {
        "@context": [V2, {"@vocab": "https://vocab.vcgate.test#"}],
        "id": "urn:uuid:0b6f8a52-11c4-4a8e-9d2c-5d2f3e0e7a10",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:web:importer.vcgate.test", "portOfEntry": "2704"},
    }


def _verifier(**overrides: Any) -> Verifier:
    raw = dict(Policy.default().raw)
    raw.update(overrides)
    return Verifier(Policy.from_mapping(raw), DidResolver.offline())


@pytest.fixture(scope="module")
def keys() -> dict[str, KeyPair]:
    return {"issuer": KeyPair.generate("ed25519"), "notary": KeyPair.generate("p256")}


def _codes(result: Any) -> list[str]:
    return [p.code for p in result.problems]


def test_proof_set_of_issuer_and_cosigner_verifies(keys: dict[str, KeyPair]) -> None:
    issuer, notary = keys["issuer"], keys["notary"]
    once = sign(_credential(issuer.controller), issuer, created=T0)
    twice = sign(once, notary, suite="ecdsa-rdfc-2019", created=T0)
    assert isinstance(twice["proof"], list)
    assert len(twice["proof"]) == 2
    result = _verifier().check(twice, at=AT)
    assert result.status == "verified", _codes(result)
    assert sum(c.name == "signature" and c.status == "passed" for c in result.checks) == 2


def test_every_proof_of_a_set_must_verify(keys: dict[str, KeyPair]) -> None:
    issuer, notary = keys["issuer"], keys["notary"]
    twice = sign(sign(_credential(issuer.controller), issuer, created=T0), notary, suite="ecdsa-jcs-2019", created=T0)
    broken = copy.deepcopy(twice)
    broken["proof"][1]["proofValue"] = twice["proof"][0]["proofValue"]
    result = _verifier().check(broken, at=AT)
    assert result.status == "invalid"
    assert [(p.code, p.pointer) for p in result.problems] == [("SIGNATURE_INVALID", "/proof/1/proofValue")]


def test_policy_applies_to_every_proof(keys: dict[str, KeyPair]) -> None:
    issuer, notary = keys["issuer"], keys["notary"]
    twice = sign(sign(_credential(issuer.controller), issuer, created=T0), notary, suite="ecdsa-rdfc-2019", created=T0)
    strict = _verifier(accepted_suites=["eddsa-rdfc-2022"])
    result = strict.check(twice, at=AT)
    assert [(p.code, p.pointer) for p in result.problems] == [("CRYPTOSUITE_NOT_ACCEPTED", "/proof/1")]


def test_issuer_must_sign_one_proof_of_the_set(keys: dict[str, KeyPair]) -> None:
    notary = keys["notary"]
    other = KeyPair.generate("ed25519")
    doc = sign(
        sign(_credential(keys["issuer"].controller), other, created=T0), notary, created=T0, suite="ecdsa-rdfc-2019"
    )
    assert _codes(_verifier().check(doc, at=AT)) == ["ISSUER_KEY_MISMATCH"]


def test_chained_proof_signs_the_previous_one(keys: dict[str, KeyPair]) -> None:
    issuer, notary = keys["issuer"], keys["notary"]
    first = sign(_credential(issuer.controller), notary, suite="ecdsa-rdfc-2019", created=T0, extra={"id": "urn:p:1"})
    chained = sign(first, issuer, created=T0, previous_proof="urn:p:1")
    assert chained["proof"][1]["previousProof"] == "urn:p:1"
    assert _verifier().check(chained, at=AT).status == "verified"
    # the chained proof covers the first: swapping the first for another valid proof breaks the second only
    replacement = sign(
        _credential(issuer.controller), notary, suite="ecdsa-rdfc-2019", created=AT, extra={"id": "urn:p:1"}
    )
    swapped = copy.deepcopy(chained)
    swapped["proof"][0] = replacement["proof"]
    assert [(p.code, p.pointer) for p in _verifier().check(swapped, at=AT).problems] == [
        ("SIGNATURE_INVALID", "/proof/1/proofValue")
    ]


@pytest.mark.parametrize(
    ("previous", "code"),
    [
        ("urn:p:absent", "PREVIOUS_PROOF_MISSING"),
        (["urn:p:1", "urn:p:9"], "PREVIOUS_PROOF_MISSING"),
        (7, "PREVIOUS_PROOF_INVALID"),
    ],
)
def test_previous_proof_must_name_a_proof(keys: dict[str, KeyPair], previous: Any, code: str) -> None:
    issuer, notary = keys["issuer"], keys["notary"]
    first = sign(_credential(issuer.controller), notary, suite="ecdsa-rdfc-2019", created=T0, extra={"id": "urn:p:1"})
    chained = sign(first, issuer, created=T0, previous_proof="urn:p:1")
    chained["proof"][1]["previousProof"] = previous
    assert code in _codes(_verifier().check(chained, at=AT))


def test_sign_refuses_a_chain_to_an_unknown_proof(keys: dict[str, KeyPair]) -> None:
    first = sign(_credential(keys["issuer"].controller), keys["issuer"], created=T0)
    with pytest.raises(ProofError, match="names no proof"):
        sign(first, keys["notary"], suite="ecdsa-rdfc-2019", created=T0, previous_proof="urn:p:none")
