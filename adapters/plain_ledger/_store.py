"""Durable storage of the plain ledger through SQLAlchemy: a SQLite file by default, PostgreSQL by URL.

Tables: ``ledger_meta`` (origin, log key, tree size), ``ledger_entries`` (index, leaf bytes, leaf hash, record id,
kind, signer DID, superseded index, log time), ``ledger_nodes`` (every complete subtree hash, so any proof is
O(log n) reads), ``ledger_checkpoints`` (every signed checkpoint).

Durability and crash safety:

* one append batch is one transaction: entries, new Merkle nodes, the new signed checkpoint and the tree size commit
  together or not at all, so a crash leaves the previous consistent tree;
* an append is acknowledged only after ``COMMIT`` returned. SQLite runs with ``journal_mode=WAL`` and
  ``synchronous=FULL`` (the WAL is fsynced at every commit); PostgreSQL with its default ``synchronous_commit=on``;
* many appends share one commit (group commit, :meth:`PlainLedgerStore.append_batch`), which is what makes durable
  appends fast: the fsync is paid once per batch;
* writers serialise on the ``tree_size`` row (the first statement of every write transaction updates it), so two
  processes appending to one database cannot interleave; on open the tree head is recomputed from the stored nodes
  and compared with the latest signed checkpoint.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from vcgate.canonical_schema import Problem, VcgateError

from ._checkpoint import Checkpoint, NoteVerifier, open_checkpoint, sign_checkpoint
from ._entries import LedgerEntry, LogLeaf
from ._keys import LogKey, ledger_id_for
from ._merkle import (
    Frontier,
    MerkleProofError,
    NodeId,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    lookup_from,
    root_hash,
    root_nodes,
)
from ._verify import ConsistencyProof, InclusionProof

SCHEMA_VERSION = "1"
MAX_BATCH = 1000
NODE_CACHE_SIZE = 200_000
"""Committed Merkle node hashes kept in memory per store (about 20 MB at most)."""

# Stable problem codes for appends refused by the log's state (docs/plain-ledger.md).
DUPLICATE_RECORD_ID = "PLAIN_LEDGER_DUPLICATE_RECORD_ID"
SUPERSEDED_NOT_FOUND = "PLAIN_LEDGER_SUPERSEDED_NOT_FOUND"
SUPERSEDES_REVOCATION = "PLAIN_LEDGER_SUPERSEDES_REVOCATION"
SUPERSEDE_FORBIDDEN = "PLAIN_LEDGER_SUPERSEDE_FORBIDDEN"
ALREADY_REVOKED = "PLAIN_LEDGER_ALREADY_REVOKED"
NOT_FOUND = "PLAIN_LEDGER_NOT_FOUND"
BAD_RANGE = "PLAIN_LEDGER_BAD_RANGE"

_metadata = MetaData()
_meta = Table(
    "ledger_meta",
    _metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
_entries = Table(
    "ledger_entries",
    _metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("leaf", LargeBinary, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("record_id", String(256), nullable=True),
    Column("signer_did", String(2048), nullable=False),
    Column("supersedes", BigInteger, nullable=True),
    Column("logged_at", String(40), nullable=False),
    # A record id names one record; a record is revoked at most once. The store checks both first and answers with
    # a precise problem; the unique indexes are the backstop against a second writer.
    Index("ux_ledger_entries_record_id", "record_id", unique=True),
    Index("ux_ledger_entries_supersedes", "supersedes", unique=True),
)
_nodes = Table(
    "ledger_nodes",
    _metadata,
    # node_key = index * 64 + level: one integer key keeps lookups a plain IN (...) on every dialect.
    Column("node_key", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)
_checkpoints = Table(
    "ledger_checkpoints",
    _metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)


class StoreError(VcgateError):
    """The ledger database could not be used (not initialised, wrong key, unreachable, corrupt)."""


class LedgerRequestError(VcgateError):
    """A request the log refuses (unknown index, bad range, conflicting append); ``problem`` has the code."""

    def __init__(self, problem: Problem, status: int) -> None:
        super().__init__(f"{problem.title}: {problem.detail}" if problem.detail else problem.title)
        self.problem = problem
        self.status = status


def _node_key(node: NodeId) -> int:
    level, index = node
    return index * 64 + level


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL for ``target``: URLs pass through, anything else is a SQLite file path."""
    text = str(target)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def make_engine(target: str | Path) -> Engine:
    """An engine with the durability settings the ledger promises (SQLite: WAL + ``synchronous=FULL``)."""
    url = database_url(target)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                # WAL: readers never block the writer; synchronous=FULL: the WAL is fsynced at every commit, so an
                # acknowledged append survives power loss (https://sqlite.org/pragma.html#pragma_synchronous).
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.close()

            return engine
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot use the database {url!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One logged entry as stored: index, leaf bytes and hash, and its revocation state."""

    index: int
    leaf: bytes
    leaf_hash: bytes
    kind: str
    record_id: str | None
    signer_did: str
    supersedes: int | None
    logged_at: str
    revoked_by: int | None

    def to_json(self) -> dict[str, Any]:
        """The HTTP/CLI form: the leaf as JSON and as base64 (the exact bytes that were hashed)."""
        parsed = LogLeaf.from_bytes(self.leaf)
        return {
            "index": self.index,
            "leafHash": base64.b64encode(self.leaf_hash).decode("ascii"),
            "leaf": base64.b64encode(self.leaf).decode("ascii"),
            "entry": parsed.entry.to_json(),
            "loggedAt": self.logged_at,
            "kind": self.kind,
            "recordId": self.record_id,
            "supersedes": self.supersedes,
            "revokedBy": self.revoked_by,
        }


@dataclass(frozen=True, slots=True)
class AppendReceipt:
    """An acknowledged (committed, durable) append: its index and the checkpoint that first covers it."""

    index: int
    leaf_hash: bytes
    logged_at: str
    tree_size: int
    checkpoint: str

    def to_json(self) -> dict[str, Any]:
        """``{"index", "leafHash", "loggedAt", "treeSize", "checkpoint"}``."""
        return {
            "index": self.index,
            "leafHash": base64.b64encode(self.leaf_hash).decode("ascii"),
            "loggedAt": self.logged_at,
            "treeSize": self.tree_size,
            "checkpoint": self.checkpoint,
        }


AppendOutcome = AppendReceipt | LedgerRequestError


class PlainLedgerStore:
    """The ledger's database. Build with :meth:`create` or :meth:`open`; ``log_key`` is needed only to append."""

    def __init__(
        self, engine: Engine, verifier: NoteVerifier, log_key: LogKey | None, clock: Callable[[], datetime]
    ) -> None:
        self._engine = engine
        self._verifier = verifier
        self._log_key = log_key
        self._clock = clock
        self._write_lock = threading.Lock()
        self._frontier = Frontier.empty()
        self._node_cache: dict[int, bytes] = {}

    # -- construction ---------------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls, target: str | Path, log_key: LogKey, *, clock: Callable[[], datetime] = _utc_now
    ) -> PlainLedgerStore:
        """Create the tables and an empty log (size 0, signed checkpoint); refuses an initialised database."""
        engine = make_engine(target)
        try:
            _metadata.create_all(engine)
            with engine.begin() as conn:
                if conn.execute(select(_meta.c.value).where(_meta.c.key == "origin")).first() is not None:
                    raise StoreError(f"{database_url(target)} already holds a plain ledger")
                empty = Checkpoint(log_key.origin, 0, Frontier.empty().root())
                now = _rfc3339(clock())
                conn.execute(
                    insert(_meta),
                    [
                        {"key": "schema_version", "value": SCHEMA_VERSION},
                        {"key": "origin", "value": log_key.origin},
                        {"key": "verifier_key", "value": log_key.verifier.to_vkey()},
                        {"key": "ledger_id", "value": log_key.ledger_id},
                        {"key": "tree_size", "value": "0"},
                    ],
                )
                conn.execute(
                    insert(_checkpoints).values(
                        tree_size=0,
                        root_hash=empty.root_hash,
                        note=sign_checkpoint(empty, log_key.signer),
                        created_at=now,
                    )
                )
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot initialise the ledger database: {exc}") from None
        except StoreError:
            engine.dispose()
            raise
        return cls(engine, log_key.verifier, log_key, clock)

    @classmethod
    def open(
        cls, target: str | Path, log_key: LogKey | None = None, *, clock: Callable[[], datetime] = _utc_now
    ) -> PlainLedgerStore:
        """Open an initialised ledger; with ``log_key`` it must be the ledger's key (then appends are possible).

        Recomputes the tree head from the stored nodes and checks it against the latest signed checkpoint.
        """
        engine = make_engine(target)
        try:
            with engine.connect() as conn:
                meta = {str(k): str(v) for k, v in conn.execute(select(_meta.c.key, _meta.c.value))}
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(
                f"{database_url(target)} is not an initialised plain ledger (run `vcgate plain-ledger init`): "
                f"{type(exc).__name__}"
            ) from None
        if "verifier_key" not in meta:
            engine.dispose()
            raise StoreError(f"{database_url(target)} is not an initialised plain ledger")
        verifier = NoteVerifier.from_vkey(meta["verifier_key"])
        if log_key is not None and log_key.verifier != verifier:
            engine.dispose()
            raise StoreError(f"the log key {log_key.verifier.to_vkey()} is not this ledger's key {verifier.to_vkey()}")
        store = cls(engine, verifier, log_key, clock)
        try:
            store._self_check()
        except StoreError:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        """Release database connections."""
        self._engine.dispose()

    def __enter__(self) -> PlainLedgerStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- identity -------------------------------------------------------------------------------------------------

    @property
    def verifier(self) -> NoteVerifier:
        """The log's note verifier key (what verifiers pin)."""
        return self._verifier

    @property
    def origin(self) -> str:
        """Checkpoint origin line (= note key name)."""
        return self._verifier.name

    @property
    def ledger_id(self) -> str:
        """``plain:<first 16 hex chars of SHA-256(log public key)>``."""
        return ledger_id_for(self._verifier.public_key)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for inspection, e.g. reading SQLite pragmas back)."""
        return self._engine

    def durability(self) -> dict[str, str]:
        """The settings the durability promise rests on, read back from a live connection."""
        try:
            with self._engine.connect() as conn:
                if self._engine.dialect.name == "sqlite":
                    journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
                    sync = int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())
                    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
                    return {"dialect": "sqlite", "journal_mode": str(journal), "synchronous": names[sync]}
                if self._engine.dialect.name == "postgresql":
                    commit = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
                    fsync = conn.exec_driver_sql("SHOW fsync").scalar_one()
                    return {"dialect": "postgresql", "synchronous_commit": str(commit), "fsync": str(fsync)}
                return {"dialect": self._engine.dialect.name}
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the database settings: {exc}") from None

    # -- reading --------------------------------------------------------------------------------------------------

    def _read(self, fn: Callable[[Connection], Any]) -> Any:
        try:
            with self._engine.connect() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"ledger database error: {type(exc).__name__}: {exc}") from None

    def _lookup_nodes(self, conn: Connection, nodes: Iterable[NodeId]) -> dict[NodeId, bytes]:
        # A committed complete subtree never changes (the log only appends), so node hashes are cached: a proof then
        # costs one query (the tree size) once the upper levels are warm.
        found: dict[NodeId, bytes] = {}
        wanted: dict[int, NodeId] = {}
        for node in nodes:
            key = _node_key(node)
            cached = self._node_cache.get(key)
            if cached is None:
                wanted[key] = node
            else:
                found[node] = cached
        keys = list(wanted)
        for start in range(0, len(keys), 500):
            rows = conn.execute(
                select(_nodes.c.node_key, _nodes.c.hash).where(_nodes.c.node_key.in_(keys[start : start + 500]))
            )
            for key, value in rows:
                found[wanted[key]] = bytes(value)
                self._remember(key, bytes(value))
        return found

    def _remember(self, key: int, value: bytes) -> None:
        if len(self._node_cache) >= NODE_CACHE_SIZE:
            self._node_cache.clear()  # crude but bounded; the hot upper levels come back on the next proofs
        self._node_cache[key] = value

    @staticmethod
    def _size(conn: Connection) -> int:
        return int(conn.execute(select(_meta.c.value).where(_meta.c.key == "tree_size")).scalar_one())

    def tree_size(self) -> int:
        """Number of committed entries."""
        result: int = self._read(self._size)
        return result

    def latest_checkpoint(self) -> str:
        """The latest signed checkpoint note (C2SP tlog-checkpoint)."""

        def fn(conn: Connection) -> str:
            row = conn.execute(
                select(_checkpoints.c.note).order_by(_checkpoints.c.tree_size.desc()).limit(1)
            ).scalar_one()
            return str(row)

        result: str = self._read(fn)
        return result

    def checkpoint(self, size: int) -> str:
        """The signed checkpoint the log published at exactly ``size`` (if it published one)."""

        def fn(conn: Connection) -> str | None:
            return conn.execute(select(_checkpoints.c.note).where(_checkpoints.c.tree_size == size)).scalar()

        note = self._read(fn)
        if note is None:
            raise LedgerRequestError(Problem(NOT_FOUND, "No checkpoint", f"no checkpoint of size {size}"), 404)
        return str(note)

    def root_at(self, size: int) -> bytes:
        """The tree head of the first ``size`` entries."""
        current = self.tree_size()
        if not 0 <= size <= current:
            raise LedgerRequestError(Problem(BAD_RANGE, "Bad tree size", f"the log has {current} entries"), 400)

        def fn(conn: Connection) -> bytes:
            return root_hash(size, lookup_from(self._lookup_nodes(conn, root_nodes(size))))

        result: bytes = self._read(fn)
        return result

    _ENTRY_COLUMNS = (
        _entries.c.idx,
        _entries.c.leaf,
        _entries.c.leaf_hash,
        _entries.c.kind,
        _entries.c.record_id,
        _entries.c.signer_did,
        _entries.c.supersedes,
        _entries.c.logged_at,
    )

    def _entries_where(self, conn: Connection, condition: Any, limit: int | None = None) -> list[StoredEntry]:
        query = select(*self._ENTRY_COLUMNS).where(condition).order_by(_entries.c.idx)
        if limit is not None:
            query = query.limit(limit)
        rows = conn.execute(query).all()
        indices = [r.idx for r in rows]
        revoked: dict[int, int] = {}
        if indices:
            revoked = {
                int(t): int(i)
                for i, t in conn.execute(
                    select(_entries.c.idx, _entries.c.supersedes).where(_entries.c.supersedes.in_(indices))
                )
            }
        return [
            StoredEntry(
                int(r.idx),
                bytes(r.leaf),
                bytes(r.leaf_hash),
                r.kind,
                r.record_id,
                r.signer_did,
                None if r.supersedes is None else int(r.supersedes),
                r.logged_at,
                revoked.get(int(r.idx)),
            )
            for r in rows
        ]

    def get(self, index: int) -> StoredEntry:
        """The entry at ``index``."""
        found: list[StoredEntry] = self._read(lambda c: self._entries_where(c, _entries.c.idx == index))
        if not found:
            raise LedgerRequestError(Problem(NOT_FOUND, "No such entry", f"no entry at index {index}"), 404)
        return found[0]

    def get_record(self, record_id: str) -> StoredEntry:
        """The record entry with ``recordId == record_id``."""
        found: list[StoredEntry] = self._read(lambda c: self._entries_where(c, _entries.c.record_id == record_id))
        if not found:
            raise LedgerRequestError(Problem(NOT_FOUND, "No such record", f"no record {record_id!r}"), 404)
        return found[0]

    def list_entries(self, start: int = 0, limit: int = 100) -> list[StoredEntry]:
        """Up to ``limit`` (≤ 1000) entries from index ``start`` on."""
        if start < 0 or not 1 <= limit <= 1000:
            raise LedgerRequestError(Problem(BAD_RANGE, "Bad page", "start >= 0 and 1 <= limit <= 1000"), 400)
        result: list[StoredEntry] = self._read(lambda c: self._entries_where(c, _entries.c.idx >= start, limit))
        return result

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Inclusion proof of entry ``index`` in the tree of ``size`` entries (default: the current tree)."""

        def fn(conn: Connection) -> InclusionProof:
            current = self._size(conn)
            n = current if size is None else size
            if not 0 <= index < n <= current:
                raise LedgerRequestError(
                    Problem(
                        BAD_RANGE, "Bad proof request", f"need 0 <= index < size <= {current} (index {index}, size {n})"
                    ),
                    400,
                )
            nodes = self._lookup_nodes(conn, inclusion_proof_nodes(index, n))
            return InclusionProof(index, n, tuple(inclusion_proof(index, n, lookup_from(nodes))))

        result: InclusionProof = self._read(fn)
        return result

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """Consistency proof from the tree of ``first`` entries to the tree of ``second`` (default: current)."""

        def fn(conn: Connection) -> ConsistencyProof:
            current = self._size(conn)
            n = current if second is None else second
            if not 0 <= first <= n <= current:
                raise LedgerRequestError(
                    Problem(
                        BAD_RANGE,
                        "Bad proof request",
                        f"need 0 <= first <= second <= {current} (first {first}, second {n})",
                    ),
                    400,
                )
            nodes = self._lookup_nodes(conn, consistency_proof_nodes(first, n))
            return ConsistencyProof(first, n, tuple(consistency_proof(first, n, lookup_from(nodes))))

        result: ConsistencyProof = self._read(fn)
        return result

    # -- integrity ------------------------------------------------------------------------------------------------

    def _self_check(self) -> None:
        """Tree head from nodes == latest checkpoint root, checkpoint signed by the log key, sizes agree."""

        def fn(conn: Connection) -> tuple[int, bytes, str, int]:
            size = self._size(conn)
            row = conn.execute(
                select(_checkpoints.c.tree_size, _checkpoints.c.note).order_by(_checkpoints.c.tree_size.desc()).limit(1)
            ).one()
            root = root_hash(size, lookup_from(self._lookup_nodes(conn, root_nodes(size))))
            top = conn.execute(select(_entries.c.idx).order_by(_entries.c.idx.desc()).limit(1)).scalar()
            return size, root, str(row.note), -1 if top is None else int(top)

        try:
            size, root, note, top = self._read(fn)
            checkpoint = open_checkpoint(note, self._verifier)
        except (MerkleProofError, VcgateError) as exc:
            raise StoreError(f"the ledger database is inconsistent: {exc}") from None
        if checkpoint.size != size or checkpoint.root_hash != root or top != size - 1:
            raise StoreError(
                f"the ledger database is inconsistent: tree size {size}, last index {top}, latest checkpoint "
                f"size {checkpoint.size}, root {'matches' if checkpoint.root_hash == root else 'differs'}"
            )

    def audit(self) -> Checkpoint:
        """Recompute the whole tree from the leaves and check every stored hash and the latest checkpoint.

        O(n): for tests, recovery checks and ``vcgate plain-ledger`` operators; returns the verified checkpoint.
        """

        def fn(conn: Connection) -> Checkpoint:
            size = self._size(conn)
            frontier = Frontier.empty()
            expected = 0
            created_all: dict[int, bytes] = {}
            for row in conn.execute(
                select(_entries.c.idx, _entries.c.leaf, _entries.c.leaf_hash).order_by(_entries.c.idx)
            ):
                if int(row.idx) != expected:
                    raise StoreError(f"entry index {expected} is missing")
                if leaf_hash(bytes(row.leaf)) != bytes(row.leaf_hash):
                    raise StoreError(f"the leaf hash of entry {expected} does not match its bytes")
                LogLeaf.from_bytes(bytes(row.leaf))
                frontier, created = frontier.extend([bytes(row.leaf_hash)])
                created_all.update((_node_key(n), h) for n, h in created)
                expected += 1
            if expected != size:
                raise StoreError(f"tree size {size} but {expected} entries")
            stored = {int(k): bytes(h) for k, h in conn.execute(select(_nodes.c.node_key, _nodes.c.hash))}
            if stored != created_all:
                raise StoreError("the stored Merkle nodes differ from the nodes recomputed from the leaves")
            note = conn.execute(
                select(_checkpoints.c.note).order_by(_checkpoints.c.tree_size.desc()).limit(1)
            ).scalar_one()
            checkpoint = open_checkpoint(str(note), self._verifier)
            if checkpoint.size != size or checkpoint.root_hash != frontier.root():
                raise StoreError("the latest checkpoint does not match the tree recomputed from the leaves")
            return checkpoint

        result: Checkpoint = self._read(fn)
        return result

    # -- appending ------------------------------------------------------------------------------------------------

    def append(self, entry: LedgerEntry) -> AppendReceipt:
        """Append one verified entry; returns once it is durable. Raises :class:`LedgerRequestError` if refused."""
        outcome = self.append_batch([entry])[0]
        if isinstance(outcome, LedgerRequestError):
            raise outcome
        return outcome

    def append_batch(self, entries: Sequence[LedgerEntry]) -> list[AppendOutcome]:
        """Append verified entries in one transaction (group commit); one outcome per entry, in order.

        Entries refused by the log's state (duplicate record id, bad revocation target) get a
        :class:`LedgerRequestError` outcome and are not stored; the others commit together with the new nodes and
        one new signed checkpoint. Every receipt is returned only after the commit.
        """
        if self._log_key is None:
            raise StoreError("this ledger was opened without its log key; it cannot append")
        if len(entries) > MAX_BATCH:
            raise StoreError(f"at most {MAX_BATCH} entries per batch")
        if not entries:
            return []
        try:
            with self._write_lock, self._engine.connect() as conn:
                # Leaving the block without commit (refusals only, or an error) rolls the transaction back.
                return self._append_in(conn, entries, self._log_key)
        except SQLAlchemyError as exc:
            raise StoreError(f"the append did not commit: {type(exc).__name__}: {exc}") from None

    def _append_in(self, conn: Connection, entries: Sequence[LedgerEntry], log_key: LogKey) -> list[AppendOutcome]:
        # Take the writer lock first: the first statement writes, so SQLite takes its write lock before any read
        # and PostgreSQL locks the row; every later read in this transaction sees the latest committed state.
        conn.execute(update(_meta).where(_meta.c.key == "tree_size").values(value=_meta.c.value))
        size = self._size(conn)
        frontier = self._frontier
        if frontier.size != size:
            frontier = Frontier.load(size, lookup_from(self._lookup_nodes(conn, root_nodes(size))))

        record_ids = {e.record_id for e in entries if e.record_id is not None}
        record_ids |= {e.supersedes for e in entries if isinstance(e.supersedes, str)}
        by_record: dict[str, tuple[int, str, str]] = {}  # record id -> (index, kind, signer)
        by_index: dict[int, tuple[str, str]] = {}  # index -> (kind, signer)
        if record_ids:
            for row in conn.execute(
                select(_entries.c.idx, _entries.c.record_id, _entries.c.kind, _entries.c.signer_did).where(
                    _entries.c.record_id.in_(record_ids)
                )
            ):
                by_record[row.record_id] = (int(row.idx), row.kind, row.signer_did)
                by_index[int(row.idx)] = (row.kind, row.signer_did)
        wanted = {e.supersedes for e in entries if isinstance(e.supersedes, int)} - set(by_index)
        if wanted:
            for target_row in conn.execute(
                select(_entries.c.idx, _entries.c.kind, _entries.c.signer_did).where(_entries.c.idx.in_(wanted))
            ):
                by_index[int(target_row.idx)] = (target_row.kind, target_row.signer_did)
        revoked: set[int] = set()
        if by_index:
            revoked = {
                int(t)
                for (t,) in conn.execute(select(_entries.c.supersedes).where(_entries.c.supersedes.in_(list(by_index))))
            }

        logged_at = _rfc3339(self._clock())
        outcomes: list[AppendOutcome | None] = [None] * len(entries)
        accepted: list[tuple[int, LedgerEntry, int | None]] = []
        next_index = size
        for position, entry in enumerate(entries):
            target: int | None = None
            if entry.kind == "record":
                assert entry.record_id is not None
                if entry.record_id in by_record:
                    outcomes[position] = LedgerRequestError(
                        Problem(
                            DUPLICATE_RECORD_ID,
                            "Duplicate record id",
                            f"record {entry.record_id!r} is already entry {by_record[entry.record_id][0]}",
                            "/recordId",
                        ),
                        409,
                    )
                    continue
            else:
                refused = self._check_revocation(entry, by_record, by_index, revoked)
                if isinstance(refused, LedgerRequestError):
                    outcomes[position] = refused
                    continue
                target = refused
                revoked.add(target)
            index = next_index
            next_index += 1
            if entry.record_id is not None:
                by_record[entry.record_id] = (index, entry.kind, entry.signer.did)
            by_index[index] = (entry.kind, entry.signer.did)
            accepted.append((position, entry, target))

        if not accepted:
            return [o for o in outcomes if o is not None]

        leaves = [LogLeaf(entry, logged_at).to_bytes() for _, entry, _ in accepted]
        hashes = [leaf_hash(leaf) for leaf in leaves]
        new_frontier, created = frontier.extend(hashes)
        new_size = new_frontier.size
        checkpoint = Checkpoint(log_key.origin, new_size, new_frontier.root())
        note = sign_checkpoint(checkpoint, log_key.signer)
        conn.execute(
            insert(_entries),
            [
                {
                    "idx": size + i,
                    "leaf_hash": hashes[i],
                    "leaf": leaves[i],
                    "kind": entry.kind,
                    "record_id": entry.record_id,
                    "signer_did": entry.signer.did,
                    "supersedes": target,
                    "logged_at": logged_at,
                }
                for i, (_, entry, target) in enumerate(accepted)
            ],
        )
        conn.execute(insert(_nodes), [{"node_key": _node_key(n), "hash": h} for n, h in created])
        conn.execute(
            insert(_checkpoints).values(
                tree_size=new_size, root_hash=checkpoint.root_hash, note=note, created_at=logged_at
            )
        )
        conn.execute(update(_meta).where(_meta.c.key == "tree_size").values(value=str(new_size)))
        conn.commit()
        # Only now, after the commit returned, is the batch durable and acknowledged.
        self._frontier = new_frontier
        for node, value in created:
            if node[0] > 0:  # leaves are the coldest nodes; keep the cache for the levels every proof touches
                self._remember(_node_key(node), value)
        for i, (position, _, _) in enumerate(accepted):
            outcomes[position] = AppendReceipt(size + i, hashes[i], logged_at, new_size, note)
        return [o for o in outcomes if o is not None]

    @staticmethod
    def _check_revocation(
        entry: LedgerEntry,
        by_record: dict[str, tuple[int, str, str]],
        by_index: dict[int, tuple[str, str]],
        revoked: set[int],
    ) -> int | LedgerRequestError:
        target = entry.supersedes
        if isinstance(target, str):
            found = by_record.get(target)
            index = found[0] if found else None
        else:
            index = target if target in by_index else None
        if index is None:
            return LedgerRequestError(
                Problem(
                    SUPERSEDED_NOT_FOUND,
                    "Superseded record not found",
                    f"no record {target!r} in the log",
                    "/supersedes",
                ),
                422,
            )
        kind, signer = by_index[index]
        if kind != "record":
            return LedgerRequestError(
                Problem(
                    SUPERSEDES_REVOCATION,
                    "Cannot supersede a revocation",
                    f"entry {index} is a revocation",
                    "/supersedes",
                ),
                422,
            )
        if signer != entry.signer.did:
            return LedgerRequestError(
                Problem(
                    SUPERSEDE_FORBIDDEN,
                    "Not the record's signer",
                    f"entry {index} was signed by {signer}; only that DID may revoke it",
                    "/signer/did",
                ),
                403,
            )
        if index in revoked:
            return LedgerRequestError(
                Problem(ALREADY_REVOKED, "Already revoked", f"entry {index} is already revoked", "/supersedes"), 409
            )
        return index
