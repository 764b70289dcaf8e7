"""The W3C VC-JOSE-COSE test suite's vc+jwt cases, with the expected results of its test-mapping.json.

Source and provenance: tests/fixtures/vc-jose-cose/SOURCE.md. The fixture keys are ``JsonWebKey`` verification
methods of the controller ``https://example.issuer/vc-jose-cose`` (an HTTPS URL, not a DID); the suite hands
each implementation its key file, so here a resolver serves that controller document built from
``input/vm-*.json``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vcgate.canonical_schema import InputError, b64url_decode
from vcgate.gateway import (
    DidKeyMethod,
    DidResolver,
    KeyPair,
    Policy,
    StaticStatusListFetcher,
    StatusListChecker,
    Verifier,
    check_vc_jwt,
    jwk_thumbprint,
    sign_vc_jwt,
)
from vcgate.gateway.verification._keys import PrivateKey

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "vc-jose-cose"
INPUT = FIXTURES / "input"
MAPPING = json.loads((FIXTURES / "test-mapping.json").read_text())["JOSETestMapping"]
CONTROLLER = "https://example.issuer/vc-jose-cose"
AT = datetime(2025, 1, 1, tzinfo=UTC)

VERIFY_CASES = {
    name: case for name, case in MAPPING.items() if case["fn"] == "verify" and case["feature"] == "credential_jose"
}
ISSUE_CASES = {
    name: case for name, case in MAPPING.items() if case["fn"] == "issue" and case["feature"] == "credential_jose"
}
#: Why vcgate rejects each failure case (the suite only says "failure").
EXPECTED_CODES = {
    "9. JWT Verification With Unknown Extensions": ["JWT_ALG_NOT_ACCEPTED"],  # ES512 is not in the policy
    "10. JWT Unsecured Credential Verification": ["PROOF_MISSING"],
    "12. JWT Credential with an Invalid Signature": ["SIGNATURE_INVALID"],
    "13. JWT Credential with an Invalid Media Type": ["MEDIA_TYPE_INVALID"],
    "15. JWT Credential with vc and/or vp Claims": ["JWT_CLAIM_FORBIDDEN"],
}


def _vm(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INPUT / name).read_text())
    return data


def controller_document() -> dict[str, Any]:
    vms = [_vm(f"vm-{k}.json") for k in ("p256", "p384", "ed25519", "p521")]
    public = [{k: v for k, v in vm.items() if k != "secretKeyJwk"} for vm in vms]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
        "id": CONTROLLER,
        "verificationMethod": public,
        "assertionMethod": [vm["id"] for vm in public],
    }


class FixtureResolver(DidResolver):
    """did:key, plus the suite's controller document served for its HTTPS controller URL."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        super().__init__({"key": DidKeyMethod()})
        self.documents = documents

    def resolve(self, did: str) -> dict[str, Any]:
        if did in self.documents:
            return self.documents[did]
        return super().resolve(did)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(Policy.default(), FixtureResolver({CONTROLLER: controller_document()}))


def test_mapping_has_the_expected_credential_cases() -> None:
    assert sorted(c["number"] for c in VERIFY_CASES.values()) == [6, 8, 9, 10, 12, 13, 15]
    assert sorted(c["number"] for c in ISSUE_CASES.values()) == [1, 2, 5]


@pytest.mark.parametrize("name", sorted(VERIFY_CASES, key=lambda n: VERIFY_CASES[n]["number"]))
def test_verify_case(name: str, verifier: Verifier) -> None:
    case = VERIFY_CASES[name]
    data = (INPUT / case["input_file"]).read_text()
    result = verifier.check(data, at=AT)
    if case["expected_result"] == "success":
        assert result.status == "verified", result.to_json()
        assert result.format == "jwt"
        assert result.issuer == CONTROLLER
    else:
        assert result.status == "invalid"
        assert [p.code for p in result.problems] == EXPECTED_CODES[name]


