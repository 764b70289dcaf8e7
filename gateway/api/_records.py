"""What the HTTP API keeps: credentials it issued or received (indexed by id, issuer, type and subject), the
presentation exchange's one-time challenges, and verified submissions.

The jobs layer's credential store (``gateway/_store.py``) is meant to index submitted credentials too; until it is
wired in, the API keeps them in its own ``api_credentials`` table (docs/http-api.md, "Not yet").
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from vcgate.canonical_schema import VcgateError

from .._db import Database, DatabaseError
from ..verification._verify import issuer_id
from . import _tables as t


class DuplicateCredentialError(VcgateError):
    """A credential with this id is already stored."""


@dataclass(frozen=True)
class StoredCredential:
    """A stored credential and who owns it."""

    credential_id: str
    party: str
    source: str
    document: Any
    status_list_id: str | None
    status_index: int | None
    submission_id: str | None


def _types(doc: Mapping[str, Any]) -> list[str]:
    value = doc.get("type")
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _subject_id(doc: Mapping[str, Any]) -> str | None:
    subject = doc.get("credentialSubject")
    if isinstance(subject, list) and subject:
        subject = subject[0]
    if isinstance(subject, dict) and isinstance(subject.get("id"), str):
        return str(subject["id"])[:2048]
    return None


def _row_values(
    doc: Mapping[str, Any],
    *,
    original: Any = None,
    credential_id: str | None = None,
    party: str,
    source: str,
    at: datetime,
    submission_id: str | None = None,
    status: tuple[str, int] | None = None,
) -> dict[str, Any]:
    # ``original`` is what was received (a JSON-LD object, or a compact vc+jwt string); ``doc`` its credential.
    text = json.dumps(doc if original is None else original, separators=(",", ":"), ensure_ascii=False)
    issuer = issuer_id(doc)
    return {
        "credential_id": credential_id or str(doc["id"]),
        "party": party,
        "source": source,
        "issuer": issuer[:512] if issuer else None,
        "types": json.dumps(_types(doc)),
        "subject_id": _subject_id(doc),
        "digest": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "document": text,
        "submission_id": submission_id,
        "status_list_id": status[0] if status else None,
        "status_index": status[1] if status else None,
        "created_at": at,
    }


class CredentialStore:
    """Credentials in the ``api_credentials`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_issued(
        self,
        doc: Mapping[str, Any],
        *,
        party: str,
        at: datetime,
        status: tuple[str, int] | None = None,
        original: Any = None,
    ) -> None:
        """Store a credential the gateway issued for ``party`` (``original``: what was returned, e.g. a compact
        vc+jwt, when it is not ``doc`` itself); :class:`DuplicateCredentialError` if its id is taken."""
        values = _row_values(doc, original=original, party=party, source="issued", at=at, status=status)
        try:
            with self.db.transaction() as conn:
                conn.execute(insert(t.credentials).values(**values))
        except DatabaseError as exc:
            if isinstance(exc.__context__, IntegrityError) or "UNIQUE" in str(exc) or "duplicate" in str(exc):
                raise DuplicateCredentialError(f"a credential with id {doc.get('id')!r} exists") from None
            raise

    def get(self, credential_id: str) -> StoredCredential | None:
        """The stored credential with this id."""
        with self.db.transaction() as conn:
            row = conn.execute(select(t.credentials).where(t.credentials.c.credential_id == credential_id)).first()
        if row is None:
            return None
        return StoredCredential(
            row.credential_id,
            row.party,
            row.source,
            json.loads(row.document),
            row.status_list_id,
            row.status_index,
            row.submission_id,
        )

    def exists(self, credential_id: str) -> bool:
        """Whether a credential with this id is stored."""
        return self.get(credential_id) is not None


@dataclass(frozen=True)
class Challenge:
    """A challenge handed out for one presentation."""

    challenge: str
    domain: str
    party: str
    client_id: str
    expires_at: datetime
    used: bool


class Exchange:
    """The presentation exchange: challenges and submissions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def new_challenge(
        self, *, domain: str, party: str, client_id: str, query: Any, at: datetime, ttl_seconds: int
    ) -> Challenge:
        """A fresh one-time challenge for ``party``."""
        value = secrets.token_urlsafe(24)
        expires = (at + timedelta(seconds=ttl_seconds)).replace(microsecond=0)
        with self.db.transaction() as conn:
            conn.execute(
                insert(t.challenges).values(
                    challenge=value,
                    domain=domain,
                    party=party,
                    client_id=client_id,
                    query=json.dumps(query) if query is not None else None,
                    created_at=at,
                    expires_at=expires,
                    used_at=None,
                )
            )
        return Challenge(value, domain, party, client_id, expires, False)

    def challenge(self, value: str) -> Challenge | None:
        """The challenge, or None."""
        with self.db.transaction() as conn:
            row = conn.execute(select(t.challenges).where(t.challenges.c.challenge == value)).first()
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        return Challenge(row.challenge, row.domain, row.party, row.client_id, expires, row.used_at is not None)

    def submit(
        self,
        *,
        challenge: str,
        party: str,
        client_id: str,
        holder: str,
        presentation: Mapping[str, Any],
        credentials: Sequence[tuple[str, Any, Mapping[str, Any]]],
        at: datetime,
    ) -> str | None:
        """Consume ``challenge`` and store the verified presentation and its credentials, in one transaction.

        ``credentials`` are ``(id, as received, parsed credential)``. Returns the submission id, or None when the
        challenge was used meanwhile (nothing is stored then). A credential already stored under the same id is
        kept as it is (the first copy wins).
        """
        submission_id = secrets.token_hex(12)
        with self.db.transaction() as conn:
            res = conn.execute(
                update(t.challenges)
                .where(t.challenges.c.challenge == challenge, t.challenges.c.used_at.is_(None))
                .values(used_at=at)
            )
            if res.rowcount != 1:
                return None
            conn.execute(
                insert(t.submissions).values(
                    submission_id=submission_id,
                    party=party,
                    client_id=client_id,
                    challenge=challenge,
                    holder=holder,
                    presentation=json.dumps(presentation, separators=(",", ":"), ensure_ascii=False),
                    verified=True,
                    received_at=at,
                )
            )
            for credential_id, original, doc in credentials:
                known = conn.execute(
                    select(t.credentials.c.credential_id).where(t.credentials.c.credential_id == credential_id)
                ).first()
                if known is None:
                    values = _row_values(
                        doc,
                        original=original,
                        credential_id=credential_id,
                        party=party,
                        source="submitted",
                        at=at,
                        submission_id=submission_id,
                    )
                    conn.execute(insert(t.credentials).values(**values))
        return submission_id


__all__ = ["Challenge", "CredentialStore", "DuplicateCredentialError", "Exchange", "StoredCredential"]
