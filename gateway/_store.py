"""The gateway's store: parties, credentials and their identifier index, ledger facts, the verification-result
cache, and jobs (ARCHITECTURE.md, "Runtime").

SQLAlchemy Core over :class:`vcgate.gateway._db.Database` (a SQLite file by default, PostgreSQL by
``VCGATE_DATABASE_URL``); the schema is created by the alembic migrations of the ``jobs`` branch
(``gateway/migrations/versions/jobs_*.py``). Every write is idempotent: storing the same credential, party,
revocation or result twice changes nothing. A ``generation`` counter moves whenever something that a cached
verification depends on changes (parties, revocations, ledger reads, mappings, fetched documents); cached results
are keyed by (credential digest, policy digest, ``checked_at``, generation).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from vcgate.adapters.sdk import CredentialMapping, MappingError
from vcgate.canonical_schema import VcgateError

from ._db import Database, metadata
from ._links import credential_identifiers
from ._parties import Party, PartyError, PartyRegistry
from .verification._pipeline import LedgerObservation, LedgerRevocation, credential_digest
from .verification._status import StatusListFetcher, StatusListFetchError

parties_table = Table(
    "parties",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("did", Text, nullable=False),
    Column("document", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)
credentials_table = Table(
    "credentials",
    metadata,
    Column("id", String(512), primary_key=True),
    Column("digest", String(80), nullable=False),
    Column("types", Text, nullable=False),
    Column("issuer", Text),
    Column("document", Text, nullable=False),
    Column("source", Text),
    Column("stored_at", String(40), nullable=False),
)
credential_index_table = Table(
    "credential_index",
    metadata,
    Column("scheme", String(40), primary_key=True),
    Column("value", String(512), primary_key=True),
    Column("credential_id", String(512), primary_key=True),
)
revocations_table = Table(
    "ledger_revocations",
    metadata,
    Column("credential_id", String(512), primary_key=True),
    Column("ledger_id", String(160), nullable=False),
    Column("locator", Text, nullable=False),
    Column("ledger_time", String(40), nullable=False),
    Column("ledger_height", Integer, nullable=False),
)
observations_table = Table(
    "ledger_observations",
    metadata,
    Column("ledger_id", String(160), primary_key=True),
    Column("height", Integer, nullable=False),
    Column("last_ok_at", String(40)),
    Column("last_attempt_at", String(40)),
    Column("last_error", Text, nullable=False, default=""),
)
mappings_table = Table(
    "mappings",
    metadata,
    Column("mapping_id", String(512), primary_key=True),
    Column("digest", String(80), primary_key=True),
    Column("document", Text, nullable=False),
)
raw_records_table = Table(
    "raw_records",
    metadata,
    Column("ledger_id", String(160), primary_key=True),
    Column("locator", String(512), primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("media_type", String(120), nullable=False),
)
documents_table = Table(
    "fetched_documents",
    metadata,
    Column("url", String(1024), primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("fetched_at", String(40), nullable=False),
)
adapters_table = Table(
    "adapter_registrations",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("plugin", String(128), nullable=False),
    Column("config", Text, nullable=False),
    Column("cursor", Text),
    Column("registered_at", String(40), nullable=False),
    Column("party", Text),
    Column("kind", String(64)),
    Column("ledger_id", String(160)),
    Column("last_sync", Text),
)
quarantine_table = Table(
    "sync_quarantine",
    metadata,
    Column("adapter", String(128), primary_key=True),
    Column("locator", String(512), primary_key=True),
    Column("ledger_id", String(160), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("code", String(80), nullable=False),
    Column("reason", Text, nullable=False),
    Column("record", Text),
    Column("first_seen", String(40), nullable=False),
    Column("last_tried", String(40), nullable=False),
    Column("attempts", Integer, nullable=False),
)
meta_table = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
cache_table = Table(
    "verification_cache",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("credential_id", String(512), nullable=False),
    Column("result", Text, nullable=False),
)
jobs_table = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("source", Text, nullable=False),
    Column("policy_name", Text, nullable=False),
    Column("policy_digest", String(80), nullable=False),
    Column("policy", Text, nullable=False),
    Column("checked_at", String(40), nullable=False),
    Column("total_rows", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("finished_at", String(40)),
)
job_rows_table = Table(
    "job_rows",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("row_no", Integer, primary_key=True),
    Column("entry_key", String(80)),
    Column("problem", Text),
    Column("raw", Text, nullable=False, default=""),
)
entries_table = Table(
    "entries",
    metadata,
    Column("entry_key", String(80), primary_key=True),
    Column("entry_number", String(128), nullable=False),
    Column("entry", Text, nullable=False),
)
results_table = Table(
    "entry_results",
    metadata,
    Column("entry_key", String(80), primary_key=True),
    Column("policy_digest", String(80), primary_key=True),
    Column("checked_at", String(40), primary_key=True),
    Column("verdict", String(20), nullable=False),
    Column("result", Text, nullable=False),
)
Index("ix_credential_index_value", credential_index_table.c.value)
Index("ix_credential_index_credential_id", credential_index_table.c.credential_id)
claims_table = Table(
    "invoice_claims",
    metadata,
    Column("entry_number", String(128), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("entry_key", String(80), nullable=False),
    Column("entry_date", String(40), nullable=False),
    Column("invoice_number", String(256), nullable=False),
    Column("gtin", String(14), nullable=False),
    Column("quantity", Integer, nullable=False),
    # The claiming entry's importer-of-record number (or importer DID); NULL for claims recorded before jobs_0002.
    Column("importer", String(512), nullable=True),
)


class StoreError(VcgateError):
    """A store operation was refused (a party rewriting its binding history, an unknown job, …)."""


def _now() -> str:
    return _ts(datetime.now(UTC))


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, skipping those whose primary key exists (idempotent writes); returns rows inserted."""
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(table).on_conflict_do_nothing()
    elif dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - vcgate supports SQLite and PostgreSQL
        raise StoreError(f"unsupported database dialect {dialect}")
    result = conn.execute(stmt, list(rows))
    return int(result.rowcount or 0)