def test_fixture_kids_are_thumbprints() -> None:
    for key in ("p256", "p384", "ed25519", "p521"):
        jwk = _vm(f"vm-{key}.json")["publicKeyJwk"]
        assert jwk_thumbprint(jwk) == jwk["kid"]


def test_verify_through_check_vc_jwt_directly(verifier: Verifier) -> None:
    token = (INPUT / "credential-jose-minimal.txt").read_text().strip()
    result = check_vc_jwt(token, verifier, at=AT)
    assert result.verified
    names = [c.name for c in result.checks]
    for expected in ("media_type", "algorithm", "jwt_claims", "verification_method", "signature"):
        assert expected in names
    assert result.credential is not None
    assert result.credential["jti"] == "http://university.example/credentials/1872"


def test_unsecured_credential_is_not_a_jws(verifier: Verifier) -> None:
    result = check_vc_jwt((INPUT / "credential-minimal.json").read_text(), verifier, at=AT)
    assert [p.code for p in result.problems] == ["JWS_MALFORMED"]


@pytest.mark.parametrize("fixture", ["presentation-jose-multiple.txt", "presentation-jose-bad-media-type.txt"])
def test_presentations_are_not_credentials(fixture: str, verifier: Verifier) -> None:
    # vcgate verifies credentials; a vp+jwt given as a credential is rejected by its media type.
    result = verifier.check((INPUT / fixture).read_text(), at=AT)
    assert [p.code for p in result.problems] == ["MEDIA_TYPE_INVALID"]


def _private_from_jwk(jwk: dict[str, str]) -> PrivateKey:
    d = b64url_decode(jwk["d"])
    if jwk["kty"] == "OKP":
        return ed25519.Ed25519PrivateKey.from_private_bytes(d)
    curves: dict[str, ec.EllipticCurve] = {
        "P-256": ec.SECP256R1(),
        "P-384": ec.SECP384R1(),
        "P-521": ec.SECP521R1(),
    }
    return ec.derive_private_key(int.from_bytes(d, "big"), curves[jwk["crv"]])


@pytest.mark.parametrize("name", sorted(ISSUE_CASES, key=lambda n: ISSUE_CASES[n]["number"]))
def test_issue_case(name: str, verifier: Verifier) -> None:
    case = ISSUE_CASES[name]
    vm = _vm(case["key_file"])
    credential = json.loads((INPUT / case["input_file"]).read_text())
    if case["expected_result"] == "failure":
        # Case 5 uses the P-521 key: vcgate has no P-521 support, so no key pair can be made from it.
        with pytest.raises(InputError, match="unsupported curve secp521r1"):
            KeyPair.from_private(_private_from_jwk(vm["secretKeyJwk"]), controller=vm["controller"], vm_id=vm["id"])
        return
    key = KeyPair.from_private(_private_from_jwk(vm["secretKeyJwk"]), controller=vm["controller"], vm_id=vm["id"])
    assert key.public.to_jwk() == {k: vm["publicKeyJwk"][k] for k in key.public.to_jwk()}
    token = sign_vc_jwt(credential, key, kid=vm["publicKeyJwk"]["kid"])
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {
        "alg": vm["publicKeyJwk"]["alg"],
        "kid": vm["publicKeyJwk"]["kid"],
        "typ": "vc+jwt",
        "cty": "vc",
    }
    assert json.loads(b64url_decode(token.split(".")[1])) == credential
    # credential-full.json carries a StatusList2021Entry without statusListCredential (the suite's sample):
    # the signature verifies; the status entry is malformed.
    status = StatusListChecker(StaticStatusListFetcher())
    result = Verifier(verifier.policy, verifier.resolver, status_checker=status).check(token, at=AT)
    proof_checks = {c.name: c.status for c in result.checks if c.stage == "proof"}
    assert proof_checks["signature"] == "passed"
    assert proof_checks["issuer_key_binding"] == "passed"
    if "credentialStatus" in credential:
        assert [(p.code, p.pointer) for p in result.problems] == [
            ("STATUS_ENTRY_MALFORMED", "/credentialStatus/statusListCredential")
        ]
    else:
        assert result.status == "verified", result.to_json()
