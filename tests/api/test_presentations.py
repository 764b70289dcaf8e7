"""Presentations: ``/presentations/verify`` and the exchange (available → signed presentation → submissions)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from vcgate.gateway import KeyPair
from vcgate.gateway.api import NewClient
from vcgate.gateway.api import _tables as tables

from .conftest import Gateway, presentation, signed_invoice

pytestmark = pytest.mark.server


def _verify(gateway: Gateway, client: NewClient, vp: dict[str, Any], **options: Any) -> httpx.Response:
    return gateway.http.post(
        "/presentations/verify",
        json={"verifiablePresentation": vp, "options": options},
        headers=gateway.auth(client),
    )


def _codes(r: httpx.Response) -> list[str]:
    return [p["code"] for p in r.json()["problemDetails"]]


def test_verify_presentation_with_domain_and_challenge(
    gateway: Gateway, partner: NewClient, partner_key: KeyPair
) -> None:
    issuer = KeyPair.generate("ed25519")
    creds = [
        signed_invoice(issuer, "urn:uuid:3f3f3f3f-0000-4000-8000-00000000c001"),
        signed_invoice(partner_key, "urn:uuid:3f3f3f3f-0000-4000-8000-00000000c002", suite="eddsa-jcs-2022"),
    ]
    vp = presentation(partner_key, creds, challenge="c-123", domain="customs.example")
    r = _verify(gateway, partner, vp, challenge="c-123", domain="customs.example")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True
    assert body["holder"] == partner_key.controller
    assert [c["verified"] for c in body["credentialResults"]] == [True, True]
    names = {c["name"]: c["status"] for c in body["checks"]}
    assert names["presentation_signature"] == "passed"
    assert names["presentation_proof_purpose"] == "passed"
    assert names["holder_binding"] == "passed"

    assert _codes(_verify(gateway, partner, vp, challenge="c-999", domain="customs.example")) == ["CHALLENGE_MISMATCH"]
    assert _codes(_verify(gateway, partner, vp, challenge="c-123", domain="evil.example")) == ["DOMAIN_MISMATCH"]


@pytest.mark.parametrize("case", ["tampered-credential", "assertion-purpose", "holder-mismatch", "tampered-vp"])
def test_invalid_presentations_answer_400(
    gateway: Gateway, partner: NewClient, partner_key: KeyPair, case: str
) -> None:
    cred = signed_invoice(partner_key, "urn:uuid:3f3f3f3f-0000-4000-8000-00000000c003")
    expected = {
        "tampered-credential": ["CREDENTIAL_INVALID"],
        "assertion-purpose": ["PROOF_PURPOSE_MISMATCH"],
        "holder-mismatch": ["HOLDER_KEY_MISMATCH"],
        "tampered-vp": ["SIGNATURE_INVALID"],
    }[case]
    if case == "tampered-credential":
        bad = copy.deepcopy(cred)
        bad["credentialSubject"]["invoiceNumber"] = "X"
        vp = presentation(partner_key, [bad], challenge="c", domain="d")
    elif case == "assertion-purpose":
        vp = presentation(partner_key, [cred], challenge="c", domain="d", purpose="assertionMethod")
    elif case == "holder-mismatch":
        vp = presentation(partner_key, [cred], challenge="c", domain="d", holder_id="did:web:someone.example")
    else:
        vp = presentation(partner_key, [cred], challenge="c", domain="d")
        vp["verifiableCredential"] = []
    r = _verify(gateway, partner, vp, challenge="c", domain="d")
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "PRESENTATION_INVALID"
    assert _codes(r) == expected


def test_exchange_end_to_end_stores_and_indexes_credentials(
    gateway: Gateway, partner: NewClient, partner_key: KeyPair
) -> None:
    r = gateway.http.post(
        "/presentations/available",
        json={"query": [{"type": "QueryByExample", "credentialQuery": [{"type": "CommercialInvoiceCredential"}]}]},
        headers=gateway.auth(partner),
    )
    assert r.status_code == 200, r.text
    offer = r.json()
    assert offer["domain"] == gateway.url.removeprefix("http://")
    assert len(offer["challenge"]) >= 32
    assert offer["query"][0]["type"] == "QueryByExample"

    issuer = KeyPair.generate("ed25519")
    creds = [
        signed_invoice(issuer, "urn:uuid:3f3f3f3f-0000-4000-8000-00000000c010"),
        signed_invoice(partner_key, "urn:uuid:3f3f3f3f-0000-4000-8000-00000000c011"),
    ]
    vp = presentation(partner_key, creds, challenge=offer["challenge"], domain=offer["domain"])
    r = gateway.http.post(
        "/presentations/submissions", json={"verifiablePresentation": vp}, headers=gateway.auth(partner)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True
    assert body["holder"] == partner_key.controller
    assert body["credentialIds"] == [c["id"] for c in creds]

    # Stored and indexed by id, issuer, type and subject, owned by the submitting party.
    with gateway.ctx.db.transaction() as conn:
        rows = conn.execute(
            select(tables.credentials).where(tables.credentials.c.submission_id == body["submissionId"])
        ).all()
    assert {r.credential_id for r in rows} == {c["id"] for c in creds}
    assert {r.issuer for r in rows} == {issuer.controller, partner_key.controller}
    assert all(r.party == partner_key.controller and r.source == "submitted" for r in rows)
    assert all("CommercialInvoiceCredential" in r.types for r in rows)
    got = gateway.http.get(f"/credentials/{creds[0]['id']}", headers=gateway.auth(partner))
    assert got.json() == creds[0]

    # The challenge is used up: the same presentation cannot be replayed.
    again = gateway.http.post(
        "/presentations/submissions", json={"verifiablePresentation": vp}, headers=gateway.auth(partner)
    )
    assert (again.status_code, again.json()["code"]) == (409, "CHALLENGE_USED")


def test_submission_refusals_store_nothing(gateway: Gateway, partner: NewClient, partner_key: KeyPair) -> None:
    cred = signed_invoice(partner_key, "urn:uuid:3f3f3f3f-0000-4000-8000-00000000c020")
    offer = gateway.http.post("/presentations/available", json={}, headers=gateway.auth(partner)).json()
    expired = gateway.ctx.exchange.new_challenge(
        domain=offer["domain"],
        party=partner_key.controller,
        client_id=partner.info.client_id,
        query=None,
        at=gateway.ctx.now() - timedelta(hours=1),
        ttl_seconds=60,
    )
    bad = copy.deepcopy(cred)
    bad["credentialSubject"]["invoiceNumber"] = "X"
    cases = [
        (presentation(partner_key, [cred], challenge="never-issued", domain=offer["domain"]), 400, "CHALLENGE_UNKNOWN"),
        (
            presentation(partner_key, [cred], challenge=expired.challenge, domain=offer["domain"]),
            400,
            "CHALLENGE_EXPIRED",
        ),
        (
            presentation(partner_key, [cred], challenge=offer["challenge"], domain="evil.example"),
            400,
            "PRESENTATION_INVALID",
        ),
        (
            presentation(partner_key, [bad], challenge=offer["challenge"], domain=offer["domain"]),
            400,
            "PRESENTATION_INVALID",
        ),
        (
            {
                k: v
                for k, v in presentation(
                    partner_key, [cred], challenge=offer["challenge"], domain=offer["domain"]
                ).items()
                if k != "holder"
            },
            400,
            "HOLDER_REQUIRED",
        ),
    ]
    before = gateway.snapshot()
    for vp, status, code in cases:
        r = gateway.http.post(
            "/presentations/submissions", json={"verifiablePresentation": vp}, headers=gateway.auth(partner)
        )
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert gateway.snapshot() == before
    # A failed attempt does not burn the challenge: a correct presentation is still accepted.
    good = presentation(partner_key, [cred], challenge=offer["challenge"], domain=offer["domain"])
    r = gateway.http.post(
        "/presentations/submissions", json={"verifiablePresentation": good}, headers=gateway.auth(partner)
    )
    assert r.status_code == 200, r.text


def test_verify_vp_jwt_bare_and_enveloped(gateway: Gateway, partner: NewClient, partner_key: KeyPair) -> None:
    from vcgate.gateway import sign_vp_jwt

    cred = signed_invoice(partner_key, "urn:uuid:3f3f3f3f-0000-4000-8000-00000000c0f1")
    vp = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"]}
    vp |= {"holder": partner_key.controller, "verifiableCredential": [cred]}
    token = sign_vp_jwt(vp, partner_key, nonce="c-jwt", aud="customs.example")
    enveloped = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "EnvelopedVerifiablePresentation",
        "id": "data:application/vp+jwt," + token,
    }
    for data in (token, enveloped):
        r = gateway.http.post(
            "/presentations/verify",
            json={"verifiablePresentation": data, "options": {"challenge": "c-jwt", "domain": "customs.example"}},
            headers=gateway.auth(partner),
        )
        assert r.status_code == 200, r.text
        assert r.json()["holder"] == partner_key.controller
        assert [c["verified"] for c in r.json()["credentialResults"]] == [True]
    r = _verify(gateway, partner, enveloped, challenge="other", domain="customs.example")
    assert r.status_code == 400
    assert r.json()["code"] == "PRESENTATION_INVALID"
    assert _codes(r) == ["CHALLENGE_MISMATCH"]
