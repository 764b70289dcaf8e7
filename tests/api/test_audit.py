"""The audit log: every state-changing request recorded (who, what, when, outcome); append-only in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update

from vcgate.gateway._db import DatabaseError
from vcgate.gateway.api import AuditLog, NewClient
from vcgate.gateway.api import _tables as tables

from .conftest import Gateway, Issuer

pytestmark = pytest.mark.server


def test_state_changing_requests_are_recorded(gateway: Gateway, partner: NewClient, issue: Issuer) -> None:
    start = len(gateway.ctx.audit.entries(limit=100000))
    vc = issue()
    r = gateway.http.post(
        "/credentials/status",
        json={"credentialId": vc["id"], "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "1"}]},
        headers=gateway.auth(partner),
    )
    assert r.status_code == 200
    gateway.http.post("/credentials/verify", json={"verifiableCredential": vc}, headers=gateway.auth(partner))
    gateway.http.post("/credentials/issue", json={"credential": {}})  # refused: no token
    entries = gateway.ctx.audit.entries(limit=100000)[start:]
    actions = [(e.action, e.outcome) for e in entries]
    # This client's first token request, the issue, the status change, the refused issue; verify is read-only
    # and not audited.
    assert actions == [
        ("token.issue", "succeeded"),
        ("credential.issue", "succeeded"),
        ("credential.status", "succeeded"),
        ("credential.issue", "unauthenticated"),
    ]
    issued = [e for e in entries if e.action == "credential.issue" and e.outcome == "succeeded"]
    assert issued[-1].target == vc["id"]
    assert issued[-1].client_id == partner.info.client_id
    assert issued[-1].party == partner.info.party
    assert issued[-1].status_code == 201
    assert issued[-1].request_id
    status = [e for e in entries if e.action == "credential.status"][-1]
    assert (status.target, status.outcome, status.method, status.path) == (
        vc["id"],
        "succeeded",
        "POST",
        "/credentials/status",
    )
    refused = entries[-1]
    assert (refused.action, refused.outcome, refused.status_code, refused.client_id) == (
        "credential.issue",
        "unauthenticated",
        401,
        None,
    )
    assert not any(e.path == "/credentials/verify" for e in entries)


def test_token_requests_are_recorded_with_the_attempted_client(gateway: Gateway, partner: NewClient) -> None:
    gateway.http.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(partner.info.client_id, "wrong")
    )
    last = gateway.ctx.audit.entries(limit=1)[-1]
    assert (last.action, last.outcome, last.client_id) == ("token.issue", "unauthenticated", partner.info.client_id)


def test_audit_log_is_append_only(gateway: Gateway, partner: NewClient, issue: Issuer) -> None:
    issue()
    log = gateway.ctx.audit
    before = [e.to_json() for e in log.entries(limit=100000)]
    assert before
    # No API to change history...
    assert not [m for m in dir(AuditLog) if m.startswith(("update", "delete", "remove", "clear", "truncate"))]
    # ...and the database refuses it too.
    with pytest.raises(DatabaseError, match="append-only"), gateway.ctx.db.transaction() as conn:
        conn.execute(update(tables.audit_log).values(outcome="succeeded"))
    with pytest.raises(DatabaseError, match="append-only"), gateway.ctx.db.transaction() as conn:
        conn.execute(delete(tables.audit_log))
    with pytest.raises(DatabaseError, match="append-only"), gateway.ctx.db.transaction() as conn:
        conn.execute(text("DELETE FROM api_audit_log WHERE id = (SELECT max(id) FROM api_audit_log)"))
    after = [e.to_json() for e in log.entries(limit=100000)]
    assert after[: len(before)] == before
