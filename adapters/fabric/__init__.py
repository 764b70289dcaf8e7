"""Hyperledger Fabric ledger layer: offline import of blocks and peer ledger files, decoding with the official
Fabric protobufs, and a pure offline verifier (hash chain, orderer and creator signatures, endorsements,
certificate
chains to the channel MSPs, endorsement policies, config replay from the genesis block).

Live reading: a gRPC client over the official protobufs (peer Deliver, Gateway Evaluate / ChaincodeEvents, QSCC
through the Endorser for signed validation-code attestations) and :class:`FabricAdapter`, the SDK adapter that turns
chaincode writes and events into canonical credentials with endorsement evidence, checked offline by
:class:`FabricEvidenceChecker`. See docs/fabric.md.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._adapter import FabricAdapter, MappingRule, SkippedTransaction, builtin_mapping
    from ._attest import Attestation, SignedPeerResponse, check_validation_attestation
    from ._blockfile import iter_blockfile, read_block_file, read_blockfile, read_blocks
    from ._client import (
        ChainInfo,
        DeliveredEvent,
        FabricConfigError,
        FabricPeerError,
        PeerClient,
        RetryPolicy,
        SigningIdentity,
        TLSConfig,
        build_proposal,
        build_seek_envelope,
        with_retry,
    )
    from ._config import decode_config
    from ._crypto import block_data_hash, block_header_der, block_header_hash, compute_tx_id
    from ._decode import decode_block, decode_identity, decode_transaction, validation_code_name
    from ._errors import FabricDecodeError
    from ._evidence import EndorserRef, FabricProof, Locator, event_locator, write_locator
    from ._evidence_check import EVIDENCE_CHECKS, FabricEvidenceChecker
    from ._lifecycle import ApplicationPolicy, ChaincodeDefinition, CollectionConfig
    from ._model import (
        Block,
        BlockHeader,
        BlockMetadata,
        ChaincodeEvent,
        ChaincodeResponse,
        ChannelConfig,
        ChannelHeader,
        CollectionRWSet,
        ConfigTransaction,
        Consenter,
        EndorsedAction,
        Endorsement,
        EndorserTransaction,
        FabricMSP,
        HashedWrite,
        Identity,
        ImplicitMetaPolicy,
        KVRead,
        KVWrite,
        MetadataSignature,
        MetadataWrite,
        NamespaceRWSet,
        NodeOUs,
        NOutOf,
        OrdererSettings,
        Organization,
        OUIdentifier,
        Principal,
        SignaturePolicy,
        SignedBy,
        Transaction,
    )
    from ._msp import ValidatedIdentity, VerificationCache, validate_identity
    from ._policy import PolicyOutcome, evaluate_policy, evaluate_signature_policy
    from ._verify import (
        BLOCK_CHECKS,
        TRANSACTION_CHECKS,
        BlockResult,
        ChannelState,
        FabricAnchorError,
        TransactionResult,
        check_block,
        check_blocks,
        check_transaction,
    )
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "BLOCK_CHECKS",
    "EVIDENCE_CHECKS",
    "TRANSACTION_CHECKS",
    "ApplicationPolicy",
    "Attestation",
    "Block",
    "BlockHeader",
    "BlockMetadata",
    "BlockResult",
    "ChainInfo",
    "ChaincodeDefinition",
    "ChaincodeEvent",
    "ChaincodeResponse",
    "ChannelConfig",
    "ChannelHeader",
    "ChannelState",
    "CollectionConfig",
    "CollectionRWSet",
    "ConfigTransaction",
    "Consenter",
    "DeliveredEvent",
    "EndorsedAction",
    "Endorsement",
    "EndorserRef",
    "EndorserTransaction",
    "FabricAdapter",
    "FabricAnchorError",
    "FabricConfigError",
    "FabricDecodeError",
    "FabricEvidenceChecker",
    "FabricMSP",
    "FabricPeerError",
    "FabricProof",
    "HashedWrite",
    "Identity",
    "ImplicitMetaPolicy",
    "KVRead",
    "KVWrite",
    "Locator",
    "MappingRule",
    "MetadataSignature",
    "MetadataWrite",
    "NOutOf",
    "NamespaceRWSet",
    "NodeOUs",
    "OUIdentifier",
    "OrdererSettings",
    "Organization",
    "PeerClient",
    "PolicyOutcome",
    "Principal",
    "RetryPolicy",
    "SignaturePolicy",
    "SignedBy",
    "SignedPeerResponse",
    "SigningIdentity",
    "SkippedTransaction",
    "TLSConfig",
    "Transaction",
    "TransactionResult",
    "ValidatedIdentity",
    "VerificationCache",
    "block_data_hash",
    "block_header_der",
    "block_header_hash",
    "build_proposal",
    "build_seek_envelope",
    "builtin_mapping",
    "check_block",
    "check_blocks",
    "check_transaction",
    "check_validation_attestation",
    "compute_tx_id",
    "decode_block",
    "decode_config",
    "decode_identity",
    "decode_transaction",
    "evaluate_policy",
    "evaluate_signature_policy",
    "event_locator",
    "iter_blockfile",
    "read_block_file",
    "read_blockfile",
    "read_blocks",
    "validate_identity",
    "validation_code_name",
    "with_retry",
    "write_locator",
]