def _upsert(conn: Connection, table: Table, row: Mapping[str, Any], keys: Sequence[str]) -> None:
    dialect = conn.dialect.name
    values = {k: v for k, v in row.items() if k not in keys}
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(table).values(**row).on_conflict_do_update(index_elements=list(keys), set_=values)
    else:
        stmt = postgresql.insert(table).values(**row).on_conflict_do_update(index_elements=list(keys), set_=values)
    conn.execute(stmt)


def _write_credentials(conn: Connection, documents: Iterable[Mapping[str, Any]], source: str | None) -> int:
    """Store (or replace, when the digest differs) credentials and their index rows; returns how many changed.

    Batched: one lookup of the stored digests per 500 ids and one multi-row insert per table (a sync page of
    hundreds of credentials costs a handful of statements, not three per credential).
    """
    latest: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for document in documents:
        cid = document.get("id")
        if not isinstance(cid, str) or not cid:
            raise StoreError("a stored credential needs an id")
        latest[cid] = (credential_digest(document), document)
    if not latest:
        return 0
    stored: dict[str, str] = {}
    t = credentials_table
    for chunk in _chunks(sorted(latest), 500):
        stored.update((r[0], r[1]) for r in conn.execute(select(t.c.id, t.c.digest).where(t.c.id.in_(chunk))))
    changed = [cid for cid, (digest, _) in latest.items() if stored.get(cid) != digest]
    replaced = [cid for cid in changed if cid in stored]
    for chunk in _chunks(replaced, 500):
        conn.execute(delete(t).where(t.c.id.in_(chunk)))
        conn.execute(delete(credential_index_table).where(credential_index_table.c.credential_id.in_(chunk)))
    if not changed:
        return 0
    now = _now()
    rows: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for cid in changed:
        digest, document = latest[cid]
        types = document.get("type")
        issuer = document.get("issuer")
        rows.append(
            {
                "id": cid,
                "digest": digest,
                "types": json.dumps(types if isinstance(types, list) else [types]),
                "issuer": issuer.get("id") if isinstance(issuer, dict) else issuer,
                "document": json.dumps(document, sort_keys=True),
                "source": source,
                "stored_at": now,
            }
        )
        keys.extend({"scheme": s, "value": v[:512], "credential_id": cid} for s, v in credential_identifiers(document))
    conn.execute(t.insert(), rows)
    _insert_ignore(conn, credential_index_table, keys)
    return len(changed)


def _drop_above(conn: Connection, source: str, ledger_id: str, height: int) -> int:
    removed: list[str] = []
    rows = conn.execute(
        select(credentials_table.c.id, credentials_table.c.document).where(credentials_table.c.source == source)
    )
    for cid, body in rows:
        try:
            evidence = json.loads(body).get("evidence") or []
            heights = [
                int(e["ledgerHeight"])
                for e in evidence
                if isinstance(e, dict) and e.get("ledgerId") == ledger_id and "ledgerHeight" in e
            ]
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        if heights and max(heights) > height:
            removed.append(cid)
    for cid in removed:
        conn.execute(delete(credentials_table).where(credentials_table.c.id == cid))
        conn.execute(delete(credential_index_table).where(credential_index_table.c.credential_id == cid))
    # Records held in quarantine from the abandoned branch are gone from the ledger too.
    q = quarantine_table
    for locator, record in conn.execute(select(q.c.locator, q.c.record).where(q.c.adapter == source)).all():
        try:
            above = int(json.loads(record)["ledgerHeight"]) > height if record else False
        except (ValueError, TypeError, KeyError):
            above = False
        if above:
            conn.execute(delete(q).where(and_(q.c.adapter == source, q.c.locator == locator)))
    return len(removed)


