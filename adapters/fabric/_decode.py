"""Decoding of serialized ``common.Block`` bytes into the frozen model (Fabric protobufs: ``fabric_protos``).

Block-level damage (bytes that do not parse, a missing header/data/metadata) raises
:class:`FabricDecodeError`.
A malformed envelope inside an otherwise sound block does not: Fabric itself records such a transaction as
invalid
(``BAD_PAYLOAD`` ...) and keeps the block, so the transaction is kept with its ``problem`` and fails
verification.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import TypeVar

from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.protobuf.message import DecodeError, Message

from vcgate.canonical_schema import Problem

from ._config import decode_config
from ._errors import FabricDecodeError
from ._model import (
    Block,
    BlockHeader,
    BlockMetadata,
    ChaincodeEvent,
    ChaincodeResponse,
    ChannelHeader,
    CollectionRWSet,
    ConfigTransaction,
    EndorsedAction,
    Endorsement,
    EndorserTransaction,
    HashedWrite,
    Identity,
    KVRead,
    KVWrite,
    MetadataSignature,
    MetadataWrite,
    NamespaceRWSet,
    Transaction,
)

_M = TypeVar("_M", bound=Message)

_HEADER_TYPES = dict(common_pb2.HeaderType.items())
_HEADER_NAMES = {v: k for k, v in _HEADER_TYPES.items()}
_SIGNATURES = common_pb2.SIGNATURES
_LAST_CONFIG = common_pb2.LAST_CONFIG
_TRANSACTIONS_FILTER = common_pb2.TRANSACTIONS_FILTER
_COMMIT_HASH = common_pb2.COMMIT_HASH

_VALIDATION_CODE_NAMES = {v: k for k, v in transaction_pb2.TxValidationCode.items()}


def validation_code_name(code: int) -> str:
    """Fabric's name for a ``peer.TxValidationCode`` (``VALID``, ``MVCC_READ_CONFLICT``, ...)."""
    return str(_VALIDATION_CODE_NAMES.get(code, f"UNKNOWN_{code}"))


