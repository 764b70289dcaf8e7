"""The adapter SDK: the adapter interface, source records and cursors, declarative mappings, replay and the
loader.

An adapter reads records from one ledger (:class:`SourceRecord`, paged by :class:`Cursor`), translates each
under a
published :class:`CredentialMapping` into an unsigned canonical credential plus its ``LedgerEvidence``
(:func:`apply_mapping`), and ships an offline :class:`EvidenceChecker`. Anyone can rebuild the credential from
the
evidence and the mapping (:func:`replay`, :func:`check_replay`). Adapters register through the
``vcgate.adapters``
entry points and are checked at load (:func:`load_adapters`). See docs/adapters.md.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._errors import (
        AdapterConfigError,
        AdapterLoadError,
        AdapterNotFoundError,
        AdapterUnavailableError,
        MappingError,
        TranslationError,
    )
    from ._evidence import EVIDENCE_TYPE, LedgerEvidence
    from ._interface import (
        ADAPTER_METHODS,
        API_VERSION,
        Adapter,
        AdapterInfo,
        EvidenceChecker,
        Health,
        LiveEvidenceChecker,
    )
    from ._loader import (
        ENTRY_POINT_GROUP,
        AdapterPlugin,
        AdapterScan,
        load_adapter,
        load_adapter_config,
        load_adapters,
        scan_adapters,
    )
    from ._mapping import CredentialMapping, IssuanceMode, MappingInfo, mapping_digest, mapping_schema
    from ._paths import RecordPath
    from ._records import (
        DECODABLE_MEDIA_TYPES,
        Cursor,
        RecordKind,
        RecordPage,
        RewindPage,
        SourceRecord,
        decode_content,
        format_datetime,
        paginate,
        parse_datetime,
    )
    from ._results import (
        Check,
        CheckResult,
        CheckStatus,
        EvidenceResult,
        OverallStatus,
        ReplayResult,
        overall_status,
    )
    from ._translate import (
        CREDENTIAL_ID_NAMESPACE,
        Translation,
        apply_mapping,
        check_replay,
        credential_id,
        json_differences,
        replay,
        revoked_credential_id,
    )
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "ADAPTER_METHODS",
    "API_VERSION",
    "CREDENTIAL_ID_NAMESPACE",
    "DECODABLE_MEDIA_TYPES",
    "ENTRY_POINT_GROUP",
    "EVIDENCE_TYPE",
    "Adapter",
    "AdapterConfigError",
    "AdapterInfo",
    "AdapterLoadError",
    "AdapterNotFoundError",
    "AdapterPlugin",
    "AdapterScan",
    "AdapterUnavailableError",
    "Check",
    "CheckResult",
    "CheckStatus",
    "CredentialMapping",
    "Cursor",
    "EvidenceChecker",
    "EvidenceResult",
    "Health",
    "IssuanceMode",
    "LedgerEvidence",
    "LiveEvidenceChecker",
    "MappingError",
    "MappingInfo",
    "OverallStatus",
    "RecordKind",
    "RecordPage",
    "RecordPath",
    "ReplayResult",
    "RewindPage",
    "SourceRecord",
    "Translation",
    "TranslationError",
    "apply_mapping",
    "check_replay",
    "credential_id",
    "decode_content",
    "format_datetime",
    "json_differences",
    "load_adapter",
    "load_adapter_config",
    "load_adapters",
    "mapping_digest",
    "mapping_schema",
    "overall_status",
    "paginate",
    "parse_datetime",
    "replay",
    "revoked_credential_id",
    "scan_adapters",
]
