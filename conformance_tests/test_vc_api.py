"""VC-API: issue and verify request/response shapes and status codes, 4xx on bad input, status updates making
verification fail, and bearer authentication. Runs against an ``http(s)://`` target."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import Findings, fail
from vcgate.conformance_tests._vc_api import VcApiClient, outcome_of_response
from vcgate.conformance_tests._vectors import vector_cases

TRACEABILITY = "https://w3id.org/traceability/v1"
#: Statuses that refuse a request for its content. 401/403 refuse the caller, not the input, so they do not count.
INPUT_ERRORS = (400, 413, 415, 422)


def entry_number(issuer: str) -> dict[str, Any]:
    """A small valid Traceability credential (a fresh id each time) for the endpoint to issue."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", TRACEABILITY],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "EntryNumberCredential"],
        "issuer": issuer,
        "validFrom": "2024-09-01T17:20:00Z",
        "credentialSubject": {"type": ["EntryNumber"], "entryNumber": "HB7-1048213-6"},
    }


def issue(vc_api: VcApiClient, credential: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST /credentials/issue and return the verifiable credential, failing the case on a bad answer."""
    response = vc_api.request("POST", "/credentials/issue", body={"credential": credential, "options": options or {}})
    if response.status_code not in (200, 201):
        fail(f"POST /credentials/issue answered {response.status_code}: {response.text[:400]}")
    try:
        body = response.json()
    except ValueError:
        fail(f"POST /credentials/issue answered non-JSON: {response.text[:200]}")
    vc = body.get("verifiableCredential") if isinstance(body, dict) else None
    if not isinstance(vc, dict):
        fail(f"the issue response has no verifiableCredential object: {str(body)[:300]}")
    return vc


def verify(vc_api: VcApiClient, vc: dict[str, Any]) -> Any:
    """POST /credentials/verify with ``{verifiableCredential, options}``."""
    return vc_api.request("POST", "/credentials/verify", body={"verifiableCredential": vc, "options": {}})


@pytest.fixture(scope="session")
def issued(vc_api: VcApiClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request credential, issued credential) for the verify cases."""
    credential = entry_number(vc_api.issuer())
    return credential, issue(vc_api, credential)


@conformance_case("API-001")
def test_issue_shape(vc_api: VcApiClient) -> None:
    """201/200 with {verifiableCredential}: the request's id, type, issuer and subject, plus a proof."""
    findings = Findings()
    credential = entry_number(vc_api.issuer())
    vc = issue(vc_api, credential)
    for key in ("@context", "id", "type", "credentialSubject", "validFrom"):
        findings.check(vc.get(key) == credential[key], f"issued {key} is {vc.get(key)!r}, sent {credential[key]!r}")
    issuer = vc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    findings.check(issuer_id == credential["issuer"], f"issued issuer is {issuer_id!r}")
    proof = vc.get("proof")
    proofs = proof if isinstance(proof, list) else [proof]
    findings.check(
        bool(proofs) and all(isinstance(p, dict) and p.get("proofValue") for p in proofs),
        f"the issued credential has no Data Integrity proof with a proofValue: {proof!r}",
    )
    findings.done()


@conformance_case("API-002")
def test_verify_issued(vc_api: VcApiClient, issued: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """The credential the endpoint issued verifies: 200 and ``verified: true``."""
    response = verify(vc_api, issued[1])
    body = response.json() if response.headers.get("content-type", "").find("json") >= 0 else None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("verified") is not True:
        fail(f"POST /credentials/verify answered {response.status_code}: {response.text[:400]}")


@conformance_case("API-003")
def test_verify_tampered(vc_api: VcApiClient, issued: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """A subject value changed after issuing: 400 with problem details (a JSON body saying why)."""
    vc = copy.deepcopy(issued[1])
    vc["credentialSubject"]["entryNumber"] = "HB7-1048213-7"
    response = verify(vc_api, vc)
    outcome = outcome_of_response(response)
    findings = Findings()
    findings.check(response.status_code == 400, f"answered {response.status_code}, expected 400: {outcome.detail}")
    content_type = response.headers.get("content-type", "")
    findings.check("json" in content_type, f"content type {content_type!r} is not JSON problem details")
    findings.check(outcome.verdict == "invalid", f"verdict {outcome.verdict}")
    findings.check(bool(outcome.codes) or "detail" in response.text, "the answer does not say what failed")
    findings.done()


@conformance_case("API-004")
def test_malformed_requests(vc_api: VcApiClient) -> None:
    """Not JSON, no verifiableCredential, a non-object credential: each answers 400/413/415/422."""
    findings = Findings()
    cases: list[tuple[str, bytes]] = [
        ("body is not JSON", b"{not json"),
        ("empty object", b"{}"),
        ("verifiableCredential is a number", b'{"verifiableCredential": 42, "options": {}}'),
        ("verifiableCredential is an array", b'{"verifiableCredential": [], "options": {}}'),
        ("verifiableCredential is not a credential", b'{"verifiableCredential": {"hello": "world"}, "options": {}}'),
    ]
    for label, raw in cases:
        response = vc_api.request("POST", "/credentials/verify", raw=raw)
        findings.check(
            response.status_code in INPUT_ERRORS,
            f"{label}: answered {response.status_code}, expected one of {INPUT_ERRORS}: {response.text[:200]}",
        )
    findings.done()


@conformance_case("API-005")
def test_issue_refuses_invalid_credentials(vc_api: VcApiClient) -> None:
    """A credential without credentialSubject, or with an undefined term, is not issued: 400/413/415/422."""
    findings = Findings()
    issuer = vc_api.issuer()
    no_subject = entry_number(issuer)
    del no_subject["credentialSubject"]
    undefined = entry_number(issuer)
    undefined["credentialSubject"]["undefinedTermForConformance"] = "x"
    for label, credential in (("no credentialSubject", no_subject), ("undefined term", undefined)):
        response = vc_api.request("POST", "/credentials/issue", body={"credential": credential, "options": {}})
        findings.check(
            response.status_code in INPUT_ERRORS,
            f"{label}: answered {response.status_code}, expected one of {INPUT_ERRORS}: {response.text[:200]}",
        )
    findings.done()


@conformance_case("API-006")
def test_status_update_fails_verification(vc_api: VcApiClient) -> None:
    """Issue with ``options.credentialStatus``; it verifies; ``POST /credentials/status`` sets its status bit;
    then verification fails (4xx, not verified)."""
    credential = entry_number(vc_api.issuer())
    vc = issue(vc_api, credential, {"credentialStatus": {"type": "BitstringStatusListEntry"}})
    entry = vc.get("credentialStatus")
    entries = entry if isinstance(entry, list) else [entry]
    if not entries or not all(isinstance(e, dict) and e.get("type") for e in entries):
        fail(f"issued with options.credentialStatus but the credential has no credentialStatus entry: {entry!r}")
    before = verify(vc_api, vc)
    if before.status_code != 200:
        fail(f"the fresh credential does not verify: {before.status_code}: {before.text[:300]}")
    entry_type = str(entries[0]["type"]) if isinstance(entries[0], dict) else ""
    list_type = {
        "BitstringStatusListEntry": "BitstringStatusListCredential",
        "StatusList2021Entry": "StatusList2021Credential",
    }.get(entry_type, entry_type)
    update = vc_api.request(
        "POST",
        "/credentials/status",
        body={"credentialId": vc["id"], "credentialStatus": [{"type": list_type, "status": "1"}]},
    )
    if not 200 <= update.status_code < 300:
        fail(f"POST /credentials/status answered {update.status_code}: {update.text[:300]}")
    after = outcome_of_response(verify(vc_api, vc))
    if after.verdict == "verified" or after.http_status is None or not 400 <= after.http_status < 500:
        fail(f"after the status update the credential still verifies, or the answer is not 4xx: {after.detail}")


@conformance_case("API-007")
def test_forged_token_refused(vc_api: VcApiClient) -> None:
    """A bearer token that the endpoint did not issue answers 401 (RFC 6750 §3.1 invalid_token)."""
    forged = "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJjb25mb3JtYW5jZSJ9.c2lnbmF0dXJl"
    credential = next(v for v in vector_cases() if v.id == "PRF-111").document_bytes()
    raw = b'{"verifiableCredential":' + credential + b',"options":{}}'
    response = vc_api.request("POST", "/credentials/verify", raw=raw, token=forged)
    if response.status_code != 401:
        fail(f"a forged bearer token got {response.status_code}, expected 401: {response.text[:200]}")
