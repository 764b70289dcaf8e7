"""OAuth2 client credentials and the auth matrix: no token, expired, forged, wrong scope, another party's DID, a
revoked client → 401/403, and the database unchanged."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from vcgate.gateway import KeyPair
from vcgate.gateway.api import NewClient, TokenService, check_party_did, parse_scopes
from vcgate.gateway.api import _tables as tables
from vcgate.gateway.api._auth import check_secret
from vcgate.gateway.cli import app as cli_app

from .conftest import Gateway, Issuer, invoice, presentation, run_gateway, signed_invoice

pytestmark = pytest.mark.server


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def test_token_by_basic_auth_is_a_short_lived_eddsa_jwt(gateway: Gateway, partner: NewClient) -> None:
    r = gateway.http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "verify:credentials"},
        auth=(partner.info.client_id, partner.secret),
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "verify:credentials"
    header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": gateway.settings.identity.key.verification_method}
    claims = _claims(body["access_token"])
    assert claims["party"] == partner.info.party
    assert claims["client_id"] == partner.info.client_id
    assert claims["exp"] - claims["iat"] == 300


def test_token_by_form_credentials_defaults_to_all_client_scopes(gateway: Gateway, partner: NewClient) -> None:
    r = gateway.http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": partner.info.client_id, "client_secret": partner.secret},
    )
    assert r.status_code == 200, r.text
    assert set(r.json()["scope"].split()) == set(partner.info.scopes)


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, ("vcg_nobody", "x"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "wrong-secret", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "password"}, "ok", 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "scope": "admin"}, "ok", 400, "invalid_scope"),
        ({"grant_type": "client_credentials", "scope": "no:such"}, "ok", 400, "invalid_scope"),
    ],
    ids=["unknown-client", "wrong-secret", "no-credentials", "wrong-grant", "scope-not-granted", "unknown-scope"],
)
def test_token_errors_are_rfc6749_codes_in_problem_details(
    gateway: Gateway, partner: NewClient, data: dict[str, str], auth: Any, status: int, error: str
) -> None:
    creds = {
        "ok": (partner.info.client_id, partner.secret),
        "wrong-secret": (partner.info.client_id, partner.secret + "x"),
        None: None,
    }.get(auth, auth)
    r = gateway.http.post("/oauth2/token", data=data, auth=creds)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["error"] == error
    assert r.json()["code"] == "OAUTH_" + error.upper()


def test_token_refuses_duplicate_parameters_and_non_form_bodies(gateway: Gateway, partner: NewClient) -> None:
    auth = (partner.info.client_id, partner.secret)
    r = gateway.http.post(
        "/oauth2/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=auth,
    )
    assert r.json()["error"] == "invalid_request"
    r = gateway.http.post("/oauth2/token", json={"grant_type": "client_credentials"}, auth=auth)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_secrets_are_stored_hashed(gateway: Gateway, partner: NewClient) -> None:
    with gateway.ctx.db.transaction() as conn:
        stored = conn.execute(
            select(tables.clients.c.secret_hash).where(tables.clients.c.client_id == partner.info.client_id)
        ).scalar_one()
    assert partner.secret not in stored
    assert stored.startswith("scrypt$16384$8$1$")
    assert check_secret(partner.secret, stored)
    assert not check_secret(partner.secret[:-1], stored)


def _status_request(vc_id: str) -> dict[str, Any]:
    return {"credentialId": vc_id, "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "1"}]}


def test_auth_matrix_refuses_and_changes_nothing(gateway: Gateway, partner: NewClient, issue: Issuer) -> None:
    vc = issue()
    other_key = KeyPair.generate("ed25519")
    other = gateway.client(other_key.controller)
    verify_only = gateway.client(partner.info.party, ["verify:credentials"])
    tokens = TokenService(gateway.settings.identity, 300)
    expired = tokens.issue(partner.info, partner.info.scopes, gateway.ctx.now() - timedelta(seconds=301)).token
    forged_key = KeyPair.generate("ed25519")
    forger = TokenService(type(gateway.settings.identity).create(forged_key, gateway.url), 300)
    forged = forger.issue(partner.info, frozenset({"admin"}), gateway.ctx.now()).token
    # Not a token at all, and a tampered one (a scope added to a genuine token's claims).
    genuine = gateway.token(partner)
    head, _, sig = genuine.split(".")
    swapped = dict(_claims(genuine), scope="admin")
    tampered = ".".join([head, base64.urlsafe_b64encode(json.dumps(swapped).encode()).rstrip(b"=").decode(), sig])
    challenge = gateway.http.post("/presentations/available", json={}, headers=gateway.auth(partner)).json()
    vp_other = presentation(
        other_key,
        [signed_invoice(other_key, "urn:uuid:0e0e0e0e-0000-4000-8000-00000000b001")],
        challenge=challenge["challenge"],
        domain=challenge["domain"],
    )

    cases: list[tuple[str, str, dict[str, Any], dict[str, str], int, str]] = [
        ("issue", "/credentials/issue", {"credential": invoice(gateway.did)}, {}, 401, "UNAUTHORIZED"),
        ("issue", "/credentials/issue", {"credential": invoice(gateway.did)}, _bearer(expired), 401, "TOKEN_EXPIRED"),
        ("issue", "/credentials/issue", {"credential": invoice(gateway.did)}, _bearer(forged), 401, "TOKEN_INVALID"),
        ("issue", "/credentials/issue", {"credential": invoice(gateway.did)}, _bearer(tampered), 401, "TOKEN_INVALID"),
        ("issue", "/credentials/issue", {"credential": invoice(gateway.did)}, _bearer("abc"), 401, "TOKEN_INVALID"),
        (
            "issue",
            "/credentials/issue",
            {"credential": invoice(gateway.did)},
            gateway.auth(verify_only),
            403,
            "INSUFFICIENT_SCOPE",
        ),
        ("status", "/credentials/status", _status_request(vc["id"]), {}, 401, "UNAUTHORIZED"),
        ("status", "/credentials/status", _status_request(vc["id"]), _bearer(expired), 401, "TOKEN_EXPIRED"),
        (
            "status",
            "/credentials/status",
            _status_request(vc["id"]),
            gateway.auth(verify_only),
            403,
            "INSUFFICIENT_SCOPE",
        ),
        ("status", "/credentials/status", _status_request(vc["id"]), gateway.auth(other), 403, "PARTY_MISMATCH"),
        ("available", "/presentations/available", {}, gateway.auth(verify_only), 403, "INSUFFICIENT_SCOPE"),
        (
            "submit",
            "/presentations/submissions",
            {"verifiablePresentation": vp_other},
            gateway.auth(partner),
            403,
            "PARTY_MISMATCH",
        ),
        (
            "submit",
            "/presentations/submissions",
            {"verifiablePresentation": vp_other},
            gateway.auth(other),
            403,
            "PARTY_MISMATCH",  # the holder is `other`, but the challenge was issued to the partner
        ),
        ("verify", "/credentials/verify", {"verifiableCredential": vc}, {}, 401, "UNAUTHORIZED"),
        (
            "verify",
            "/credentials/verify",
            {"verifiableCredential": vc},
            gateway.auth(other, "read:credentials"),
            403,
            "INSUFFICIENT_SCOPE",
        ),
    ]
    before = gateway.snapshot()
    audit_before = len(gateway.ctx.audit.entries(limit=100000))
    for name, path, body, headers, status, code in cases:
        r = gateway.http.post(path, json=body, headers=headers)
        assert (r.status_code, r.json().get("code")) == (status, code), (name, code, r.text)
        if status == 401:
            assert r.headers["www-authenticate"].startswith("Bearer")
    r = gateway.http.get(f"/credentials/{vc['id']}", headers=gateway.auth(other))
    assert (r.status_code, r.json()["code"]) == (403, "PARTY_MISMATCH")
    r = gateway.http.get(f"/credentials/{vc['id']}")
    assert r.status_code == 401
    assert gateway.snapshot() == before
    # Every refused state-changing attempt is in the audit log (verify is not state-changing).
    new = gateway.ctx.audit.entries(limit=100000)[audit_before:]
    assert len(new) == sum(1 for c in cases if c[1] != "/credentials/verify")
    assert {e.outcome for e in new} == {"unauthenticated", "forbidden"}
    # The token of the tampered-claims case named the partner, but nothing was attributed to it unverified.
    assert all(
        e.client_id in (None, partner.info.client_id, other.info.client_id, verify_only.info.client_id) for e in new
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


def test_revoked_client_tokens_stop_working_at_once(gateway: Gateway, partner_key: KeyPair) -> None:
    client = gateway.client(partner_key.controller, ["verify:credentials"])
    headers = gateway.auth(client)
    vc = signed_invoice(partner_key, "urn:uuid:0e0e0e0e-0000-4000-8000-00000000b002")
    assert (
        gateway.http.post("/credentials/verify", json={"verifiableCredential": vc}, headers=headers).status_code == 200
    )
    assert gateway.ctx.clients.revoke(client.info.client_id)
    r = gateway.http.post("/credentials/verify", json={"verifiableCredential": vc}, headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "CLIENT_REVOKED")
    r = gateway.http.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client.info.client_id, client.secret)
    )
    assert r.status_code == 401
    assert not gateway.ctx.clients.revoke(client.info.client_id)


def test_admin_scope_acts_for_any_party(gateway: Gateway, issue: Issuer) -> None:
    vc = issue()
    admin = gateway.client("did:web:customs.example", ["admin"])
    r = gateway.http.get(f"/credentials/{vc['id']}", headers=gateway.auth(admin))
    assert r.status_code == 200


def test_rate_limit_answers_429_per_client(tmp_path: Path) -> None:
    with run_gateway(tmp_path, rate_limit_per_second=0.5, rate_limit_burst=3) as gw:
        client = gw.client("did:web:partner.example", ["verify:credentials"])
        headers = gw.auth(client)  # the token request counts against the address bucket, not the client's
        codes = [
            gw.http.post("/credentials/verify", json={"verifiableCredential": {}}, headers=headers).status_code
            for _ in range(5)
        ]
        assert codes[:3] == [400, 400, 400]
        assert codes[3:] == [429, 429]
        r = gw.http.post("/credentials/verify", json={"verifiableCredential": {}}, headers=headers)
        assert r.json()["code"] == "RATE_LIMITED"
        assert int(r.headers["retry-after"]) >= 1
        # Anonymous requests are limited per address.
        anon = [gw.http.get("/health").status_code for _ in range(4)]
        assert anon.count(429) >= 1


def test_scopes_and_party_are_validated() -> None:
    assert parse_scopes(["verify:credentials issue:credentials", "admin"]) == {
        "verify:credentials",
        "issue:credentials",
        "admin",
    }
    with pytest.raises(Exception, match="unknown scope"):
        parse_scopes(["verify:everything"])
    assert check_party_did("did:web:example.com:org") == "did:web:example.com:org"
    for bad in ("example.com", "did:web:", "did:Web:x"):
        with pytest.raises(Exception, match="is not a DID"):
            check_party_did(bad)


def test_cli_clients_add_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    runner = CliRunner()
    r = runner.invoke(
        cli_app,
        [
            "clients",
            "add",
            "--party",
            "did:web:partner.example",
            "--scope",
            "verify:credentials",
            "--scope",
            "submit:presentations",
            "--database",
            db,
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout)
    assert added["clientId"].startswith("vcg_")
    assert len(added["clientSecret"]) >= 40
    assert added["scopes"] == ["submit:presentations", "verify:credentials"]
    r = runner.invoke(cli_app, ["clients", "list", "--database", db, "--json"])
    listed = json.loads(r.stdout)
    assert [c["clientId"] for c in listed] == [added["clientId"]]
    assert "clientSecret" not in listed[0]
    assert added["clientSecret"] not in r.stdout
    r = runner.invoke(cli_app, ["clients", "revoke", added["clientId"], "--database", db])
    assert r.exit_code == 0
    r = runner.invoke(cli_app, ["clients", "revoke", added["clientId"], "--database", db])
    assert r.exit_code == 1
    r = runner.invoke(cli_app, ["clients", "add", "--party", "nobody", "--scope", "admin", "--database", db])
    assert r.exit_code == 64
    r = runner.invoke(cli_app, ["clients", "add", "--party", "did:key:z6Mk", "--scope", "fly", "--database", db])
    assert r.exit_code == 64
