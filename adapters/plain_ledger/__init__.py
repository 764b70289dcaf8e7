"""The plain ledger: a signed, append-only, verifiable transparency log of JSON records.

* entries are JSON records (or revocations of earlier records) signed by the submitting party — Ed25519 or P-256,
  key bound to a DID — over their RFC 8785 canonical bytes (:class:`LedgerEntry`, :class:`SubmitterKey`);
* the log keeps an RFC 9162 Merkle tree of them (:mod:`._merkle`) and publishes its tree heads as C2SP signed-note
  checkpoints (:class:`Checkpoint`, :class:`NoteVerifier`), readable by existing transparency-log tooling;
* :func:`check_inclusion` and :func:`check_consistency` verify evidence offline against the pinned log key;
* :class:`PlainLedgerStore` keeps it durably (SQLite by default, PostgreSQL by URL), :func:`create_app` serves it over
  HTTP, :class:`PlainLedgerClient` talks to it.

The ledger id is ``plain:<first 16 hex chars of SHA-256(log Ed25519 public key)>`` (:func:`ledger_id_for`).

:class:`PlainLedgerAdapter` is the SDK adapter (entry point ``plain-ledger``): it reads a ledger over HTTP, translates
records through the published mappings in ``mappings/`` and ships :class:`PlainLedgerEvidenceChecker`, which checks the
evidence offline against the pinned log key and detects forks across the checkpoints it has seen.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._adapter import BUNDLED_MAPPINGS, PlainLedgerAdapter, PlainLedgerAdapterError, bundled_mapping
    from ._checkpoint import (
        Checkpoint,
        CheckpointOriginError,
        NoteError,
        NoteSigner,
        NoteVerifier,
        SignedNote,
        ed25519_key_id,
        open_checkpoint,
        open_note,
        sign_checkpoint,
    )
    from ._client import LedgerClientError, PlainLedgerClient, RemoteEntry
    from ._entries import (
        MAX_ENTRY_SIZE,
        EntryError,
        EntrySigner,
        LedgerEntry,
        LogLeaf,
        canonical_bytes,
        parse_json_strict,
        unsigned_entry_bytes,
        verify_signature,
    )
    from ._evidence_check import (
        EVIDENCE_CHECKS,
        CheckpointStore,
        MemoryCheckpointStore,
        PlainLedgerEvidenceChecker,
        SeenCheckpoint,
    )
    from ._keys import KeyFileError, LogKey, SubmitterKey, default_origin, ledger_id_for
    from ._merkle import (
        EMPTY_ROOT,
        Frontier,
        MerkleProofError,
        consistency_proof,
        inclusion_proof,
        leaf_hash,
        lookup_from,
        node_hash,
        root_from_inclusion_proof,
        root_hash,
        verify_consistency,
        verify_inclusion,
    )
    from ._server import GroupCommitter, create_app, serve
    from ._store import (
        AppendReceipt,
        LedgerRequestError,
        PlainLedgerStore,
        StoredEntry,
        StoreError,
        database_url,
    )
    from ._verify import (
        ConsistencyProof,
        InclusionProof,
        LedgerCheckResult,
        check_consistency,
        check_entry,
        check_inclusion,
    )
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "BUNDLED_MAPPINGS",
    "EMPTY_ROOT",
    "EVIDENCE_CHECKS",
    "MAX_ENTRY_SIZE",
    "AppendReceipt",
    "Checkpoint",
    "CheckpointOriginError",
    "CheckpointStore",
    "ConsistencyProof",
    "EntryError",
    "EntrySigner",
    "Frontier",
    "GroupCommitter",
    "InclusionProof",
    "KeyFileError",
    "LedgerCheckResult",
    "LedgerClientError",
    "LedgerEntry",
    "LedgerRequestError",
    "LogKey",
    "LogLeaf",
    "MemoryCheckpointStore",
    "MerkleProofError",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "PlainLedgerAdapter",
    "PlainLedgerAdapterError",
    "PlainLedgerClient",
    "PlainLedgerEvidenceChecker",
    "PlainLedgerStore",
    "RemoteEntry",
    "SeenCheckpoint",
    "SignedNote",
    "StoreError",
    "StoredEntry",
    "SubmitterKey",
    "bundled_mapping",
    "canonical_bytes",
    "check_consistency",
    "check_entry",
    "check_inclusion",
    "consistency_proof",
    "create_app",
    "database_url",
    "default_origin",
    "ed25519_key_id",
    "inclusion_proof",
    "leaf_hash",
    "ledger_id_for",
    "lookup_from",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_json_strict",
    "root_from_inclusion_proof",
    "root_hash",
    "serve",
    "sign_checkpoint",
    "unsigned_entry_bytes",
    "verify_consistency",
    "verify_inclusion",
    "verify_signature",
]