class _TxProblemError(Exception):
    """Internal: a malformed transaction envelope (converted into ``Transaction.problem``)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@functools.lru_cache(maxsize=4096)
def decode_identity(raw: bytes) -> Identity:
    """Decode a serialized ``msp.SerializedIdentity`` (raises :class:`FabricDecodeError`).

    Memoised: a channel has few distinct signers, and each appears in every transaction it signs.
    """
    try:
        sid = identities_pb2.SerializedIdentity.FromString(raw)
    except DecodeError as exc:
        raise FabricDecodeError(
            Problem("fabric.bad_identity", "malformed identity", f"serialized identity does not decode: {exc}")
        ) from None
    return Identity(sid.mspid, bytes(sid.id_bytes), bytes(raw))


def _identity_or_none(raw: bytes) -> Identity | None:
    if not raw:
        return None
    try:
        return decode_identity(raw)
    except FabricDecodeError as exc:
        raise _TxProblemError("fabric.bad_identity", str(exc)) from None


def _parse(cls: type[_M], data: bytes, what: str) -> _M:
    try:
        msg: _M = cls()
        msg.ParseFromString(data)
        return msg
    except DecodeError as exc:
        raise _TxProblemError("fabric.bad_transaction", f"{what} does not decode: {exc}") from None


def _version(v: kv_rwset_pb2.Version, present: bool) -> tuple[int, int] | None:
    return (v.block_num, v.tx_num) if present else None


def _rwsets(results: bytes) -> tuple[NamespaceRWSet, ...]:
    if not results:
        return ()
    txrw = _parse(rwset_pb2.TxReadWriteSet, results, "read/write set")
    out = []
    for ns in txrw.ns_rwset:
        kv = _parse(kv_rwset_pb2.KVRWSet, ns.rwset, f"read/write set of {ns.namespace!r}")
        collections = []
        for coll in ns.collection_hashed_rwset:
            hashed = _parse(kv_rwset_pb2.HashedRWSet, coll.hashed_rwset, f"hashed rwset of {coll.collection_name!r}")
            collections.append(
                CollectionRWSet(
                    collection=coll.collection_name,
                    pvt_rwset_hash=bytes(coll.pvt_rwset_hash),
                    hashed_reads=tuple(
                        (bytes(r.key_hash), _version(r.version, r.HasField("version"))) for r in hashed.hashed_reads
                    ),
                    hashed_writes=tuple(
                        HashedWrite(bytes(w.key_hash), w.is_delete, bytes(w.value_hash)) for w in hashed.hashed_writes
                    ),
                    metadata_write_count=len(hashed.metadata_writes),
                )
            )
        out.append(
            NamespaceRWSet(
                namespace=ns.namespace,
                reads=tuple(KVRead(r.key, _version(r.version, r.HasField("version"))) for r in kv.reads),
                writes=tuple(KVWrite(w.key, w.is_delete, bytes(w.value)) for w in kv.writes),
                metadata_writes=tuple(
                    MetadataWrite(m.key, {e.name: bytes(e.value) for e in m.entries}) for m in kv.metadata_writes
                ),
                range_query_count=len(kv.range_queries_info),
                collections=tuple(collections),
            )
        )
    return tuple(out)


def _endorser_transaction(data: bytes, channel_extension: bytes) -> EndorserTransaction:
    tx = _parse(transaction_pb2.Transaction, data, "peer.Transaction")
    if not tx.actions:
        raise _TxProblemError("fabric.bad_transaction", "endorser transaction has no actions")
    actions = []
    function = ""
    args: tuple[bytes, ...] = ()
    invoked = ""
    for i, act in enumerate(tx.actions):
        sig_header = _parse(common_pb2.SignatureHeader, act.header, f"action {i} signature header")
        cap = _parse(transaction_pb2.ChaincodeActionPayload, act.payload, f"action {i} ChaincodeActionPayload")
        prp = _parse(
            proposal_response_pb2.ProposalResponsePayload,
            cap.action.proposal_response_payload,
            f"action {i} ProposalResponsePayload",
        )
        cc_action = _parse(proposal_pb2.ChaincodeAction, prp.extension, f"action {i} ChaincodeAction")
        event = None
        if cc_action.events:
            ev = _parse(chaincode_event_pb2.ChaincodeEvent, cc_action.events, f"action {i} chaincode event")
            event = ChaincodeEvent(ev.chaincode_id, ev.tx_id, ev.event_name, bytes(ev.payload))
        if i == 0:
            cpp = _parse(proposal_pb2.ChaincodeProposalPayload, cap.chaincode_proposal_payload, "proposal payload")
            spec = _parse(chaincode_pb2.ChaincodeInvocationSpec, cpp.input, "chaincode invocation spec")
            all_args = tuple(bytes(a) for a in spec.chaincode_spec.input.args)
            if all_args:
                function = all_args[0].decode("utf-8", errors="replace")
                args = all_args[1:]
            invoked = spec.chaincode_spec.chaincode_id.name
        endorsements = []
        for j, e in enumerate(cap.action.endorsements):
            try:
                endorser = decode_identity(bytes(e.endorser))
            except FabricDecodeError as exc:
                raise _TxProblemError("fabric.bad_identity", f"action {i} endorsement {j}: {exc}") from None
            endorsements.append(Endorsement(endorser, bytes(e.signature)))
        actions.append(
            EndorsedAction(
                signature_header_bytes=bytes(act.header),
                creator=_identity_or_none(sig_header.creator),
                chaincode_proposal_payload_bytes=bytes(cap.chaincode_proposal_payload),
                proposal_response_payload_bytes=bytes(cap.action.proposal_response_payload),
                proposal_hash=bytes(prp.proposal_hash),
                chaincode_name=cc_action.chaincode_id.name,
                chaincode_version=cc_action.chaincode_id.version,
                rwsets=_rwsets(cc_action.results),
                event=event,
                response=ChaincodeResponse(
                    cc_action.response.status, cc_action.response.message, bytes(cc_action.response.payload)
                ),
                endorsements=tuple(endorsements),
            )
        )
    if channel_extension:
        ext = _parse(proposal_pb2.ChaincodeHeaderExtension, channel_extension, "chaincode header extension")
        invoked = ext.chaincode_id.name or invoked
    return EndorserTransaction(invoked, function, args, tuple(actions))


def _config_transaction(data: bytes) -> ConfigTransaction:
    env = _parse(configtx_pb2.ConfigEnvelope, data, "ConfigEnvelope")
    if not env.HasField("config"):
        raise _TxProblemError("fabric.bad_config", "config envelope has no config")
    try:
        config = decode_config(env.config.SerializeToString())
    except FabricDecodeError as exc:
        raise _TxProblemError(exc.problem.code, exc.problem.detail) from None
    return ConfigTransaction(config, env.last_update.SerializeToString() if env.HasField("last_update") else b"")


def _timestamp(ch: common_pb2.ChannelHeader) -> tuple[datetime | None, str]:
    if not ch.HasField("timestamp"):
        return None, ""
    ts = ch.timestamp
    try:
        when = datetime.fromtimestamp(ts.seconds, tz=UTC).replace(microsecond=ts.nanos // 1000)
    except (OverflowError, ValueError, OSError):
        return None, ""
    return when, ts.ToJsonString()


def decode_transaction(index: int, envelope_bytes: bytes) -> Transaction:
    """Decode one ``Block.data`` entry (a ``common.Envelope``). Never raises: damage is recorded in
    ``problem``."""
    payload_bytes = b""
    signature = b""
    ch_bytes = b""
    sh_bytes = b""
    header: ChannelHeader | None = None
    creator: Identity | None = None
    nonce = b""
    try:
        env = _parse(common_pb2.Envelope, envelope_bytes, "envelope")
        payload_bytes, signature = bytes(env.payload), bytes(env.signature)
        payload = _parse(common_pb2.Payload, payload_bytes, "payload")
        if not payload.HasField("header"):
            raise _TxProblemError("fabric.bad_transaction", "payload has no header")
        ch_bytes, sh_bytes = bytes(payload.header.channel_header), bytes(payload.header.signature_header)
        ch = _parse(common_pb2.ChannelHeader, ch_bytes, "channel header")
        when, text = _timestamp(ch)
        header = ChannelHeader(
            type=ch.type,
            type_name=_HEADER_NAMES.get(ch.type, f"UNKNOWN_{ch.type}"),
            version=ch.version,
            timestamp=when,
            timestamp_text=text,
            channel_id=ch.channel_id,
            tx_id=ch.tx_id,
            epoch=ch.epoch,
            extension=bytes(ch.extension),
            tls_cert_hash=bytes(ch.tls_cert_hash),
        )
        sh = _parse(common_pb2.SignatureHeader, sh_bytes, "signature header")
        creator = _identity_or_none(sh.creator)
        nonce = bytes(sh.nonce)
        content: EndorserTransaction | ConfigTransaction | None = None
        if ch.type == common_pb2.ENDORSER_TRANSACTION:
            content = _endorser_transaction(bytes(payload.data), header.extension)
        elif ch.type == common_pb2.CONFIG:
            content = _config_transaction(bytes(payload.data))
    except _TxProblemError as exc:
        return Transaction(
            index=index,
            envelope_bytes=envelope_bytes,
            payload_bytes=payload_bytes,
            signature=signature,
            channel_header_bytes=ch_bytes,
            signature_header_bytes=sh_bytes,
            channel_header=header,
            creator=creator,
            nonce=nonce,
            content=None,
            problem=Problem(exc.code, "malformed transaction", f"transaction {index}: {exc.detail}"),
        )
    return Transaction(
        index=index,
        envelope_bytes=envelope_bytes,
        payload_bytes=payload_bytes,
        signature=signature,
        channel_header_bytes=ch_bytes,
        signature_header_bytes=sh_bytes,
        channel_header=header,
        creator=creator,
        nonce=nonce,
        content=content,
    )


def _metadata(md: common_pb2.BlockMetadata, where: str) -> BlockMetadata:
    entries = tuple(bytes(m) for m in md.metadata)

    def entry(i: int) -> bytes:
        return entries[i] if i < len(entries) else b""

    try:
        sigs_md = common_pb2.Metadata.FromString(entry(_SIGNATURES))
        signatures = []
        for s in sigs_md.signatures:
            creator = None
            consenter_id = None
            if s.signature_header:
                sh = common_pb2.SignatureHeader.FromString(s.signature_header)
                creator = decode_identity(sh.creator) if sh.creator else None
            if s.identifier_header:
                consenter_id = common_pb2.IdentifierHeader.FromString(s.identifier_header).identifier
            signatures.append(
                MetadataSignature(
                    bytes(s.signature_header),
                    bytes(s.identifier_header),
                    bytes(s.signature),
                    creator,
                    consenter_id,
                )
            )
        last_config: int | None = None
        if sigs_md.value:
            # Fabric ≥ 1.4.2 puts OrdererBlockMetadata{last_config, consenter_metadata} in the signed value.
            obm = common_pb2.OrdererBlockMetadata.FromString(sigs_md.value)
            if obm.HasField("last_config"):
                last_config = obm.last_config.index
        if last_config is None and entry(_LAST_CONFIG):
            lc_md = common_pb2.Metadata.FromString(entry(_LAST_CONFIG))
            if lc_md.value:
                last_config = common_pb2.LastConfig.FromString(lc_md.value).index
        commit_hash = None
        if entry(_COMMIT_HASH):
            commit_hash = bytes(common_pb2.Metadata.FromString(entry(_COMMIT_HASH)).value)
    except DecodeError as exc:
        raise FabricDecodeError(
            Problem("fabric.corrupt_block", "corrupt block metadata", f"{where}: metadata does not decode: {exc}")
        ) from None
    filt = entry(_TRANSACTIONS_FILTER)
    return BlockMetadata(
        signature_value=bytes(sigs_md.value),
        signatures=tuple(signatures),
        last_config_index=last_config,
        validation_codes=tuple(filt) if filt else None,
        commit_hash=commit_hash,
        raw=entries,
    )


def decode_block(data: bytes, *, source: str = "block") -> Block:
    """Decode a serialized ``common.Block``.

    Raises :class:`FabricDecodeError` with ``fabric.corrupt_block`` (bytes that do not parse) or
    ``fabric.truncated`` (a header, data or metadata section missing), naming ``source`` and the block number
    when
    known.
    """
    if not data:
        raise FabricDecodeError(Problem("fabric.truncated", "empty block", f"{source}: no bytes"))
    try:
        pb = common_pb2.Block.FromString(data)
    except DecodeError as exc:
        raise FabricDecodeError(
            Problem("fabric.corrupt_block", "corrupt block", f"{source}: not a serialized common.Block ({exc})")
        ) from None
    if not pb.HasField("header"):
        raise FabricDecodeError(Problem("fabric.truncated", "incomplete block", f"{source}: block has no header"))
    where = f"{source} (block {pb.header.number})"
    if not pb.HasField("data"):
        raise FabricDecodeError(Problem("fabric.truncated", "incomplete block", f"{where}: block has no data"))
    if not pb.HasField("metadata"):
        raise FabricDecodeError(Problem("fabric.truncated", "incomplete block", f"{where}: block has no metadata"))
    entries = tuple(bytes(d) for d in pb.data.data)
    header = BlockHeader(pb.header.number, bytes(pb.header.previous_hash), bytes(pb.header.data_hash))
    return Block(
        header=header,
        data=entries,
        transactions=tuple(decode_transaction(i, e) for i, e in enumerate(entries)),
        metadata=_metadata(pb.metadata, where),
        raw=data,
    )
