"""sign_vc_jwt / check_vc_jwt with generated keys: round trips and each way a vc+jwt can be wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from vcgate.canonical_schema import b64url, b64url_decode
from vcgate.gateway import (
    DidResolver,
    JoseError,
    KeyPair,
    Policy,
    VerificationResult,
    Verifier,
    check_vc_jwt,
    sign_vc_jwt,
)

AT = datetime(2025, 6, 1, tzinfo=UTC)


def cred(issuer: str, **extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:1b9e8f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "Acme"},
        **extra,
    }


def strict_cred(issuer: str, **extra: Any) -> dict[str, Any]:
    """A credential under credentials/v2 only, where undefined terms are issuer-dependent (strict mode)."""
    out = cred(issuer, **extra)
    out["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    out["type"] = ["VerifiableCredential"]
    out["credentialSubject"] = {"id": "did:example:subject"}
    return out


def forge(header: dict[str, Any], payload: dict[str, Any], key: KeyPair) -> str:
    """A compact JWS with any header: for cases sign_vc_jwt refuses to make."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    return signing_input + "." + b64url(key.sign(signing_input.encode()))


def verify(token: str, policy: Policy | None = None) -> VerificationResult:
    return Verifier(policy or Policy.default(), DidResolver.offline()).check(token, at=AT)


def codes(result: VerificationResult) -> list[str]:
    return [p.code for p in result.problems]


@pytest.mark.parametrize(("key_type", "alg"), [("ed25519", "EdDSA"), ("p256", "ES256"), ("p384", "ES384")])
def test_round_trip(key_type: str, alg: str) -> None:
    key = KeyPair.generate(key_type)
    token = sign_vc_jwt(cred(key.controller), key)
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {"alg": alg, "kid": key.verification_method, "typ": "vc+jwt", "cty": "vc"}
    result = verify(token)
    assert result.status == "verified", result.to_json()
    assert result.format == "jwt"
    assert result.issuer == key.controller
    assert result.credential == cred(key.controller)


def test_secp256k1_es256k_is_not_in_the_default_policy() -> None:
    key = KeyPair.generate("secp256k1")
    token = sign_vc_jwt(cred(key.controller), key)
    assert codes(verify(token)) == ["JWT_ALG_NOT_ACCEPTED"]
    policy = Policy.from_mapping({**Policy.default().raw, "name": "k1", "accepted_jwt_algorithms": ["EdDSA", "ES256K"]})
    assert verify(token, policy).status == "verified"


def test_tampered_payload_fails_signature() -> None:
    key = KeyPair.generate()
    header, _, signature = sign_vc_jwt(cred(key.controller), key).split(".")
    evil = cred(key.controller)
    evil["credentialSubject"]["name"] = "Mallory"
    token = ".".join([header, b64url(json.dumps(evil).encode()), signature])
    assert codes(verify(token)) == ["SIGNATURE_INVALID"]


def test_signature_from_another_key() -> None:
    issuer, other = KeyPair.generate(), KeyPair.generate()
    # claims to be signed by the issuer's key, is signed by another
    token = forge({"alg": "EdDSA", "kid": issuer.verification_method, "typ": "vc+jwt"}, cred(issuer.controller), other)
    assert codes(verify(token)) == ["SIGNATURE_INVALID"]


def test_key_of_someone_else_is_not_the_issuers() -> None:
    issuer, other = KeyPair.generate(), KeyPair.generate()
    token = sign_vc_jwt(cred(issuer.controller), other)  # kid = other's did:key
    assert codes(verify(token)) == ["ISSUER_KEY_MISMATCH"]


@pytest.mark.parametrize(
    ("header_change", "code"),
    [
        ({"typ": "JWT"}, "MEDIA_TYPE_INVALID"),
        ({"typ": "vc+ld+json+jwt"}, "MEDIA_TYPE_INVALID"),
        ({"typ": None}, "MEDIA_TYPE_INVALID"),
        ({"cty": "vp"}, "MEDIA_TYPE_INVALID"),
        ({"alg": "none"}, "JWT_ALG_NOT_ACCEPTED"),
        ({"alg": "HS256"}, "JWT_ALG_NOT_ACCEPTED"),
        ({"alg": "ES256"}, "KEY_TYPE_MISMATCH"),  # Ed25519 key, ES256 claimed
        ({"crit": ["exp"]}, "JWS_CRIT_UNSUPPORTED"),
        ({"kid": None}, "KID_MISSING"),
        (
            {"kid": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH#nope"},
            "VERIFICATION_METHOD_INVALID",
        ),
        ({"kid": "did:web:example.com#key-1"}, "VERIFICATION_METHOD_INVALID"),  # method not configured
    ],
)
def test_header_problems(header_change: dict[str, Any], code: str) -> None:
    key = KeyPair.generate()
    header = {"alg": "EdDSA", "kid": key.verification_method, "typ": "vc+jwt", **header_change}
    header = {k: v for k, v in header.items() if v is not None}
    assert codes(verify(forge(header, cred(key.controller), key))) == [code]


def test_application_media_type_prefix_accepted() -> None:
    key = KeyPair.generate()
    header = {
        "alg": "EdDSA",
        "kid": key.verification_method,
        "typ": "application/vc+jwt",
        "cty": "application/vc",
    }
    assert verify(forge(header, cred(key.controller), key)).status == "verified"


def test_kid_as_fragment_of_the_issuer() -> None:
    key = KeyPair.generate()
    fragment = "#" + key.verification_method.split("#", 1)[1]
    token = sign_vc_jwt(cred(key.controller), key, kid=fragment)
    assert verify(token).status == "verified"


def test_kid_as_thumbprint_of_a_did_jwk_key() -> None:
    from vcgate.gateway import jwk_thumbprint

    pair = KeyPair.generate("p256")
    did = "did:jwk:" + b64url(json.dumps(pair.public.to_jwk()).encode())
    key = KeyPair.from_private(pair.private, controller=did, vm_id=did + "#0")
    token = sign_vc_jwt(cred(did), key, kid=jwk_thumbprint(pair.public.to_jwk()))
    assert verify(token).status == "verified"
    wrong = sign_vc_jwt(cred(did), key, kid="not-a-thumbprint")
    assert codes(verify(wrong)) == ["VERIFICATION_METHOD_INVALID"]


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"iss": "did:example:someone-else"}, "ISSUER_MISMATCH"),
        ({"vc": {"credentialSubject": {}}}, "JWT_CLAIM_FORBIDDEN"),
        ({"vp": "x"}, "JWT_CLAIM_FORBIDDEN"),
        ({"exp": int(datetime(2025, 3, 1, tzinfo=UTC).timestamp())}, "EXPIRED"),
        ({"nbf": int(datetime(2025, 9, 1, tzinfo=UTC).timestamp())}, "NOT_YET_VALID"),
        ({"exp": "tomorrow"}, "DATETIME_INVALID"),
    ],
)
def test_claim_problems(claims: dict[str, Any], code: str) -> None:
    key = KeyPair.generate()
    token = forge(
        {"alg": "EdDSA", "kid": key.verification_method, "typ": "vc+jwt"},
        {**cred(key.controller), **claims},
        key,
    )
    assert codes(verify(token)) == [code]


