"""Decoded Fabric ledger structures: frozen dataclasses built from the official protobufs.

Every structure keeps the exact bytes that a signature or a hash covers (``*_bytes`` / ``raw``), because
Fabric signs
serialized protobufs and re-serializing a parsed message is not guaranteed to give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from vcgate.canonical_schema import Problem

from ._crypto import block_header_der, block_header_hash

# ----------------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------------------
# identities


@dataclass(frozen=True, slots=True)
class Identity:
    """A ``msp.SerializedIdentity``: the MSP id and the PEM certificate, plus the exact serialized bytes."""

    msp_id: str
    certificate_pem: bytes
    raw: bytes


# ----------------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------------------
# channel configuration


@dataclass(frozen=True, slots=True)
class OUIdentifier:
    """An organisational unit (and optional certifying CA certificate) that marks a NodeOU role."""

    organizational_unit: str
    certifier_pem: bytes = b""


@dataclass(frozen=True, slots=True)
class NodeOUs:
    """``msp.FabricNodeOUs``: which certificate OU makes an identity a client, peer, admin or orderer."""

    enabled: bool
    client: OUIdentifier | None = None
    peer: OUIdentifier | None = None
    admin: OUIdentifier | None = None
    orderer: OUIdentifier | None = None


@dataclass(frozen=True, slots=True)
class FabricMSP:
    """An organisation's ``msp.FabricMSPConfig`` as recorded in the channel configuration."""

    msp_id: str
    root_certs: tuple[bytes, ...]
    intermediate_certs: tuple[bytes, ...]
    admins: tuple[bytes, ...]
    revocation_list: tuple[bytes, ...]
    tls_root_certs: tuple[bytes, ...]
    tls_intermediate_certs: tuple[bytes, ...]
    node_ous: NodeOUs
    organizational_unit_identifiers: tuple[OUIdentifier, ...]
    fingerprint: bytes
    """SHA-256 of the serialized ``MSPConfig``: keys certificate-chain cache entries to this exact MSP."""
    msp_type: str = "fabric"
    """``fabric`` (X.509) or ``idemix`` (decoded by name only; its identities cannot be checked here)."""


@dataclass(frozen=True, slots=True)
class Organization:
    """One organisation group of the channel configuration (under ``Orderer`` or ``Application``)."""

    name: str
    msp: FabricMSP
    endpoints: tuple[str, ...] = ()
    anchor_peers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignedBy:
    """A signature-policy leaf: the principal at ``index`` in the envelope's identities must have signed."""

    index: int


@dataclass(frozen=True, slots=True)
class NOutOf:
    """A signature-policy gate: at least ``n`` of ``rules`` must be satisfied."""

    n: int
    rules: tuple[SignedBy | NOutOf, ...]


@dataclass(frozen=True, slots=True)
class Principal:
    """An ``msp.MSPPrincipal``. ``kind`` is ``role`` (with ``role``), ``identity`` (with ``identity``)
    or ``ou``."""

    kind: str
    msp_id: str
    role: str = ""
    identity: bytes = b""
    organizational_unit: str = ""


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    """A ``common.SignaturePolicyEnvelope``: an n-of-m rule tree over principals."""

    rule: SignedBy | NOutOf
    principals: tuple[Principal, ...]


@dataclass(frozen=True, slots=True)
class ImplicitMetaPolicy:
    """A ``common.ImplicitMetaPolicy``: ``rule`` (ANY, ALL, MAJORITY) over the sub-groups' ``sub_policy``."""

    rule: str
    sub_policy: str


@dataclass(frozen=True, slots=True)
class UnsupportedPolicy:
    """A policy type this verifier cannot evaluate (evaluating it is an ``error``, never a pass)."""

    type_code: int


Policy = SignaturePolicy | ImplicitMetaPolicy | UnsupportedPolicy


@dataclass(frozen=True, slots=True)
class Consenter:
    """An orderer node: Raft consenters (host, port, TLS certs) or BFT consenters (id, MSP id and
    identity)."""

    host: str
    port: int
    client_tls_cert: bytes = b""
    server_tls_cert: bytes = b""
    id: int | None = None
    msp_id: str = ""
    identity: bytes = b""


