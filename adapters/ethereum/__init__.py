"""vcgate's Ethereum ledger layer: a JSON-RPC client, offline-verifiable evidence for logs and contract state,
the Ethereum Attestation Service (on-chain and off-chain attestations), generic contract events, and did:ethr.

The SDK adapter is :class:`EthereumAdapter` (entry point ``ethereum`` of ``vcgate.adapters``): EAS on-chain and
off-chain attestations, any contract's events and credentials anchored in the shipped ``AnchorRegistry`` contract,
translated through published mappings, with :class:`EthereumEvidenceChecker` as its offline evidence checker.

Pure pieces (``check_evidence``, ``check_eas_attestation``, ``check_eas_revocation``,
``check_offchain_attestation``, decoders) do no I/O and take time as a parameter; the pieces that talk to a
node (``JsonRpcClient``, the
``build_*`` functions, ``EasReader``, ``observe_header_quorum``, ``EthrDidResolver``) take an injected client.
Problem codes are listed in ``docs/ethereum.md``.
"""

from typing import TYPE_CHECKING

from vcgate.adapters.sdk import RewindPage

if TYPE_CHECKING:
    from ._adapter import GAS_PASSPORT_SCHEMA, IP_LICENCE_SCHEMA, EthereumAdapter, builtin_mapping
    from ._anchored import (
        AnchoredCredential,
        anchor_registry_artifact,
        anchor_registry_source,
        load_anchored_credentials,
    )
    from ._blocks import decode_header, decode_receipt, decode_transaction, encode_header, encode_receipt
    from ._checker import (
        ANCHORED_EVENT,
        EthereumEvidenceChecker,
        anchor_from_json,
        check_revocation,
        credential_digest,
        eas_raw_record,
        event_raw_record,
    )
    from ._did_ethr import DidResolution, EthrDidResolver, EthrNetwork
    from ._eas import (
        ATTESTED_EVENT,
        EAS_ATTESTATIONS_SLOT,
        REVOKED_EVENT,
        Attestation,
        EasAttestationCheckResult,
        EasReader,
        EasRevocationCheckResult,
        EasSchema,
        OffchainAttestation,
        OffchainCheckResult,
        SchemaField,
        attestation_from_storage,
        attestation_slots,
        attestation_uid,
        check_eas_attestation,
        check_eas_revocation,
        check_offchain_attestation,
        decode_attestation_data,
        encode_attestation_data,
        load_offchain_attestation,
        offchain_uid,
        parse_schema,
        schema_uid,
    )
    from ._encoding import caip2_chain, caip10_account, keccak256
    from ._errors import (
        DidResolutionError,
        EthereumError,
        EvidenceBuildError,
        EvidenceFormatError,
        LedgerUnavailableError,
        RpcResponseError,
    )
    from ._events import DecodedEvent, EventAbi, canonical_event_entry, decode_event, fetch_events
    from ._evidence import (
        Anchor,
        CheckpointAnchor,
        EndpointReport,
        EthereumEvidence,
        EvidenceCheckResult,
        LogProof,
        Observation,
        QuorumAnchor,
        StateProof,
        StorageSlotProof,
        VerifiedLog,
        check_evidence,
    )
    from ._evidence_builder import HeaderSource, build_log_evidence, build_state_evidence, observe_header_quorum
    from ._rpc import JsonRpcClient
    from ._sync import ChainPosition, Finality, LogScanner, ReorgError, ScannedLog, ScanPage
    from ._trie import verify_trie_proof
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "ANCHORED_EVENT",
    "ATTESTED_EVENT",
    "EAS_ATTESTATIONS_SLOT",
    "GAS_PASSPORT_SCHEMA",
    "IP_LICENCE_SCHEMA",
    "REVOKED_EVENT",
    "Anchor",
    "AnchoredCredential",
    "Attestation",
    "ChainPosition",
    "CheckpointAnchor",
    "DecodedEvent",
    "DidResolution",
    "DidResolutionError",
    "EasAttestationCheckResult",
    "EasReader",
    "EasRevocationCheckResult",
    "EasSchema",
    "EndpointReport",
    "EthereumAdapter",
    "EthereumError",
    "EthereumEvidence",
    "EthereumEvidenceChecker",
    "EthrDidResolver",
    "EthrNetwork",
    "EventAbi",
    "EvidenceBuildError",
    "EvidenceCheckResult",
    "EvidenceFormatError",
    "Finality",
    "HeaderSource",
    "JsonRpcClient",
    "LedgerUnavailableError",
    "LogProof",
    "LogScanner",
    "Observation",
    "OffchainAttestation",
    "OffchainCheckResult",
    "QuorumAnchor",
    "ReorgError",
    "RewindPage",
    "RpcResponseError",
    "ScanPage",
    "ScannedLog",
    "SchemaField",
    "StateProof",
    "StorageSlotProof",
    "VerifiedLog",
    "anchor_from_json",
    "anchor_registry_artifact",
    "anchor_registry_source",
    "attestation_from_storage",
    "attestation_slots",
    "attestation_uid",
    "build_log_evidence",
    "build_state_evidence",
    "builtin_mapping",
    "caip2_chain",
    "caip10_account",
    "canonical_event_entry",
    "check_eas_attestation",
    "check_eas_revocation",
    "check_evidence",
    "check_offchain_attestation",
    "check_revocation",
    "credential_digest",
    "decode_attestation_data",
    "decode_event",
    "decode_header",
    "decode_receipt",
    "decode_transaction",
    "eas_raw_record",
    "encode_attestation_data",
    "encode_header",
    "encode_receipt",
    "event_raw_record",
    "fetch_events",
    "keccak256",
    "load_anchored_credentials",
    "load_offchain_attestation",
    "observe_header_quorum",
    "offchain_uid",
    "parse_schema",
    "schema_uid",
    "verify_trie_proof",
]