def test_registered_claims_are_not_strict_terms() -> None:
    # Under credentials/v2 alone, iss/jti/iat/exp would be issuer-dependent JSON-LD terms; as JWT claims they
    # are checked as claims and set aside before the strict-terms stage.
    key = KeyPair.generate()
    payload = strict_cred(
        key.controller,
        iss=key.controller,
        jti="urn:uuid:1b9e8f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        iat=int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()),
        exp=int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
    )
    result = verify(sign_vc_jwt(payload, key))
    assert result.status == "verified", result.to_json()
    assert {c.name: c.status for c in result.checks}["jwt_exp"] == "passed"


def test_undefined_terms_still_fail_in_the_payload() -> None:
    key = KeyPair.generate()
    payload = strict_cred(key.controller, licenceTerritory="US")
    token = forge({"alg": "EdDSA", "kid": key.verification_method, "typ": "vc+jwt"}, payload, key)
    result = verify(token)
    assert codes(result) == ["UNDEFINED_TERM"]
    assert "licenceTerritory" in result.problems[0].detail


def test_validity_of_the_credential_is_checked() -> None:
    key = KeyPair.generate()
    token = sign_vc_jwt(cred(key.controller, validUntil="2025-02-01T00:00:00Z"), key)
    assert codes(verify(token)) == ["EXPIRED"]


@pytest.mark.parametrize(
    "token",
    [
        "eyJhbGciOiJFZERTQSJ9.e30",  # two segments
        "eyJhbGciOiJFZERTQSJ9.e30.AA.AA",  # four
        "eyJhbGciOiJFZERTQSJ9=.e30.AA",  # padding
        "eyJhbGciOiJFZERTQSJ9.e3+0.AA",  # standard alphabet
        b64url(b"[1]") + ".e30.AA",  # header not an object
        b64url(b'{"alg":"EdDSA","alg":"ES256"}') + ".e30.AA",  # duplicate header member
    ],
)
def test_malformed_jws(token: str) -> None:
    result = check_vc_jwt(token, Verifier(Policy.default(), DidResolver.offline()), at=AT)
    assert codes(result) == ["JWS_MALFORMED"]
    assert result.format == "jwt"


def test_payload_must_be_a_strict_json_object() -> None:
    key = KeyPair.generate()
    header = b64url(json.dumps({"alg": "EdDSA", "kid": key.verification_method, "typ": "vc+jwt"}).encode())
    for payload, code in (
        (b"[]", "CREDENTIAL_NOT_OBJECT"),
        (b'{"a":1,"a":2}', "MALFORMED_JSON"),
        (b"{", "MALFORMED_JSON"),
    ):
        signing_input = header + "." + b64url(payload)
        token = signing_input + "." + b64url(key.sign(signing_input.encode()))
        assert codes(verify(token)) == [code]


def test_oversized_token_is_refused() -> None:
    key = KeyPair.generate()
    policy = Policy.from_mapping({**Policy.default().raw, "name": "small", "max_credential_bytes": 2000})
    token = sign_vc_jwt(cred(key.controller, description="x" * 3000), key)
    result = check_vc_jwt(token, Verifier(policy, DidResolver.offline()), at=AT)
    assert codes(result) == ["INPUT_TOO_LARGE"]


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        ({"vc": {}}, "must not carry vc or vp"),
        ({"proof": {"type": "DataIntegrityProof"}}, "already has an embedded proof"),
        ({"licenceTerritory": "US"}, "undefined terms licenceTerritory"),
    ],
)
def test_sign_refuses(credential: dict[str, Any], message: str) -> None:
    key = KeyPair.generate()
    with pytest.raises(JoseError, match=message):
        sign_vc_jwt(strict_cred(key.controller, **credential), key)
