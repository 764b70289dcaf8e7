"""The adapter SDK and vcgate's built-in ledger adapters (plain ledger, Ethereum, Fabric, remote).

The SDK lives in :mod:`vcgate.adapters.sdk`; its core names are re-exported here for convenience.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


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
