"""Status updates: revoking through ``POST /credentials/status`` makes verification fail, both at the gateway and for
an independent verifier that resolves the gateway's did:web and fetches ``/status/{id}`` over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from vcgate.gateway import (
    DidResolver,
    DidWebMethod,
    HttpStatusListFetcher,
    Policy,
    StatusListChecker,
    Verifier,
    decode_bitstring,
    read_status,
)
from vcgate.gateway.api import NewClient

from .conftest import Gateway, Issuer

pytestmark = pytest.mark.server


def _update(gateway: Gateway, client: NewClient, vc_id: str, status: str, **extra: Any) -> httpx.Response:
    return gateway.http.post(
        "/credentials/status",
        json={
            "credentialId": vc_id,
            "credentialStatus": [{"type": "BitstringStatusListEntry", "status": status, **extra}],
        },
        headers=gateway.auth(client),
    )


def _verify(gateway: Gateway, client: NewClient, vc: dict[str, Any]) -> httpx.Response:
    return gateway.http.post("/credentials/verify", json={"verifiableCredential": vc}, headers=gateway.auth(client))


def _independent_verifier() -> Verifier:
    # Nothing shared with the server: the gateway's did:web and its status list are fetched over HTTP.
    resolver = DidResolver.offline()
    resolver.register(DidWebMethod(unsafe_allow_http_localhost=True))
    fetcher = HttpStatusListFetcher(unsafe_allow_http_localhost=True, default_ttl=0.0)
    return Verifier(Policy.default(), resolver, status_checker=StatusListChecker(fetcher))


def test_revocation_makes_verification_fail(gateway: Gateway, partner: NewClient, issue: Issuer) -> None:
    vc = issue("revocation")
    entry = vc["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["statusListCredential"].startswith(gateway.url + "/status/")
    assert _verify(gateway, partner, vc).status_code == 200
    outside = _independent_verifier()
    assert outside.check(vc, at=gateway.ctx.now()).status == "verified"

    r = _update(gateway, partner, vc["id"], "1")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "credentialId": vc["id"],
        "credentialStatus": [
            {
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "status": "1",
                "statusListCredential": entry["statusListCredential"],
                "statusListIndex": entry["statusListIndex"],
            }
        ],
    }
    r = _verify(gateway, partner, vc)
    assert r.status_code == 400
    assert [p["code"] for p in r.json()["problemDetails"]] == ["STATUS_REVOKED"]
    result = _independent_verifier().check(vc, at=gateway.ctx.now())
    assert result.status == "invalid"
    assert [p.code for p in result.problems] == ["STATUS_REVOKED"]
    # The published list is a signed credential whose bit is set.
    published = gateway.http.get(entry["statusListCredential"][len(gateway.url) :])
    assert published.headers["content-type"].startswith("application/vc+ld+json")
    bits = decode_bitstring(published.json()["credentialSubject"]["encodedList"])
    assert read_status(bits, int(entry["statusListIndex"])) == 1

    assert _update(gateway, partner, vc["id"], "0").status_code == 200
    assert _verify(gateway, partner, vc).status_code == 200


def test_suspension_and_independent_entries(gateway: Gateway, partner: NewClient, issue: Issuer) -> None:
    first, second = issue("suspension"), issue("suspension")
    assert first["credentialStatus"]["statusListCredential"] == second["credentialStatus"]["statusListCredential"]
    assert first["credentialStatus"]["statusListIndex"] != second["credentialStatus"]["statusListIndex"]
    assert _update(gateway, partner, first["id"], "1", statusPurpose="suspension").status_code == 200
    r = _verify(gateway, partner, first)
    assert [p["code"] for p in r.json()["problemDetails"]] == ["STATUS_SUSPENDED"]
    assert _verify(gateway, partner, second).status_code == 200


@pytest.mark.parametrize(
    ("status_type", "purpose", "code"),
    [
        ("StatusList2021Entry", None, "STATUS_TYPE_UNSUPPORTED"),
        ("BitstringStatusListEntry", "suspension", "STATUS_PURPOSE_MISMATCH"),
    ],
)
def test_bad_status_updates_change_nothing(
    gateway: Gateway, partner: NewClient, issue: Issuer, status_type: str, purpose: str | None, code: str
) -> None:
    vc = issue("revocation")
    before = gateway.snapshot()
    change: dict[str, Any] = {"type": status_type, "status": "1"}
    if purpose:
        change["statusPurpose"] = purpose
    r = gateway.http.post(
        "/credentials/status",
        json={"credentialId": vc["id"], "credentialStatus": [change]},
        headers=gateway.auth(partner),
    )
    assert (r.status_code, r.json()["code"]) == (400, code)
    assert gateway.snapshot() == before


def test_status_of_unknown_or_statusless_credentials(gateway: Gateway, partner: NewClient, issue: Issuer) -> None:
    r = _update(gateway, partner, "urn:uuid:00000000-0000-4000-8000-000000000000", "1")
    assert (r.status_code, r.json()["code"]) == (404, "CREDENTIAL_NOT_FOUND")
    plain = issue(status=None)
    r = _update(gateway, partner, plain["id"], "1")
    assert (r.status_code, r.json()["code"]) == (400, "CREDENTIAL_HAS_NO_STATUS")
