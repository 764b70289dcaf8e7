"""W3C VC-API request and response shapes against the live server: issue, verify, get, DID document, errors."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier, sign_vc_jwt
from vcgate.gateway.api import NewClient

from .conftest import Gateway, Issuer, invoice, signed_invoice

pytestmark = pytest.mark.server

PROBLEM = "application/problem+json"


def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "https://w3id.org/vcgate/problems#" + code
    assert isinstance(body["title"], str)
    assert body["title"]
    return body


def test_issue_returns_a_credential_signed_by_the_gateway_did(gateway: Gateway, issue: Issuer) -> None:
    vc = issue(status=None)
    assert vc["issuer"]["id"] == gateway.did
    assert vc["proof"]["type"] == "DataIntegrityProof"
    assert vc["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert vc["proof"]["verificationMethod"].startswith(gateway.did + "#z6Mk")
    assert vc["id"].startswith("urn:uuid:")
    # Independently: resolve the gateway's did:web from its own /did.json and verify offline.
    did_doc = gateway.http.get("/did.json").json()
    resolver = DidResolver.offline()

    class Static:
        method = "web"

        def resolve(self, did: str) -> dict[str, Any]:
            assert did == gateway.did
            return did_doc  # type: ignore[no-any-return]

    resolver.register(Static())
    result = Verifier(Policy.default(), resolver).check(json.dumps(vc), at=gateway.ctx.now())
    assert result.status == "verified", result.to_json()


def test_issue_with_jcs_suite_and_requested_id(gateway: Gateway, partner: NewClient) -> None:
    r = gateway.http.post(
        "/credentials/issue",
        json={
            "credential": invoice(gateway.did),
            "options": {
                "cryptosuite": "eddsa-jcs-2022",
                "credentialId": "urn:uuid:2c9e0d1a-1111-4aaa-8bbb-123456789abc",
            },
        },
        headers=gateway.auth(partner),
    )
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["id"] == "urn:uuid:2c9e0d1a-1111-4aaa-8bbb-123456789abc"
    assert vc["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    again = gateway.http.post(
        "/credentials/issue",
        json={"credential": invoice(gateway.did, vc["id"])},
        headers=gateway.auth(partner),
    )
    _problem(again, 409, "CREDENTIAL_EXISTS")


def test_issue_without_issuer_sets_the_gateway(gateway: Gateway, partner: NewClient) -> None:
    doc = invoice(gateway.did)
    del doc["issuer"]
    r = gateway.http.post("/credentials/issue", json={"credential": doc}, headers=gateway.auth(partner))
    assert r.status_code == 201, r.text
    assert r.json()["verifiableCredential"]["issuer"] == gateway.did


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda d, did: d["issuer"].update(id="did:web:someone-else.example"), 400, "ISSUER_NOT_GATEWAY"),
        # a proof already there must verify before another is added to the set (tests/api/test_issuers.py)
        (lambda d, did: d.update(proof={"type": "DataIntegrityProof"}), 400, "CREDENTIAL_INVALID"),
        (lambda d, did: d["credentialSubject"].update(notATerm=1), 400, "CREDENTIAL_INVALID"),
        (lambda d, did: d.update({"@context": ["https://evil.example/ctx"]}), 400, "CREDENTIAL_INVALID"),
    ],
    ids=["other-issuer", "has-broken-proof", "undefined-term", "unpinned-context"],
)
def test_issue_refuses_bad_credentials(
    gateway: Gateway, partner: NewClient, mutate: Any, status: int, code: str
) -> None:
    doc = invoice(gateway.did)
    mutate(doc, gateway.did)
    before = gateway.count(gateway_tables().credentials)
    r = gateway.http.post("/credentials/issue", json={"credential": doc}, headers=gateway.auth(partner))
    body = _problem(r, status, code)
    if code == "CREDENTIAL_INVALID":
        assert body["verified"] is False
        assert body["problemDetails"], body
    assert gateway.count(gateway_tables().credentials) == before


def gateway_tables() -> Any:
    from vcgate.gateway.api import _tables

    return _tables


def test_issue_refuses_unknown_options(gateway: Gateway, partner: NewClient) -> None:
    r = gateway.http.post(
        "/credentials/issue",
        json={"credential": invoice(gateway.did), "options": {"cryptosuite": "rsa-2048"}},
        headers=gateway.auth(partner),
    )
    body = _problem(r, 422, "REQUEST_INVALID")
    assert body["errors"][0]["pointer"] == "/options/cryptosuite"


def test_verify_answers_200_with_the_result_when_verified(gateway: Gateway, partner: NewClient) -> None:
    key = KeyPair.generate("ed25519")
    vc = signed_invoice(key, "urn:uuid:7d1e3f00-0000-4000-8000-00000000a001")
    r = gateway.http.post(
        "/credentials/verify", json={"verifiableCredential": vc, "options": {}}, headers=gateway.auth(partner)
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["verified"] is True
    assert body["status"] == "verified"
    assert body["problemDetails"] == []
    assert {c["name"] for c in body["checks"]} >= {"parse", "data_model", "signature", "issuer_key_binding"}
    assert all(c["status"] in ("passed", "not_applicable") for c in body["checks"])


def test_verify_answers_400_problem_details_when_invalid(gateway: Gateway, partner: NewClient) -> None:
    key = KeyPair.generate("ed25519")
    vc = signed_invoice(key, "urn:uuid:7d1e3f00-0000-4000-8000-00000000a002")
    tampered = copy.deepcopy(vc)
    tampered["credentialSubject"]["invoiceNumber"] = "INV-9999999"
    r = gateway.http.post("/credentials/verify", json={"verifiableCredential": tampered}, headers=gateway.auth(partner))
    body = _problem(r, 400, "CREDENTIAL_INVALID")
    assert body["verified"] is False
    assert body["verificationStatus"] == "invalid"
    assert [p["code"] for p in body["problemDetails"]] == ["SIGNATURE_INVALID"]
    assert body["detail"].startswith("SIGNATURE_INVALID")


def test_verify_answers_503_when_it_cannot_decide(gateway: Gateway, partner: NewClient) -> None:
    # did:web resolution over the network is disabled in this gateway: the issuer's key cannot be found.
    key = KeyPair.generate("ed25519")
    web_key = KeyPair.from_private(key.private, "did:web:partner.example", "did:web:partner.example#key-1")
    vc = signed_invoice(web_key, "urn:uuid:7d1e3f00-0000-4000-8000-00000000a003")
    r = gateway.http.post("/credentials/verify", json={"verifiableCredential": vc}, headers=gateway.auth(partner))
    body = _problem(r, 503, "VERIFICATION_UNDECIDED")
    assert body["verificationStatus"] == "error"
    assert [p["code"] for p in body["problemDetails"]] == ["DID_UNRESOLVABLE"]


def test_verify_accepts_a_vc_jwt(gateway: Gateway, partner: NewClient) -> None:
    key = KeyPair.generate("ed25519")
    token = sign_vc_jwt(invoice(key.controller, "urn:uuid:7d1e3f00-0000-4000-8000-00000000a004"), key)
    r = gateway.http.post("/credentials/verify", json={"verifiableCredential": token}, headers=gateway.auth(partner))
    assert r.status_code == 200, r.text
    assert r.json()["format"] == "jwt"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"verifiableCredential": {}, "verifiableCredential": {}}', 400, "MALFORMED_JSON"),
        (b'{"verifiableCredential": {"a": NaN}}', 400, "MALFORMED_JSON"),
        (b"[1, 2", 400, "MALFORMED_JSON"),
        (b'{"verifiableCredential": ' + b'{"a": ' * 80 + b"1" + b"}" * 81, 400, "INPUT_TOO_DEEP"),
        (b'{"credential": {}}', 422, "REQUEST_INVALID"),
        (b'{"verifiableCredential": 42}', 422, "REQUEST_INVALID"),
    ],
    ids=["duplicate-key", "nan", "truncated", "too-deep", "wrong-member", "not-a-credential"],
)
def test_verify_rejects_bad_input_with_4xx(
    gateway: Gateway, partner: NewClient, body: bytes, status: int, code: str
) -> None:
    r = gateway.http.post(
        "/credentials/verify",
        content=body,
        headers={**gateway.auth(partner), "Content-Type": "application/json"},
    )
    _problem(r, status, code)


def test_verify_of_a_non_credential_object_is_invalid(gateway: Gateway, partner: NewClient) -> None:
    r = gateway.http.post(
        "/credentials/verify", json={"verifiableCredential": {"hello": "world"}}, headers=gateway.auth(partner)
    )
    body = _problem(r, 400, "CREDENTIAL_INVALID")
    assert body["problemDetails"]


def test_request_size_limit_is_413(gateway: Gateway, partner: NewClient) -> None:
    big = b'{"verifiableCredential": "' + b"a" * (1 << 20) + b'"}'
    r = gateway.http.post(
        "/credentials/verify", content=big, headers={**gateway.auth(partner), "Content-Type": "application/json"}
    )
    _problem(r, 413, "REQUEST_TOO_LARGE")

    def chunks() -> Any:  # no Content-Length: the limit applies while reading
        for _ in range(20):
            yield b"x" * 65536

    r = gateway.http.post("/credentials/issue", content=chunks(), headers={**gateway.auth(partner)})
    _problem(r, 413, "REQUEST_TOO_LARGE")


def test_framework_errors_are_problem_details(gateway: Gateway, partner: NewClient) -> None:
    _problem(gateway.http.get("/no/such/route"), 404, "NOT_FOUND")
    _problem(gateway.http.delete("/credentials/verify"), 405, "METHOD_NOT_ALLOWED")
    _problem(
        gateway.http.get("/credentials/urn:uuid:nothing", headers=gateway.auth(partner)), 404, "CREDENTIAL_NOT_FOUND"
    )
    _problem(gateway.http.get("/status/0000000000000000"), 404, "STATUS_LIST_NOT_FOUND")


def test_get_credential_returns_what_was_issued(gateway: Gateway, partner: NewClient, issue: Issuer) -> None:
    vc = issue()
    r = gateway.http.get(f"/credentials/{vc['id']}", headers=gateway.auth(partner))
    assert r.status_code == 200, r.text
    assert r.json() == vc


def test_did_document_and_discovery(gateway: Gateway) -> None:
    doc = gateway.http.get("/did.json").json()
    assert doc["id"] == gateway.did
    assert gateway.did == "did:web:127.0.0.1%3A" + gateway.url.rsplit(":", 1)[1]
    vm = doc["verificationMethod"][0]
    assert vm["type"] == "Multikey"
    assert vm["publicKeyMultibase"] == gateway.settings.key.public.to_multibase()
    assert doc["assertionMethod"] == [vm["id"]]
    assert gateway.http.get("/.well-known/did.json").json() == doc
    health = gateway.http.get("/health").json()
    assert health["status"] == "ok"
    assert health["did"] == gateway.did


def test_openapi_document_is_3_1_and_lists_the_routes(gateway: Gateway) -> None:
    spec = gateway.http.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    for path in (
        "/credentials/verify",
        "/credentials/issue",
        "/credentials/status",
        "/credentials/{credential_id}",
        "/presentations/verify",
        "/presentations/available",
        "/presentations/submissions",
        "/oauth2/token",
        "/did.json",
        "/status/{list_id}",
        "/health",
    ):
        assert path in spec["paths"], path
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flows["tokenUrl"] == "/oauth2/token"
    assert "verify:credentials" in flows["scopes"]
    verify = spec["paths"]["/credentials/verify"]["post"]
    assert verify["security"] == [{"oauth2": ["verify:credentials"]}]
    assert set(verify["responses"]["400"]["content"]) == {PROBLEM}