@dataclass(frozen=True, slots=True)
class OrdererSettings:
    """The ``Orderer`` group's values: consensus, batching and consenters."""

    consensus_type: str
    consensus_state: str
    max_message_count: int
    absolute_max_bytes: int
    preferred_max_bytes: int
    batch_timeout: str
    consenters: tuple[Consenter, ...]
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """A decoded ``common.Config``: organisations with their MSPs, every policy by path, orderer settings.

    ``policies`` maps full paths such as ``/Channel/Orderer/BlockValidation`` or
    ``/Channel/Application/Org1MSP/Endorsement`` to policies; ``groups`` maps each group path to its
    sub-group names
    (what ImplicitMeta policies range over).
    """

    sequence: int
    orderer_orgs: tuple[Organization, ...]
    application_orgs: tuple[Organization, ...]
    policies: Mapping[str, Policy]
    groups: Mapping[str, tuple[str, ...]]
    orderer: OrdererSettings | None
    channel_capabilities: tuple[str, ...]
    application_capabilities: tuple[str, ...]
    hashing_algorithm: str
    orderer_addresses: tuple[str, ...]
    raw: bytes = field(repr=False)
    fingerprint: bytes = field(default=b"", repr=False)
    """SHA-256 of ``raw``: keys cached policy outcomes to this exact configuration."""

    @property
    def msps(self) -> dict[str, FabricMSP]:
        """Every MSP of the channel by MSP id (orderer and application organisations)."""
        return {o.msp.msp_id: o.msp for o in (*self.orderer_orgs, *self.application_orgs)}

    @property
    def msp_ids(self) -> tuple[str, ...]:
        """MSP ids, orderer organisations first."""
        return tuple(o.msp.msp_id for o in (*self.orderer_orgs, *self.application_orgs))


# ----------------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------------------
# read/write sets, events, lifecycle


@dataclass(frozen=True, slots=True)
class KVRead:
    """A key read and the version (block, tx) it was read at; ``version`` is None for a key that did
    not exist."""

    key: str
    version: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class KVWrite:
    """A public write (or delete) of ``key``."""

    key: str
    is_delete: bool
    value: bytes


@dataclass(frozen=True, slots=True)
class MetadataWrite:
    """A key metadata write (``VALIDATION_PARAMETER`` holds a key-level endorsement policy)."""

    key: str
    entries: Mapping[str, bytes]


@dataclass(frozen=True, slots=True)
class HashedWrite:
    """A private write as the block records it: SHA-256 of the key and of the value."""

    key_hash: bytes
    is_delete: bool
    value_hash: bytes


@dataclass(frozen=True, slots=True)
class CollectionRWSet:
    """The hashed read/write set of one private data collection; the plaintext stays with member peers."""

    collection: str
    pvt_rwset_hash: bytes
    hashed_reads: tuple[tuple[bytes, tuple[int, int] | None], ...]
    hashed_writes: tuple[HashedWrite, ...]
    metadata_write_count: int


@dataclass(frozen=True, slots=True)
class NamespaceRWSet:
    """The read/write set of one chaincode namespace."""

    namespace: str
    reads: tuple[KVRead, ...]
    writes: tuple[KVWrite, ...]
    metadata_writes: tuple[MetadataWrite, ...]
    range_query_count: int
    collections: tuple[CollectionRWSet, ...]

    @property
    def has_writes(self) -> bool:
        """Whether this namespace is written to (publicly, privately or in key metadata)."""
        return bool(
            self.writes
            or self.metadata_writes
            or any(c.hashed_writes or c.metadata_write_count for c in self.collections)
        )


@dataclass(frozen=True, slots=True)
class ChaincodeEvent:
    """A ``peer.ChaincodeEvent`` set by the chaincode; it is inside the endorsed payload."""

    chaincode_id: str
    tx_id: str
    event_name: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class ChaincodeResponse:
    """The chaincode's ``peer.Response`` as endorsed."""

    status: int
    message: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Endorsement:
    """One endorsement: the endorsing peer's identity and its signature over
    ``proposal_response_payload ‖ endorser``."""

    endorser: Identity
    signature: bytes


@dataclass(frozen=True, slots=True)
class EndorsedAction:
    """One ``peer.TransactionAction`` of an endorser transaction, with what its endorsements cover."""

    signature_header_bytes: bytes
    creator: Identity | None
    chaincode_proposal_payload_bytes: bytes
    proposal_response_payload_bytes: bytes
    proposal_hash: bytes
    chaincode_name: str
    chaincode_version: str
    rwsets: tuple[NamespaceRWSet, ...]
    event: ChaincodeEvent | None
    response: ChaincodeResponse
    endorsements: tuple[Endorsement, ...]