def _revocation_row(revocation: LedgerRevocation) -> dict[str, Any]:
    return {
        "credential_id": revocation.credential_id,
        "ledger_id": revocation.ledger_id,
        "locator": revocation.locator,
        "ledger_time": _ts(revocation.ledger_time),
        "ledger_height": revocation.ledger_height,
    }


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """A stored credential: the document, its digest and where it came from."""

    id: str
    digest: str
    types: tuple[str, ...]
    issuer: str | None
    document: dict[str, Any]
    source: str | None


@dataclass(frozen=True, slots=True)
class AdapterRegistration:
    """An adapter registered for ``vcgate sync``: the plugin name, its configuration and the resume cursor."""

    name: str
    plugin: str
    config: dict[str, Any]
    cursor: Any
    party: str | None = None
    kind: str | None = None
    ledger_id: str | None = None
    last_sync: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A record ``vcgate sync`` could not turn into a stored credential, kept with its reason so the cursor can
    move on; ``vcgate sync --retry-quarantined`` tries it again (after a mapping is fixed, a key is given, …).

    ``stage`` is where it failed (``translate``, ``sign``, ``store``); ``record`` is the source record in the
    remote protocol's wire form (``None`` when it could not be serialised: a retry then fetches it again).
    """

    adapter: str
    locator: str
    ledger_id: str
    stage: str
    code: str
    reason: str
    record: dict[str, Any] | None = None
    first_seen: str = ""
    last_tried: str = ""
    attempts: int = 1

    def to_json(self) -> dict[str, Any]:
        """JSON form (without the record body) for ``vcgate sync --json`` and ``vcgate adapters status``."""
        return {
            "adapter": self.adapter,
            "locator": self.locator,
            "ledgerId": self.ledger_id,
            "stage": self.stage,
            "code": self.code,
            "reason": self.reason,
            "firstSeen": self.first_seen,
            "lastTried": self.last_tried,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class PageWrite:
    """Everything one page of ``vcgate sync`` changes, committed in one transaction by :meth:`Store.commit_page`.

    ``keep_through`` (a reorg) drops credentials of ``adapter`` above that height first; ``cursor`` (JSON, or
    ``None`` to leave it) is where the next pass resumes; ``released`` are locators leaving quarantine.
    """

    adapter: str
    ledger_id: str
    cursor: Any = None
    credentials: Iterable[Mapping[str, Any]] = ()
    revocations: Sequence[LedgerRevocation] = ()
    raw_records: Sequence[tuple[str, str, bytes, str]] = ()
    quarantined: Sequence[QuarantinedRecord] = ()
    released: Sequence[str] = ()
    keep_through: int | None = None


@dataclass(frozen=True, slots=True)
class PageCommit:
    """What :meth:`Store.commit_page` changed."""

    stored: int
    revocations: int
    rewound: int


class Store:
    """The gateway store. Build with :meth:`open`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Open (and migrate) the store at ``url`` / ``$VCGATE_DATABASE_URL`` / ``sqlite:///vcgate.sqlite``."""
        return cls(Database.open(url))

    @property
    def url(self) -> str:
        """The database URL (with its password, for handing to worker processes)."""
        return self.db.engine.url.render_as_string(hide_password=False)

    def close(self) -> None:
        """Release the database connections."""
        self.db.close()

    # -- generation ------------------------------------------------------------------------------------------

    def generation(self) -> int:
        """The store generation: changes whenever cached verification results may no longer hold."""
        with self.db.transaction() as conn:
            value = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "generation")).scalar()
        return int(value or 0)

    def _bump(self, conn: Connection) -> None:
        current = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "generation")).scalar()
        _upsert(conn, meta_table, {"key": "generation", "value": str(int(current or 0) + 1)}, ["key"])

    # -- parties ---------------------------------------------------------------------------------------------

    def put_party(self, party: Party) -> bool:
        """Add or update a party; returns whether anything changed.

        Bindings keep their history: an update may add bindings and close open ones (set ``validUntil``), but never
        removes a binding or moves its start, so credentials signed before a key rotation keep their attribution.
        """
        doc = json.dumps(party.to_json(), sort_keys=True)
        with self.db.transaction() as conn:
            old = conn.execute(select(parties_table.c.document).where(parties_table.c.id == party.id)).scalar()
            if old == doc:
                return False
            if old is not None:
                previous = Party.from_json(json.loads(old))
                for b in previous.bindings:
                    same = [
                        n
                        for n in party.bindings
                        if (n.kind, dict(n.match), n.valid_from) == (b.kind, dict(b.match), b.valid_from)
                    ]
                    if not same:
                        raise PartyError(
                            f"party {party.id}: binding {b.kind} {dict(b.match)} from {_ts(b.valid_from)} cannot be "
                            "removed; close it with validUntil instead",
                            code="PARTY_BINDING_HISTORY",
                        )
                    if b.valid_until is not None and same[0].valid_until != b.valid_until:
                        raise PartyError(
                            f"party {party.id}: a closed binding's validUntil cannot change",
                            code="PARTY_BINDING_HISTORY",
                        )
            _upsert(
                conn,
                parties_table,
                {"id": party.id, "did": party.did, "document": doc, "updated_at": _now()},
                ["id"],
            )
            self._bump(conn)
        return True

    def parties(self) -> PartyRegistry:
        """A snapshot of every registered party."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(parties_table.c.document)).scalars().all()
        return PartyRegistry.of(Party.from_json(json.loads(r)) for r in rows)

    # -- credentials and the index ---------------------------------------------------------------------------

    def put_credential(self, document: Mapping[str, Any], *, source: str | None = None) -> bool:
        """Store a credential under its ``id`` and index it; returns whether it was new or changed."""
        return self.put_credentials([document], source=source) > 0

    def put_credentials(self, documents: Iterable[Mapping[str, Any]], *, source: str | None = None) -> int:
        """Store many credentials in one transaction; returns how many were new or changed."""
        with self.db.transaction() as conn:
            return _write_credentials(conn, documents, source)

    def drop_above(self, source: str, ledger_id: str, height: int) -> int:
        """A reorg: remove credentials stored from ``source`` whose evidence on ``ledger_id`` lies above ``height``
        (and their index rows). Returns how many were removed; survivors come again with the same ids."""
        with self.db.transaction() as conn:
            removed = _drop_above(conn, source, ledger_id, height)
            if removed:
                self._bump(conn)
        return removed

    def credential(self, credential_id: str) -> StoredCredential | None:
        """The stored credential with this id."""
        found = self.credentials([credential_id])
        return found.get(credential_id)

    def credentials(self, ids: Iterable[str]) -> dict[str, StoredCredential]:
        """Stored credentials by id (missing ids are left out)."""
        wanted = sorted(set(ids))
        out: dict[str, StoredCredential] = {}
        if not wanted:
            return out
        t = credentials_table
        with self.db.transaction() as conn:
            for chunk in _chunks(wanted, 500):
                for row in conn.execute(select(t).where(t.c.id.in_(chunk))):
                    out[row.id] = StoredCredential(
                        row.id,
                        row.digest,
                        tuple(json.loads(row.types)),
                        row.issuer,
                        json.loads(row.document),
                        row.source,
                    )
        return out

    def credential_ids(self, keys: Iterable[tuple[str, str]]) -> set[str]:
        """Ids of credentials carrying any of the (scheme, value) identifiers."""
        wanted = sorted(set(keys))
        out: set[str] = set()
        t = credential_index_table
        with self.db.transaction() as conn:
            for chunk in _chunks(wanted, 200):
                rows = conn.execute(select(t.c.credential_id).where(tuple_(t.c.scheme, t.c.value).in_(chunk)))
                out.update(r[0] for r in rows)
        return out

    def search(self, value: str) -> list[tuple[str, str, str]]:
        """(scheme, value, credential id) for every index entry whose value is ``value`` (any scheme)."""
        t = credential_index_table
        with self.db.transaction() as conn:
            rows = conn.execute(select(t.c.scheme, t.c.value, t.c.credential_id).where(t.c.value == value))
            return sorted((r[0], r[1], r[2]) for r in rows)

    def index_of(self, credential_id: str) -> list[tuple[str, str]]:
        """The identifiers a stored credential is indexed under."""
        t = credential_index_table
        with self.db.transaction() as conn:
            rows = conn.execute(select(t.c.scheme, t.c.value).where(t.c.credential_id == credential_id))
            return sorted((r[0], r[1]) for r in rows)

    def count_credentials(self) -> int:
        """How many credentials are stored."""
        with self.db.transaction() as conn:
            return int(conn.execute(select(func.count()).select_from(credentials_table)).scalar() or 0)

    # -- ledger facts ----------------------------------------------------------------------------------------

    def put_revocation(self, revocation: LedgerRevocation) -> bool:
        """Record a ledger-native revocation (idempotent)."""
        with self.db.transaction() as conn:
            added = _insert_ignore(conn, revocations_table, [_revocation_row(revocation)]) > 0
            if added:
                self._bump(conn)
        return added

    def revocations(self) -> dict[str, LedgerRevocation]:
        """Every ledger revocation, by revoked credential id."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(revocations_table)).all()
        return {
            r.credential_id: LedgerRevocation(
                r.credential_id, r.ledger_id, r.locator, _parse(r.ledger_time) or datetime.min, r.ledger_height
            )
            for r in rows
        }

    def observe(self, ledger_id: str, *, at: datetime, height: int | None = None, error: str = "") -> None:
        """Record a read of ``ledger_id`` at ``at``: successful with its ``height``, or failed with ``error``."""
        with self.db.transaction() as conn:
            old = conn.execute(select(observations_table).where(observations_table.c.ledger_id == ledger_id)).first()
            row = {
                "ledger_id": ledger_id,
                "height": height if height is not None else (old.height if old else 0),
                "last_ok_at": _ts(at) if not error else (old.last_ok_at if old else None),
                "last_attempt_at": _ts(at),
                "last_error": error,
            }
            _upsert(conn, observations_table, row, ["ledger_id"])
            self._bump(conn)

    def observations(self) -> dict[str, LedgerObservation]:
        """The last reads of every ledger."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(observations_table)).all()
        return {
            r.ledger_id: LedgerObservation(
                r.ledger_id, r.height, _parse(r.last_ok_at), _parse(r.last_attempt_at), r.last_error or ""
            )
            for r in rows
        }

    def put_mapping(self, mapping: CredentialMapping) -> bool:
        """Register a published mapping (replay needs it)."""
        row = {"mapping_id": mapping.id, "digest": mapping.digest, "document": json.dumps(dict(mapping.document))}
        with self.db.transaction() as conn:
            added = _insert_ignore(conn, mappings_table, [row]) > 0
            if added:
                self._bump(conn)
        return added

    def mappings(self) -> dict[tuple[str, str], CredentialMapping]:
        """Every registered mapping by (id, digest); a stored mapping that no longer parses is skipped."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(mappings_table)).all()
        out: dict[tuple[str, str], CredentialMapping] = {}
        for r in rows:
            try:
                m = CredentialMapping.from_json(json.loads(r.document), source=f"store:{r.mapping_id}")
            except MappingError:
                continue
            out[(m.id, m.digest)] = m
        return out

    def put_raw_record(self, ledger_id: str, locator: str, body: bytes, media_type: str) -> None:
        """Keep the raw record of digest-only evidence (replay fetches it here)."""
        with self.db.transaction() as conn:
            _insert_ignore(
                conn,
                raw_records_table,
                [{"ledger_id": ledger_id, "locator": locator, "body": body, "media_type": media_type}],
            )

    def raw_record(self, ledger_id: str, locator: str) -> bytes | dict[str, Any] | None:
        """The raw record kept for (ledger id, locator): a JSON object, or bytes for other media types."""
        t = raw_records_table
        with self.db.transaction() as conn:
            row = conn.execute(select(t).where(and_(t.c.ledger_id == ledger_id, t.c.locator == locator))).first()
        if row is None:
            return None
        if row.media_type.split(";")[0].strip() == "application/json":
            value = json.loads(row.body)
            return value if isinstance(value, dict) else None
        return bytes(row.body)

    def put_document(self, url: str, body: bytes, *, fetched_at: datetime) -> None:
        """Keep a fetched document (a status list credential) with the time it was fetched."""
        with self.db.transaction() as conn:
            _upsert(conn, documents_table, {"url": url, "body": body, "fetched_at": _ts(fetched_at)}, ["url"])
            self._bump(conn)

    def documents(self) -> dict[str, tuple[bytes, datetime]]:
        """Every kept document: url -> (body, fetched at)."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(documents_table)).all()
        return {r.url: (bytes(r.body), _parse(r.fetched_at) or datetime.min) for r in rows}

    def document(self, url: str) -> tuple[bytes, datetime] | None:
        """One kept document: (body, fetched at), or None."""
        with self.db.transaction() as conn:
            row = conn.execute(select(documents_table).where(documents_table.c.url == url)).first()
        return None if row is None else (bytes(row.body), _parse(row.fetched_at) or datetime.min)

    # -- adapters --------------------------------------------------------------------------------------------

    def register_adapter(
        self,
        name: str,
        plugin: str,
        config: Mapping[str, Any],
        *,
        party: str | None = None,
        kind: str | None = None,
        ledger_id: str | None = None,
    ) -> None:
        """Register (or re-configure) an adapter instance for ``vcgate sync``; its cursor is kept."""
        with self.db.transaction() as conn:
            old = conn.execute(select(adapters_table).where(adapters_table.c.name == name)).first()
            row = {
                "name": name,
                "plugin": plugin,
                "config": json.dumps(dict(config), sort_keys=True),
                "cursor": old.cursor if old else None,
                "registered_at": _now(),
                "party": party if party is not None else (old.party if old else None),
                "kind": kind if kind is not None else (old.kind if old else None),
                "ledger_id": ledger_id if ledger_id is not None else (old.ledger_id if old else None),
                "last_sync": old.last_sync if old else None,
            }
            _upsert(conn, adapters_table, row, ["name"])
            self._bump(conn)

    def adapters(self) -> list[AdapterRegistration]:
        """Registered adapters, by name."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(adapters_table).order_by(adapters_table.c.name)).all()
        return [
            AdapterRegistration(
                r.name,
                r.plugin,
                json.loads(r.config),
                json.loads(r.cursor) if r.cursor else None,
                r.party,
                r.kind,
                r.ledger_id,
                json.loads(r.last_sync) if r.last_sync else None,
            )
            for r in rows
        ]

    def set_last_sync(self, name: str, summary: Mapping[str, Any]) -> None:
        """Keep the summary of adapter ``name``'s last sync pass (``vcgate adapters status`` shows it)."""
        with self.db.transaction() as conn:
            conn.execute(
                update(adapters_table)
                .where(adapters_table.c.name == name)
                .values(last_sync=json.dumps(dict(summary), sort_keys=True, default=str))
            )

    def remove_adapter(self, name: str) -> bool:
        """Stop syncing adapter ``name`` (a deactivated registration); its stored credentials stay. Returns whether
        it was registered."""
        with self.db.transaction() as conn:
            removed = conn.execute(delete(adapters_table).where(adapters_table.c.name == name)).rowcount
            if removed:
                self._bump(conn)
        return bool(removed)

    def set_cursor(self, name: str, cursor: Any) -> None:
        """Remember how far ``vcgate sync`` has read adapter ``name``."""
        with self.db.transaction() as conn:
            conn.execute(update(adapters_table).where(adapters_table.c.name == name).values(cursor=json.dumps(cursor)))

    # -- sync pages and the quarantine ------------------------------------------------------------------------

    def commit_page(self, page: PageWrite) -> PageCommit:
        """Commit one sync page in one transaction: reorg drops, raw records, credentials, revocations, quarantine
        changes and the cursor. A crash before the commit leaves the store as the previous page left it."""
        with self.db.transaction() as conn:
            rewound = (
                _drop_above(conn, page.adapter, page.ledger_id, page.keep_through)
                if page.keep_through is not None
                else 0
            )
            _insert_ignore(
                conn,
                raw_records_table,
                [
                    {"ledger_id": lid, "locator": loc, "body": b, "media_type": mt}
                    for lid, loc, b, mt in page.raw_records
                ],
            )
            stored = _write_credentials(conn, page.credentials, page.adapter)
            revoked = _insert_ignore(conn, revocations_table, [_revocation_row(r) for r in page.revocations])
            q = quarantine_table
            for locator in page.released:
                conn.execute(delete(q).where(and_(q.c.adapter == page.adapter, q.c.locator == locator)))
            for item in page.quarantined:
                self._quarantine(conn, item)
            if page.cursor is not None:
                conn.execute(
                    update(adapters_table)
                    .where(adapters_table.c.name == page.adapter)
                    .values(cursor=json.dumps(page.cursor))
                )
            if stored or revoked or rewound:
                self._bump(conn)
        return PageCommit(stored, revoked, rewound)

    @staticmethod
    def _quarantine(conn: Connection, item: QuarantinedRecord) -> None:
        q = quarantine_table
        old = conn.execute(
            select(q.c.first_seen, q.c.attempts).where(and_(q.c.adapter == item.adapter, q.c.locator == item.locator))
        ).first()
        now = item.last_tried or _now()
        row = {
            "adapter": item.adapter,
            "locator": item.locator[:512],
            "ledger_id": item.ledger_id,
            "stage": item.stage,
            "code": item.code[:80],
            "reason": item.reason,
            "record": json.dumps(item.record) if item.record is not None else None,
            "first_seen": old.first_seen if old else now,
            "last_tried": now,
            "attempts": (old.attempts + 1) if old else 1,
        }
        _upsert(conn, q, row, ["adapter", "locator"])

    def quarantined(self, adapter: str | None = None) -> list[QuarantinedRecord]:
        """Quarantined records (of ``adapter``, or of all), oldest first."""
        q = quarantine_table
        stmt = select(q).order_by(q.c.adapter, q.c.first_seen, q.c.locator)
        if adapter is not None:
            stmt = stmt.where(q.c.adapter == adapter)
        with self.db.transaction() as conn:
            rows = conn.execute(stmt).all()
        return [
            QuarantinedRecord(
                r.adapter,
                r.locator,
                r.ledger_id,
                r.stage,
                r.code,
                r.reason,
                json.loads(r.record) if r.record else None,
                r.first_seen,
                r.last_tried,
                r.attempts,
            )
            for r in rows
        ]

    # -- the verification-result cache -----------------------------------------------------------------------

    @staticmethod
    def cache_key(digest: str, policy_digest: str, checked_at: datetime, generation: int) -> str:
        """The cache key of a verification result: (credential digest, policy digest, instant, generation)."""
        text = json.dumps([digest, policy_digest, _ts(checked_at), generation])
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def cached_results(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cached pipeline results (JSON) by cache key."""
        wanted = sorted(set(keys))
        out: dict[str, dict[str, Any]] = {}
        with self.db.transaction() as conn:
            for chunk in _chunks(wanted, 500):
                rows = conn.execute(select(cache_table.c.key, cache_table.c.result).where(cache_table.c.key.in_(chunk)))
                out.update((r[0], json.loads(r[1])) for r in rows)
        return out

    def cache_results(self, results: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        """Store pipeline results: cache key -> (credential id, result JSON)."""
        rows = [{"key": k, "credential_id": cid, "result": json.dumps(r)} for k, (cid, r) in results.items()]
        with self.db.transaction() as conn:
            _insert_ignore(conn, cache_table, rows)

    # -- jobs ------------------------------------------------------------------------------------------------

    def job(self, job_id: str) -> dict[str, Any] | None:
        """A job's record (``id``, ``source``, ``policy``, ``checked_at``, ``state``, …)."""
        with self.db.transaction() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["policy"] = json.loads(out["policy"])
        return out

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, newest first (without the policy)."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(jobs_table).order_by(jobs_table.c.created_at.desc())).all()
        return [{k: v for k, v in r._mapping.items() if k != "policy"} for r in rows]

    def create_job(
        self,
        job_id: str,
        *,
        source: str,
        policy_name: str,
        policy_digest: str,
        policy: Mapping[str, Any],
        checked_at: datetime,
        rows: Sequence[Mapping[str, Any]],
        entries: Sequence[Mapping[str, Any]],
        claims: Sequence[Mapping[str, Any]],
    ) -> bool:
        """Create a job with its input rows, normalised entries and invoice claims in one transaction.

        Returns ``False`` (and writes nothing) when the job exists: a job is created once and then only resumed.
        """
        with self.db.transaction() as conn:
            if conn.execute(select(jobs_table.c.id).where(jobs_table.c.id == job_id)).first() is not None:
                return False
            conn.execute(
                jobs_table.insert().values(
                    id=job_id,
                    created_at=_now(),
                    source=source,
                    policy_name=policy_name,
                    policy_digest=policy_digest,
                    policy=json.dumps(dict(policy), sort_keys=True),
                    checked_at=_ts(checked_at),
                    total_rows=len(rows),
                    state="running",
                )
            )
            _insert_ignore(conn, job_rows_table, [dict(r, job_id=job_id) for r in rows])
            _insert_ignore(conn, entries_table, list(entries))
            for claim in claims:
                _upsert(conn, claims_table, claim, ["entry_number", "line"])
        return True

    def job_rows(self, job_id: str) -> list[dict[str, Any]]:
        """The job's input rows in order: ``row_no``, ``entry_key`` (or ``problem``), ``raw``."""
        t = job_rows_table
        with self.db.transaction() as conn:
            rows = conn.execute(select(t).where(t.c.job_id == job_id).order_by(t.c.row_no)).all()
        return [
            {
                "row_no": r.row_no,
                "entry_key": r.entry_key,
                "problem": json.loads(r.problem) if r.problem else None,
                "raw": r.raw,
            }
            for r in rows
        ]

    def entries(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Normalised entries (JSON) by entry key."""
        wanted = sorted(set(keys))
        out: dict[str, dict[str, Any]] = {}
        with self.db.transaction() as conn:
            for chunk in _chunks(wanted, 500):
                rows = conn.execute(
                    select(entries_table.c.entry_key, entries_table.c.entry).where(entries_table.c.entry_key.in_(chunk))
                )
                out.update((r[0], json.loads(r[1])) for r in rows)
        return out

    def results(self, keys: Iterable[str], policy_digest: str, checked_at: datetime) -> dict[str, dict[str, Any]]:
        """Stored entry results under (policy digest, checked at), by entry key."""
        wanted = sorted(set(keys))
        t = results_table
        out: dict[str, dict[str, Any]] = {}
        with self.db.transaction() as conn:
            for chunk in _chunks(wanted, 500):
                rows = conn.execute(
                    select(t.c.entry_key, t.c.result).where(
                        and_(
                            t.c.entry_key.in_(chunk),
                            t.c.policy_digest == policy_digest,
                            t.c.checked_at == _ts(checked_at),
                        )
                    )
                )
                out.update((r[0], json.loads(r[1])) for r in rows)
        return out

    def result_verdicts(self, keys: Iterable[str], policy_digest: str, checked_at: datetime) -> dict[str, str]:
        """The verdict column of the stored entry results under (policy digest, checked at), by entry key (what
        :meth:`results` holds under ``verdict``, without reading and parsing each result)."""
        wanted = sorted(set(keys))
        t = results_table
        out: dict[str, str] = {}
        with self.db.transaction() as conn:
            for chunk in _chunks(wanted, 500):
                rows = conn.execute(
                    select(t.c.entry_key, t.c.verdict).where(
                        and_(
                            t.c.entry_key.in_(chunk),
                            t.c.policy_digest == policy_digest,
                            t.c.checked_at == _ts(checked_at),
                        )
                    )
                )
                out.update((r[0], r[1]) for r in rows)
        return out

    def done_keys(self, keys: Iterable[str], policy_digest: str, checked_at: datetime) -> set[str]:
        """Which entry keys already have a stored result."""
        wanted = sorted(set(keys))
        t = results_table
        out: set[str] = set()
        with self.db.transaction() as conn:
            for chunk in _chunks(wanted, 500):
                rows = conn.execute(
                    select(t.c.entry_key).where(
                        and_(
                            t.c.entry_key.in_(chunk),
                            t.c.policy_digest == policy_digest,
                            t.c.checked_at == _ts(checked_at),
                        )
                    )
                )
                out.update(r[0] for r in rows)
        return out

    def put_results(self, results: Sequence[Mapping[str, Any]], policy_digest: str, checked_at: datetime) -> int:
        """Store entry results (one transaction; an existing result is never overwritten). Returns rows written."""
        rows = [
            {
                "entry_key": r["entryKey"],
                "policy_digest": policy_digest,
                "checked_at": _ts(checked_at),
                "verdict": r["verdict"],
                "result": json.dumps(r, sort_keys=True),
            }
            for r in results
        ]
        with self.db.transaction() as conn:
            return _insert_ignore(conn, results_table, rows)

    def finish_job(self, job_id: str) -> None:
        """Mark a job finished (idempotent)."""
        with self.db.transaction() as conn:
            conn.execute(
                update(jobs_table)
                .where(and_(jobs_table.c.id == job_id, jobs_table.c.state != "finished"))
                .values(state="finished", finished_at=_now())
            )

    def claims(self, invoice_numbers: Iterable[str]) -> list[dict[str, Any]]:
        """Every recorded invoice claim on these invoices (rows as :meth:`Entry.claims` makes them)."""
        invoices = sorted(set(invoice_numbers))
        out: list[dict[str, Any]] = []
        t = claims_table
        with self.db.transaction() as conn:
            for chunk in _chunks(invoices, 500):
                out.extend(dict(r._mapping) for r in conn.execute(select(t).where(t.c.invoice_number.in_(chunk))))
        return out

    def put_claims(self, claims: Sequence[Mapping[str, Any]]) -> None:
        """Record invoice claims (a later claim for the same entry number and line replaces the earlier one)."""
        with self.db.transaction() as conn:
            for claim in claims:
                _upsert(conn, claims_table, claim, ["entry_number", "line"])


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class StoreStatusListFetcher:
    """Serves status list credentials kept in the store (fetched by ``vcgate sync``), refusing stale ones.

    A list fetched longer ago than the policy's ``trust.freshness.status`` before the check time is refused, which the
    status checker reports as ``STATUS_UNREACHABLE`` (an error: the credential's status is unknown).
    """

    def __init__(
        self, documents: Mapping[str, tuple[bytes, datetime]], *, checked_at: datetime, max_age_seconds: float
    ) -> None:
        self._documents = documents
        self._checked_at = checked_at
        self._max_age = max_age_seconds

    def fetch(self, url: str) -> bytes:
        """The kept body of ``url``; raises :class:`StatusListFetchError` when absent or too old."""
        found = self._documents.get(url)
        if found is None:
            raise StatusListFetchError(url, "not fetched by vcgate sync")
        body, fetched_at = found
        if (self._checked_at - fetched_at).total_seconds() > self._max_age:
            raise StatusListFetchError(url, f"fetched at {_ts(fetched_at)}, older than trust.freshness.status")
        return body


class LiveStoreStatusListFetcher:
    """Status lists kept in a live store (a long-running API: ``vcgate sync`` may add lists meanwhile), each read
    when asked and refused when older than ``max_age_seconds`` before ``clock()``; a URL the store does not keep
    fresh goes to ``fallback`` (none: the store's reason is the error). What ``POST /credentials/verify`` reads, so it
    answers as ``vcgate verify --db`` and jobs do (:class:`StoreStatusListFetcher`)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        max_age_seconds: float,
        fallback: StatusListFetcher | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_age = max_age_seconds
        self.fallback = fallback

    def fetch(self, url: str) -> bytes:
        """The kept body of ``url`` if fresh, else ``fallback``'s; raises :class:`StatusListFetchError`."""
        found = self.store.document(url)
        try:
            return StoreStatusListFetcher(
                {} if found is None else {url: found}, checked_at=self.clock(), max_age_seconds=self.max_age
            ).fetch(url)
        except StatusListFetchError:
            if self.fallback is None:
                raise
            return self.fallback.fetch(url)


Index("ix_invoice_claims_invoice_number_gtin", claims_table.c.invoice_number, claims_table.c.gtin)
