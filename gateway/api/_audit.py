"""The append-only audit log: who did what, when, and with what outcome, for every state-changing request.

The log has no update or delete operation here, and the database refuses UPDATE/DELETE on the table (triggers
created by migration ``api_0001``), so history cannot be rewritten through the application.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from .._db import Database
from . import _tables as t


@dataclass(frozen=True)
class AuditEntry:
    """One audited request."""

    at: datetime
    request_id: str
    method: str
    path: str
    action: str
    status_code: int
    outcome: str
    client_id: str | None = None
    party: str | None = None
    remote: str | None = None
    target: str | None = None
    detail: str | None = None
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form (camelCase keys)."""
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=UTC)
        return {
            "id": self.id,
            "at": at.isoformat().replace("+00:00", "Z"),
            "requestId": self.request_id,
            "clientId": self.client_id,
            "party": self.party,
            "remote": self.remote,
            "method": self.method,
            "path": self.path,
            "action": self.action,
            "target": self.target,
            "statusCode": self.status_code,
            "outcome": self.outcome,
            "detail": self.detail,
        }


def outcome_of(status_code: int) -> str:
    """The outcome recorded for an HTTP status."""
    if status_code < 400:
        return "succeeded"
    return {
        400: "rejected",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        409: "conflict",
        413: "too_large",
        422: "rejected",
        429: "rate_limited",
    }.get(status_code, "failed" if status_code >= 500 else "rejected")


class AuditLog:
    """Appends to and reads the audit table. There is deliberately no way to change or remove an entry."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, entry: AuditEntry) -> None:
        """Record one entry (its own transaction, committed before the response is sent)."""
        with self.db.transaction() as conn:
            conn.execute(
                insert(t.audit_log).values(
                    at=entry.at,
                    request_id=entry.request_id,
                    client_id=entry.client_id,
                    party=entry.party,
                    remote=entry.remote,
                    method=entry.method,
                    path=entry.path[:2048],
                    action=entry.action,
                    target=entry.target[:2048] if entry.target else None,
                    status_code=entry.status_code,
                    outcome=entry.outcome,
                    detail=entry.detail,
                )
            )

    def entries(self, *, limit: int = 1000) -> list[AuditEntry]:
        """The newest ``limit`` entries, oldest first."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)).all()
        return [
            AuditEntry(
                r.at,
                r.request_id,
                r.method,
                r.path,
                r.action,
                r.status_code,
                r.outcome,
                r.client_id,
                r.party,
                r.remote,
                r.target,
                r.detail,
                r.id,
            )
            for r in reversed(rows)
        ]


__all__ = ["AuditEntry", "AuditLog", "outcome_of"]