@dataclass(frozen=True, slots=True)
class EndorserTransaction:
    """An ``ENDORSER_TRANSACTION``: the invoked chaincode, function and arguments (from the proposal)
    and its actions."""

    chaincode_name: str
    function: str
    args: tuple[bytes, ...]
    actions: tuple[EndorsedAction, ...]


@dataclass(frozen=True, slots=True)
class ConfigTransaction:
    """A ``CONFIG`` transaction: the full new channel configuration and the raw ``last_update`` envelope."""

    config: ChannelConfig
    last_update: bytes


@dataclass(frozen=True, slots=True)
class ChannelHeader:
    """A ``common.ChannelHeader`` (with its exact bytes in :attr:`Transaction.channel_header_bytes`)."""

    type: int
    type_name: str
    version: int
    timestamp: datetime | None
    timestamp_text: str
    channel_id: str
    tx_id: str
    epoch: int
    extension: bytes
    tls_cert_hash: bytes


@dataclass(frozen=True, slots=True)
class Transaction:
    """One envelope of ``Block.data`` decoded. ``problem`` is set (and ``content`` None) when it did
    not decode."""

    index: int
    envelope_bytes: bytes
    payload_bytes: bytes
    signature: bytes
    channel_header_bytes: bytes
    signature_header_bytes: bytes
    channel_header: ChannelHeader | None
    creator: Identity | None
    nonce: bytes
    content: EndorserTransaction | ConfigTransaction | None
    problem: Problem | None = None

    @property
    def tx_id(self) -> str:
        """The transaction id from the channel header ('' when undecodable)."""
        return self.channel_header.tx_id if self.channel_header else ""

    @property
    def type_name(self) -> str:
        """``ENDORSER_TRANSACTION``, ``CONFIG``, ... (``UNDECODABLE`` when the envelope is malformed)."""
        return self.channel_header.type_name if self.channel_header else "UNDECODABLE"


# ----------------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------------------
# blocks


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """A ``common.BlockHeader``."""

    number: int
    previous_hash: bytes
    data_hash: bytes

    def der(self) -> bytes:
        """The DER encoding the block hash and the orderer signatures cover."""
        return block_header_der(self.number, self.previous_hash, self.data_hash)

    def hash(self) -> bytes:
        """The block hash: SHA-256 of :meth:`der`."""
        return block_header_hash(self.number, self.previous_hash, self.data_hash)


@dataclass(frozen=True, slots=True)
class MetadataSignature:
    """One orderer signature from ``metadata[SIGNATURES]``.

    Signed bytes are ``metadata value ‖ signature_header ‖ header DER``; BFT orderers may send an empty
    signature
    header and an ``identifier_header`` (consenter id) instead, which then takes the signature header's place.
    """

    signature_header_bytes: bytes
    identifier_header_bytes: bytes
    signature: bytes
    creator: Identity | None
    consenter_id: int | None


@dataclass(frozen=True, slots=True)
class BlockMetadata:
    """Block metadata: orderer signatures, TRANSACTIONS_FILTER validation codes, COMMIT_HASH, last
    config index."""

    signature_value: bytes
    signatures: tuple[MetadataSignature, ...]
    last_config_index: int | None
    validation_codes: tuple[int, ...] | None
    commit_hash: bytes | None
    raw: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Block:
    """A decoded ``common.Block``: header, raw data entries (what the data hash covers), transactions,
    metadata."""

    header: BlockHeader
    data: tuple[bytes, ...] = field(repr=False)
    transactions: tuple[Transaction, ...]
    metadata: BlockMetadata
    raw: bytes = field(repr=False)

    @property
    def number(self) -> int:
        """The block number."""
        return self.header.number

    @property
    def config(self) -> ChannelConfig | None:
        """The channel configuration when this is a config block."""
        if len(self.transactions) == 1 and isinstance(self.transactions[0].content, ConfigTransaction):
            return self.transactions[0].content.config
        return None

    @property
    def channel_id(self) -> str:
        """The channel named by the first transaction's header ('' when absent)."""
        for tx in self.transactions:
            if tx.channel_header is not None:
                return tx.channel_header.channel_id
        return ""
