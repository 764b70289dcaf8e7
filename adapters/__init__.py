"""The adapter SDK and vcgate's built-in ledger adapters (plain ledger, Ethereum, Fabric, remote).

The SDK lives in :mod:`vcgate.adapters.sdk`; its core names are re-exported here for convenience.
"""

from .sdk import (
    API_VERSION,
    Adapter,
    AdapterInfo,
    AdapterLoadError,
    AdapterPlugin,
    CredentialMapping,
    Cursor,
    EvidenceChecker,
    EvidenceResult,
    Health,
    LedgerEvidence,
    MappingError,
    RecordPage,
    SourceRecord,
    Translation,
    TranslationError,
    apply_mapping,
    check_replay,
    credential_id,
    load_adapter,
    load_adapters,
    replay,
)

__all__ = [
    "API_VERSION",
    "Adapter",
    "AdapterInfo",
    "AdapterLoadError",
    "AdapterPlugin",
    "CredentialMapping",
    "Cursor",
    "EvidenceChecker",
    "EvidenceResult",
    "Health",
    "LedgerEvidence",
    "MappingError",
    "RecordPage",
    "SourceRecord",
    "Translation",
    "TranslationError",
    "apply_mapping",
    "check_replay",
    "credential_id",
    "load_adapter",
    "load_adapters",
    "replay",
]
