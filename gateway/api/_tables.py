"""The HTTP API's tables (alembic branch ``api``, migrations ``gateway/migrations/versions/api_*.py``).

Declared on the gateway's shared :data:`vcgate.gateway._db.metadata`; the migration creates exactly these. Times are
stored as timezone-aware UTC datetimes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from .._db import metadata

#: OAuth2 clients: a client belongs to one party (a DID) and holds a set of scopes; the secret is stored only as
#: an scrypt hash (``scrypt$N$r$p$salt$hash``).
clients = Table(
    "api_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(256), nullable=False),
    Column("party", String(512), nullable=False, index=True),
    Column("scopes", Text, nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

#: Append-only audit log of state-changing requests. UPDATE and DELETE are refused by database triggers.
audit_log = Table(
    "api_audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("request_id", String(64), nullable=False),
    Column("client_id", String(64), nullable=True),
    Column("party", String(512), nullable=True),
    Column("remote", String(128), nullable=True),
    Column("method", String(16), nullable=False),
    Column("path", String(2048), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(2048), nullable=True),
    Column("status_code", Integer, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text, nullable=True),
)

#: Status lists the gateway publishes at ``/status/{list_id}``; ``version`` makes concurrent updates safe
#: (compare-and-swap), ``next_index`` hands out entries.
status_lists = Table(
    "api_status_lists",
    metadata,
    Column("list_id", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("encoded_list", Text, nullable=False),
    Column("next_index", Integer, nullable=False),
    Column("length", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("credential", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Credentials the gateway issued or received in a presentation submission, with the party that owns them
#: (the issuing client's party, or the submitting holder) and the identifiers they are indexed by.
credentials = Table(
    "api_credentials",
    metadata,
    Column("credential_id", String(2048), primary_key=True),
    Column("party", String(512), nullable=False, index=True),
    Column("source", String(16), nullable=False),
    Column("issuer", String(512), nullable=True, index=True),
    Column("types", Text, nullable=False),
    Column("subject_id", String(2048), nullable=True, index=True),
    Column("digest", String(64), nullable=False),
    Column("document", Text, nullable=False),
    Column("submission_id", String(64), nullable=True, index=True),
    Column("status_list_id", String(64), ForeignKey("api_status_lists.list_id"), nullable=True),
    Column("status_index", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: Challenges handed out by ``POST /presentations/available``; each is used at most once.
challenges = Table(
    "api_challenges",
    metadata,
    Column("challenge", String(128), primary_key=True),
    Column("domain", String(512), nullable=False),
    Column("party", String(512), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("query", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

#: Verified presentation submissions.
submissions = Table(
    "api_submissions",
    metadata,
    Column("submission_id", String(64), primary_key=True),
    Column("party", String(512), nullable=False, index=True),
    Column("client_id", String(64), nullable=False),
    Column("challenge", String(128), ForeignKey("api_challenges.challenge"), nullable=False),
    Column("holder", String(512), nullable=False),
    Column("presentation", Text, nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

__all__ = ["audit_log", "challenges", "clients", "credentials", "status_lists", "submissions"]
