"""Ethereum Attestation Service (EAS): on-chain attestations (events, storage, revocation) and off-chain ones
(EIP-712).

On-chain, an attestation's content is in the EAS contract's storage (``mapping(bytes32 => Attestation) _db``)
and its creation is announced by ``Attested(recipient, attester, uid, schemaUID)``. Evidence for it is
therefore a log proof of the event plus a storage proof of the struct, both in the same block; the UID
recomputed from the proven struct (``EAS._getUID``: keccak256 of the packed fields and a bump) ties the two
together. A revocation is the struct's
``revocationTime``, proven with a storage proof at a later block.

Off-chain attestations are EIP-712 signatures under the domain "EAS Attestation" (EAS SDK ``Offchain``,
versions 0-2); the attester is recovered from the signature.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import coincurve
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import EncodingError

from vcgate.canonical_schema import Check, CheckStatus, InputError, OverallStatus, Problem, overall_status

from ._encoding import address_from_bytes, hex_to_bytes, keccak256, parse_address, to_hex
from ._errors import EvidenceBuildError
from ._events import DecodedEvent, EventAbi, address_topic, decode_event, fetch_events, is_abi_type, jsonable
from ._evidence import (
    Anchor,
    EthereumEvidence,
    EvidenceCheckResult,
    check_evidence,
)
from ._evidence_builder import build_log_evidence, build_state_evidence
from ._rpc import JsonRpcClient

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# Storage slot of ``EAS._db`` in eas-contracts 1.x (EAS inherits EIP1271Verifier -> OpenZeppelin EIP712, whose
# two ShortString fallback strings and the nonces mapping come first). Checked against the 1.9.0 artifacts in
# tests/ethereum; pass another ``attestations_slot`` for other EAS builds (e.g. the v0.26 mainnet deployment).
EAS_ATTESTATIONS_SLOT = 4

_ATTESTED = EventAbi(
    name="Attested",
    inputs=(
        ("recipient", "address", True),
        ("attester", "address", True),
        ("uid", "bytes32", False),
        ("schemaUID", "bytes32", True),
    ),
    anonymous=False,
)
_REVOKED = EventAbi(
    name="Revoked",
    inputs=(
        ("recipient", "address", True),
        ("attester", "address", True),
        ("uid", "bytes32", False),
        ("schemaUID", "bytes32", True),
    ),
    anonymous=False,
)
ATTESTED_EVENT = _ATTESTED
REVOKED_EVENT = _REVOKED

# getAttestation(bytes32) returns the Attestation struct.
_GET_ATTESTATION = keccak256(b"getAttestation(bytes32)")[:4]
_ATTESTATION_TUPLE = "(bytes32,bytes32,uint64,uint64,uint64,bytes32,address,address,bool,bytes)"
_U64 = (1 << 64) - 1
_U160 = (1 << 160) - 1
_MAX_BUMP = 16


# -- schemas
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaField:
    """One ``type name`` item of an EAS schema string."""

    type: str
    name: str


_FIELD_RE = re.compile(r"^\s*([A-Za-z0-9_\[\]()]+)\s+([A-Za-z_][A-Za-z0-9_]*)\s*$")
# The EAS SDK's SchemaEncoder accepts ``ipfsHash`` as an alias of bytes32.
_TYPE_ALIASES = {"ipfsHash": "bytes32"}


def parse_schema(schema: str) -> tuple[SchemaField, ...]:
    """Parse an EAS schema string such as ``"string licenseId,address licensee,uint64 validUntil"``. Raises
    ``InputError`` for an empty schema, a bad item, an unknown ABI type or a repeated name."""
    if not isinstance(schema, str) or not schema.strip():
        raise InputError("an EAS schema must be a non-empty string of 'type name' items")
    fields: list[SchemaField] = []
    for item in schema.split(","):
        match = _FIELD_RE.match(item)
        if not match:
            raise InputError(f"EAS schema item {item.strip()!r} is not 'type name'")
        kind = _TYPE_ALIASES.get(match.group(1), match.group(1))
        if not is_abi_type(kind):
            raise InputError(f"EAS schema item {item.strip()!r}: {kind!r} is not an ABI type")
        if any(f.name == match.group(2) for f in fields):
            raise InputError(f"EAS schema repeats the name {match.group(2)!r}")
        fields.append(SchemaField(type=kind, name=match.group(2)))
    return tuple(fields)


def schema_uid(schema: str, resolver: str = ZERO_ADDRESS, revocable: bool = True) -> bytes:
    """The schema UID: keccak256(abi.encodePacked(schema, resolver, revocable)) (SchemaRegistry._getUID)."""
    return keccak256(schema.encode() + bytes.fromhex(parse_address(resolver)[2:]) + (b"\x01" if revocable else b"\x00"))


def decode_attestation_data(schema: str, data: bytes) -> dict[str, Any]:
    """Decode attestation ``data`` (the ABI encoding of the schema's fields as a tuple) into a JSON-friendly
    dict. Raises ``InputError`` when the data does not decode under the schema."""
    fields = parse_schema(schema)
    try:
        values = abi_decode([f.type for f in fields], data)
    except Exception as exc:  # eth-abi raises several decoding errors; converted at the boundary
        raise InputError(f"attestation data does not decode under the schema: {exc}") from None
    return {f.name: jsonable(v) for f, v in zip(fields, values, strict=True)}


def encode_attestation_data(schema: str, values: Mapping[str, Any]) -> bytes:
    """ABI-encode ``values`` (by field name) under an EAS schema. Raises ``InputError``."""
    fields = parse_schema(schema)
    missing = [f.name for f in fields if f.name not in values]
    if missing:
        raise InputError(f"values lack schema fields {missing}")
    try:
        return bytes(abi_encode([f.type for f in fields], [values[f.name] for f in fields]))
    except (EncodingError, TypeError, ValueError) as exc:
        raise InputError(f"values do not encode under the schema: {exc}") from None


@dataclass(frozen=True, slots=True)
class EasSchema:
    """A schema record as registered: definition, resolver and revocability (together they make its UID)."""

    definition: str
    resolver: str = ZERO_ADDRESS
    revocable: bool = True

    @property
    def uid(self) -> bytes:
        """The schema UID."""
        return schema_uid(self.definition, self.resolver, self.revocable)


# -- attestations
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attestation:
    """An EAS attestation as stored on chain (``Common.sol`` ``struct Attestation``); times are Unix seconds
    and 0 means none."""

    uid: bytes
    schema: bytes
    time: int
    expiration_time: int
    revocation_time: int
    ref_uid: bytes
    recipient: str
    attester: str
    revocable: bool
    data: bytes

    @property
    def revoked(self) -> bool:
        """Whether a revocation time is set."""
        return self.revocation_time != 0

    def to_json(self) -> dict[str, Any]:
        """JSON form (EAS field names)."""
        return {
            "uid": to_hex(self.uid),
            "schema": to_hex(self.schema),
            "time": self.time,
            "expirationTime": self.expiration_time,
            "revocationTime": self.revocation_time,
            "refUID": to_hex(self.ref_uid),
            "recipient": self.recipient,
            "attester": self.attester,
            "revocable": self.revocable,
            "data": to_hex(self.data),
        }


def attestation_uid(attestation: Attestation, bump: int = 0) -> bytes:
    """Recompute an on-chain attestation's UID (EAS._getUID): keccak256 of the packed schema, recipient,
    attester, time, expirationTime, revocable, refUID, data and a uint32 bump (0 unless the UID was taken)."""
    packed = (
        attestation.schema
        + bytes.fromhex(attestation.recipient[2:])
        + bytes.fromhex(attestation.attester[2:])
        + attestation.time.to_bytes(8, "big")
        + attestation.expiration_time.to_bytes(8, "big")
        + (b"\x01" if attestation.revocable else b"\x00")
        + attestation.ref_uid
        + attestation.data
        + bump.to_bytes(4, "big")
    )
    return keccak256(packed)


def _struct_base(uid: bytes, attestations_slot: int) -> int:
    # Solidity storage layout: a mapping value lives at keccak256(key . slot), struct members in consecutive
    # slots.
    return int.from_bytes(keccak256(uid + attestations_slot.to_bytes(32, "big")), "big")


def _data_slots(base: int, length_word: int) -> list[int]:
    """Slots of the ``bytes data`` member (struct slot 6) beyond its length word. Solidity: short bytes (< 32)
    sit in the word itself with length*2 in the low byte; long ones store length*2+1 and the content from
    keccak256(slot)."""
    if length_word & 1 == 0:
        return []
    length = (length_word - 1) // 2
    start = int.from_bytes(keccak256((base + 6).to_bytes(32, "big")), "big")
    return [start + i for i in range((length + 31) // 32)]


def attestation_slots(uid: bytes, length_word: int, attestations_slot: int = EAS_ATTESTATIONS_SLOT) -> list[int]:
    """Every storage slot of the attestation ``uid``: the seven struct words and the data words, given the
    value of the data length word (struct slot 6)."""
    base = _struct_base(uid, attestations_slot)
    return [base + i for i in range(7)] + _data_slots(base, length_word)


def attestation_from_storage(
    uid: bytes, values: Mapping[int, int], attestations_slot: int = EAS_ATTESTATIONS_SLOT
) -> Attestation:
    """Rebuild the attestation ``uid`` from (proven) storage values. Raises ``InputError`` when a needed slot
    is missing, the stored uid differs (no such attestation) or the data words are inconsistent."""
    base = _struct_base(uid, attestations_slot)

    def word(offset: int) -> int:
        slot = base + offset
        if slot not in values:
            raise InputError(f"storage of attestation {to_hex(uid)} lacks struct slot {offset}")
        return values[slot]

    stored_uid = word(0).to_bytes(32, "big")
    if stored_uid != uid:
        raise InputError(f"no attestation {to_hex(uid)} in EAS storage (the slot holds {to_hex(stored_uid)})")
    times, recipient_word, attester_word, length_word = word(2), word(4), word(5), word(6)
    if length_word & 1 == 0:
        length = (length_word & 0xFF) // 2
        if length >= 32:
            raise InputError("inconsistent short bytes encoding in the data slot")
        data = length_word.to_bytes(32, "big")[:length]
    else:
        length = (length_word - 1) // 2
        chunks = []
        for slot in _data_slots(base, length_word):
            if slot not in values:
                raise InputError(f"storage of attestation {to_hex(uid)} lacks a data slot")
            chunks.append(values[slot].to_bytes(32, "big"))
        data = b"".join(chunks)[:length]
    return Attestation(
        uid=uid,
        schema=word(1).to_bytes(32, "big"),
        time=times & _U64,
        expiration_time=(times >> 64) & _U64,
        revocation_time=(times >> 128) & _U64,
        ref_uid=word(3).to_bytes(32, "big"),
        recipient=address_from_bytes((recipient_word & _U160).to_bytes(20, "big")),
        attester=address_from_bytes((attester_word & _U160).to_bytes(20, "big")),
        revocable=bool((attester_word >> 160) & 0xFF),
        data=data,
    )


# -- pure checks over evidence
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EasAttestationCheckResult:
    """Outcome of :func:`check_eas_attestation`: the evidence checks plus the EAS ones; ``attestation`` and
    ``fields`` (decoded data) are set only when everything passed."""

    status: OverallStatus
    checks: tuple[Check, ...]
    evidence: EvidenceCheckResult
    attestation: Attestation | None = None
    fields: Mapping[str, Any] | None = None
    transaction_sender: str | None = None

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The problems of the checks that did not pass."""
        return tuple(p for c in self.checks for p in c.problems)


def _eas_problem(name: str, code: str, title: str, detail: str, status: CheckStatus = CheckStatus.FAILED) -> Check:
    return Check(name, status, (Problem(code=code, title=title, detail=detail),))


def check_eas_attestation(
    evidence: EthereumEvidence | Mapping[str, Any],
    anchor: Anchor | None,
    *,
    at: datetime,
    eas_address: str,
    schema: EasSchema | None = None,
    attestations_slot: int = EAS_ATTESTATIONS_SLOT,
) -> EasAttestationCheckResult:
    """Check evidence of an on-chain EAS attestation offline: the evidence itself (:func:`check_evidence`),
    then that the log is an ``Attested`` event of ``eas_address``, that the storage proof (same block) holds
    the struct whose recomputed UID is the event's, that event and struct agree, and — given ``schema`` — that
    the schema UID matches and the data decodes under it."""
    # Parse once; malformed JSON goes to check_evidence as-is so that it reports the problem and its pointer.
    parsed = evidence if isinstance(evidence, EthereumEvidence) else _parse_quietly(evidence)
    base = check_evidence(parsed if parsed is not None else evidence, anchor, at=at)
    checks = list(base.checks)
    if parsed is None or parsed.log is None or parsed.state is None:
        checks.append(
            _eas_problem(
                "eas_attestation",
                "eas.evidence_incomplete",
                "Incomplete EAS evidence",
                "EAS attestation evidence needs both the Attested log and the storage proof",
            )
        )
        return EasAttestationCheckResult(status=overall_status(checks), checks=tuple(checks), evidence=base)
    eas = parse_address(eas_address)
    if parsed.log.address != eas or parsed.state.address != eas:
        checks.append(
            _eas_problem(
                "eas_contract",
                "eas.wrong_contract",
                "Not the EAS contract",
                f"log from {parsed.log.address}, storage of {parsed.state.address}, expected {eas}",
            )
        )
        return EasAttestationCheckResult(status=overall_status(checks), checks=tuple(checks), evidence=base)
    checks.append(Check.passed("eas_contract"))

    try:
        event = decode_event(_ATTESTED, parsed.log.topics, parsed.log.data)
    except InputError as exc:
        checks.append(_eas_problem("eas_event", "eas.not_attested_event", "Log is not an Attested event", str(exc)))
        return EasAttestationCheckResult(status=overall_status(checks), checks=tuple(checks), evidence=base)
    checks.append(Check.passed("eas_event"))

    uid = bytes(event["uid"])
    values = {s.slot: s.value for s in parsed.state.storage}
    try:
        attestation = attestation_from_storage(uid, values, attestations_slot)
    except InputError as exc:
        checks.append(
            _eas_problem("eas_storage", "eas.storage_mismatch", "Attestation not in the proven storage", str(exc))
        )
        return EasAttestationCheckResult(status=overall_status(checks), checks=tuple(checks), evidence=base)
    if not any(attestation_uid(attestation, bump) == uid for bump in range(_MAX_BUMP)):
        checks.append(
            _eas_problem(
                "eas_storage",
                "eas.uid_mismatch",
                "Stored attestation does not hash to its UID",
                "keccak256 of the stored fields differs from the UID",
            )
        )
    elif (
        attestation.recipient != parse_address(str(event["recipient"]))
        or attestation.attester != parse_address(str(event["attester"]))
        or attestation.schema != bytes(event["schemaUID"])
    ):
        checks.append(
            _eas_problem(
                "eas_storage",
                "eas.event_mismatch",
                "Event and stored attestation differ",
                "recipient, attester or schema of the event differ from the stored struct",
            )
        )
    else:
        checks.append(Check.passed("eas_storage"))

    fields: dict[str, Any] | None = None
    if schema is None:
        checks.append(Check.not_applicable("eas_schema"))
    elif schema.uid != attestation.schema:
        checks.append(
            _eas_problem(
                "eas_schema",
                "eas.schema_mismatch",
                "Attestation uses another schema",
                f"schema UID {to_hex(attestation.schema)}, expected {to_hex(schema.uid)}",
            )
        )
    else:
        try:
            fields = decode_attestation_data(schema.definition, attestation.data)
        except InputError as exc:
            checks.append(_eas_problem("eas_schema", "eas.data_undecodable", "Data does not decode", str(exc)))
        else:
            checks.append(Check.passed("eas_schema"))

    status = overall_status(checks)
    return EasAttestationCheckResult(
        status=status,
        checks=tuple(checks),
        evidence=base,
        attestation=attestation if status == "verified" else None,
        fields=fields if status == "verified" else None,
        transaction_sender=base.log.sender if status == "verified" and base.log else None,
    )


def _parse_quietly(evidence: Mapping[str, Any]) -> EthereumEvidence | None:
    try:
        return EthereumEvidence.from_json(evidence)
    except InputError:
        return None


@dataclass(frozen=True, slots=True)
class EasRevocationCheckResult:
    """Outcome of :func:`check_eas_revocation`: whether attestation ``uid`` was revoked as of the proven block
    (``revocation_time`` in Unix seconds, 0 when not revoked). Values are set only when everything passed."""

    status: OverallStatus
    checks: tuple[Check, ...]
    evidence: EvidenceCheckResult
    revoked: bool | None = None
    revocation_time: int | None = None
    block_number: int | None = None
    ledger_time: datetime | None = None

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The problems of the checks that did not pass."""
        return tuple(p for c in self.checks for p in c.problems)


def check_eas_revocation(
    evidence: EthereumEvidence | Mapping[str, Any],
    anchor: Anchor | None,
    *,
    at: datetime,
    eas_address: str,
    uid: bytes,
    attestations_slot: int = EAS_ATTESTATIONS_SLOT,
) -> EasRevocationCheckResult:
    """Check a storage proof of attestation ``uid``'s ``revocationTime`` in ``eas_address`` offline. The
    answer holds as of the evidence's block: the verdict must weigh its ledger time against the policy's
    freshness bound."""
    # Parse once; malformed JSON goes to check_evidence as-is so that it reports the problem and its pointer.
    parsed = evidence if isinstance(evidence, EthereumEvidence) else _parse_quietly(evidence)
    base = check_evidence(parsed if parsed is not None else evidence, anchor, at=at)
    checks = list(base.checks)
    if parsed is None or parsed.state is None:
        checks.append(
            _eas_problem(
                "eas_revocation",
                "eas.evidence_incomplete",
                "Incomplete EAS evidence",
                "revocation evidence needs a storage proof",
            )
        )
        return EasRevocationCheckResult(status=overall_status(checks), checks=tuple(checks), evidence=base)
    if parsed.state.address != parse_address(eas_address):
        checks.append(
            _eas_problem(
                "eas_contract",
                "eas.wrong_contract",
                "Not the EAS contract",
                f"storage of {parsed.state.address}, expected {parse_address(eas_address)}",
            )
        )
        return EasRevocationCheckResult(status=overall_status(checks), checks=tuple(checks), evidence=base)
    checks.append(Check.passed("eas_contract"))
    struct = _struct_base(uid, attestations_slot)
    values = {s.slot: s.value for s in parsed.state.storage}
    if struct not in values or struct + 2 not in values:
        checks.append(
            _eas_problem(
                "eas_revocation",
                "eas.storage_mismatch",
                "Revocation slots not proven",
                "the storage proof lacks the attestation's uid or times slot",
            )
        )
    elif values[struct] != int.from_bytes(uid, "big"):
        checks.append(
            _eas_problem(
                "eas_revocation",
                "eas.storage_mismatch",
                "No such attestation",
                f"no attestation {to_hex(uid)} in EAS storage at this block",
            )
        )
    else:
        checks.append(Check.passed("eas_revocation"))
    status = overall_status(checks)
    if status != "verified":
        return EasRevocationCheckResult(status=status, checks=tuple(checks), evidence=base)
    revocation_time = (values[struct + 2] >> 128) & _U64
    return EasRevocationCheckResult(
        status=status,
        checks=tuple(checks),
        evidence=base,
        revoked=revocation_time != 0,
        revocation_time=revocation_time,
        block_number=base.block_number,
        ledger_time=base.ledger_time,
    )


# -- reading from a node
# --------------------------------------------------------------------------------------------


class EasReader:
    """Reads EAS attestations from a node and collects their evidence (the I/O side; checks are pure
    functions)."""

    def __init__(
        self, client: JsonRpcClient, eas_address: str, *, attestations_slot: int = EAS_ATTESTATIONS_SLOT
    ) -> None:
        self.client = client
        self.eas_address = parse_address(eas_address)
        self.attestations_slot = attestations_slot

    def get_attestation(self, uid: bytes, block: int | str = "latest") -> Attestation:
        """``getAttestation(uid)`` through ``eth_call``. An unknown UID returns an all-zero struct (EAS's
        behaviour); that raises ``EvidenceBuildError``."""
        raw = self.client.eth_call(self.eas_address, _GET_ATTESTATION + abi_encode(["bytes32"], [uid]), block)
        try:
            (value,) = abi_decode([_ATTESTATION_TUPLE], raw)
        except Exception as exc:  # eth-abi decoding errors; converted at the boundary
            raise EvidenceBuildError(f"getAttestation returned undecodable data: {exc}") from None
        if bytes(value[0]) != uid:
            raise EvidenceBuildError(f"EAS {self.eas_address} has no attestation {to_hex(uid)}")
        return Attestation(
            uid=bytes(value[0]),
            schema=bytes(value[1]),
            time=value[2],
            expiration_time=value[3],
            revocation_time=value[4],
            ref_uid=bytes(value[5]),
            recipient=parse_address(value[6]),
            attester=parse_address(value[7]),
            revocable=bool(value[8]),
            data=bytes(value[9]),
        )

    def _events(
        self,
        event: EventAbi,
        from_block: int | str,
        to_block: int | str,
        schema_uid: bytes | None,
        attester: str | None,
        recipient: str | None,
    ) -> list[DecodedEvent]:
        topics = [
            address_topic(recipient) if recipient else None,
            address_topic(attester) if attester else None,
            schema_uid,
        ]
        return fetch_events(
            self.client, self.eas_address, event, from_block=from_block, to_block=to_block, topics=topics
        )

    def attested(
        self,
        *,
        from_block: int | str = 0,
        to_block: int | str = "latest",
        schema_uid: bytes | None = None,
        attester: str | None = None,
        recipient: str | None = None,
    ) -> list[DecodedEvent]:
        """``Attested`` events, optionally filtered by schema, attester and recipient (all indexed)."""
        return self._events(_ATTESTED, from_block, to_block, schema_uid, attester, recipient)

    def revoked(
        self,
        *,
        from_block: int | str = 0,
        to_block: int | str = "latest",
        schema_uid: bytes | None = None,
        attester: str | None = None,
        recipient: str | None = None,
    ) -> list[DecodedEvent]:
        """``Revoked`` events, filtered like :meth:`attested`."""
        return self._events(_REVOKED, from_block, to_block, schema_uid, attester, recipient)

    def _length_word(self, uid: bytes, block: int | str) -> int:
        slot = _struct_base(uid, self.attestations_slot) + 6
        word = self.client.call(
            "eth_getStorageAt",
            [self.eas_address, f"0x{slot:064x}", hex(block) if isinstance(block, int) else block],
        )
        return int(hex_to_bytes(word, what="storage word").hex() or "0", 16)

    def attestation_evidence(self, event: DecodedEvent, *, descendants: int = 0) -> EthereumEvidence:
        """Evidence for an attestation from its ``Attested`` event: the log proof and, at the same block, the
        storage proof of the whole struct (data included)."""
        if event.name != "Attested" or event.address != self.eas_address:
            raise EvidenceBuildError("attestation evidence needs an Attested event of this EAS contract")
        uid = bytes(event.args["uid"])
        log_evidence = build_log_evidence(
            self.client, to_hex(event.transaction_hash), event.log_index, descendants=descendants
        )
        slots = attestation_slots(uid, self._length_word(uid, log_evidence.block_number), self.attestations_slot)
        state_evidence = build_state_evidence(self.client, self.eas_address, slots, block=log_evidence.block_number)
        if state_evidence.block_hash != log_evidence.block_hash:
            raise EvidenceBuildError("the chain reorganised while collecting evidence; try again")
        return EthereumEvidence(
            chain_id=log_evidence.chain_id,
            block_number=log_evidence.block_number,
            block_hash=log_evidence.block_hash,
            header=log_evidence.header,
            descendant_headers=log_evidence.descendant_headers,
            observed=log_evidence.observed,
            log=log_evidence.log,
            state=state_evidence.state,
        )

    def revocation_evidence(self, uid: bytes, *, block: int | str = "latest", descendants: int = 0) -> EthereumEvidence:
        """Storage proof of attestation ``uid``'s uid and times slots (``revocationTime``) at ``block``."""
        base = _struct_base(uid, self.attestations_slot)
        return build_state_evidence(
            self.client, self.eas_address, [base, base + 2], block=block, descendants=descendants
        )


# -- off-chain attestations (EIP-712)
# -------------------------------------------------------------------------------

_DOMAIN_NAME = "EAS Attestation"
_DOMAIN_TYPE = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
_SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0

# EAS SDK offchain.ts OFFCHAIN_ATTESTATION_TYPES: (primary type name, fields) per version. Version 0 was
# signed under either type name, so both are tried, as the SDK's verifier does.
_V0_FIELDS = (
    ("schema", "bytes32"),
    ("recipient", "address"),
    ("time", "uint64"),
    ("expirationTime", "uint64"),
    ("revocable", "bool"),
    ("refUID", "bytes32"),
    ("data", "bytes"),
)
_V1_FIELDS = (("version", "uint16"), *_V0_FIELDS)
_V2_FIELDS = (*_V1_FIELDS, ("salt", "bytes32"))
_OFFCHAIN_TYPES: dict[int, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = {
    0: (("Attestation", _V0_FIELDS), ("Attest", _V0_FIELDS)),
    1: (("Attest", _V1_FIELDS),),
    2: (("Attest", _V2_FIELDS),),
}
_DOMAIN_FIELDS = (("name", "string"), ("version", "string"), ("chainId", "uint256"), ("verifyingContract", "address"))


def _check_declared_types(sig: Mapping[str, Any], version: int) -> None:
    """The SDK's file also declares ``version``, ``primaryType`` and ``types``. The signature is verified under
    EAS's own type for ``version`` (a declared type is never trusted), so a declaration must agree with it: left
    unchecked it would be carried in evidence as a claim nobody checks (conformance EVD-005). Raises
    ``InputError``."""
    if "version" in sig and _int(sig["version"], "sig.version") != version:
        raise InputError(f"sig.version {sig['version']!r} differs from the message version {version}")
    names = [name for name, _ in _OFFCHAIN_TYPES[version]]
    primary = sig.get("primaryType")
    if primary is not None and primary not in names:
        raise InputError(f"primaryType {primary!r} is not EAS's for version {version} ({' or '.join(names)})")
    types = sig.get("types")
    if types is None:
        return
    expected = {name: fields for name, fields in _OFFCHAIN_TYPES[version] if primary in (None, name)}
    expected["EIP712Domain"] = _DOMAIN_FIELDS
    if not isinstance(types, Mapping) or not set(types) <= set(expected) or not set(types) - {"EIP712Domain"}:
        raise InputError(f"types must declare EAS's {' or '.join(names)} type for version {version}")
    for name, declared in types.items():
        if not isinstance(declared, list) or [
            (f.get("name"), f.get("type")) if isinstance(f, Mapping) else None for f in declared
        ] != list(expected[name]):
            raise InputError(f"types.{name} is not EAS's {name} type for version {version}")


@dataclass(frozen=True, slots=True)
class OffchainAttestation:
    """An EAS off-chain attestation as the EAS SDK writes it (``{"sig": {domain, message, signature, uid,
    ...}, "signer": ...}``), parsed; nothing in it is trusted until :func:`check_offchain_attestation`."""

    version: int
    domain_version: str
    chain_id: int
    verifying_contract: str
    domain_name: str
    schema: str  # the schema UID exactly as written (the off-chain UID hashes this text)
    recipient: str
    time: int
    expiration_time: int
    revocable: bool
    ref_uid: bytes
    data: bytes
    salt: bytes | None
    uid: bytes
    r: int
    s: int
    v: int
    claimed_signer: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, document: Any) -> OffchainAttestation:
        """Parse the SDK's JSON (with or without the ``{"sig": ..., "signer": ...}`` wrapper). Raises
        ``InputError``."""
        if not isinstance(document, Mapping):
            raise InputError("an off-chain attestation must be a JSON object")
        sig = document.get("sig", document)
        if not isinstance(sig, Mapping):
            raise InputError("'sig' must be an object")
        domain, message, signature = sig.get("domain"), sig.get("message"), sig.get("signature")
        if not isinstance(domain, Mapping) or not isinstance(message, Mapping) or not isinstance(signature, Mapping):
            raise InputError("an off-chain attestation needs 'domain', 'message' and 'signature' objects")
        version = _int(message.get("version", sig.get("version", 0)), "version")
        if version not in _OFFCHAIN_TYPES:
            raise InputError(f"unsupported off-chain attestation version {version}")
        _check_declared_types(sig, version)
        schema = message.get("schema")
        hex_to_bytes(schema, what="schema", length=32)
        salt = message.get("salt")
        signer = document.get("signer") if "sig" in document else None
        return cls(
            version=version,
            domain_version=_str(domain.get("version"), "domain.version"),
            chain_id=_int(domain.get("chainId"), "domain.chainId"),
            verifying_contract=parse_address(domain.get("verifyingContract"), what="domain.verifyingContract"),
            domain_name=_str(domain.get("name"), "domain.name"),
            schema=str(schema),
            recipient=parse_address(message.get("recipient"), what="recipient"),
            time=_int(message.get("time"), "time"),
            expiration_time=_int(message.get("expirationTime", 0), "expirationTime"),
            revocable=_bool(message.get("revocable"), "revocable"),
            ref_uid=hex_to_bytes(message.get("refUID"), what="refUID", length=32),
            data=hex_to_bytes(message.get("data"), what="data"),
            salt=hex_to_bytes(salt, what="salt", length=32) if version >= 2 else None,
            uid=hex_to_bytes(sig.get("uid"), what="uid", length=32),
            r=_int(signature.get("r"), "signature.r"),
            s=_int(signature.get("s"), "signature.s"),
            v=_int(signature.get("v"), "signature.v"),
            claimed_signer=parse_address(signer, what="signer") if signer is not None else None,
            raw=document,
        )


def load_offchain_attestation(path: str | Path) -> OffchainAttestation:
    """Read an off-chain attestation file (the EAS SDK's JSON). Raises ``InputError``."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read off-chain attestation {path}: {exc}") from None
    return OffchainAttestation.from_json(document)


def _int(value: Any, what: str) -> int:
    """Numbers in SDK JSON come as numbers, decimal strings, hex strings or ethers'
    {"type":"BigNumber","hex":..}."""
    if isinstance(value, Mapping) and "hex" in value:
        value = value["hex"]
    if isinstance(value, bool):
        raise InputError(f"{what} must be a number")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            number = int(value, 16) if value.startswith("0x") else int(value, 10)
        except ValueError:
            pass
        else:
            if number >= 0:
                return number
    raise InputError(f"{what} must be a non-negative integer, got {value!r:.60}")


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string")
    return value


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{what} must be true or false")
    return value


def offchain_uid(attestation: OffchainAttestation) -> bytes:
    """The off-chain UID as the EAS SDK computes it (``Offchain.getOffchainUID``): solidityPackedKeccak256
    over the schema *text* as UTF-8 (an SDK quirk: the hex string's characters, not its bytes), recipient, the
    zero address, time, expirationTime, revocable, refUID, data, (salt,) and uint32 0; versions 1-2 start with
    the uint16 version."""
    parts = [
        attestation.schema.encode(),
        bytes.fromhex(attestation.recipient[2:]),
        b"\x00" * 20,
        attestation.time.to_bytes(8, "big"),
        attestation.expiration_time.to_bytes(8, "big"),
        b"\x01" if attestation.revocable else b"\x00",
        attestation.ref_uid,
        attestation.data,
    ]
    if attestation.version >= 1:
        parts.insert(0, attestation.version.to_bytes(2, "big"))
    if attestation.version >= 2 and attestation.salt is not None:
        parts.append(attestation.salt)
    parts.append(b"\x00" * 4)
    return keccak256(b"".join(parts))


def _encode_value(kind: str, value: Any) -> bytes:
    # EIP-712 encodeData: atomic values as 32-byte words; ``bytes`` as keccak256 of the content.
    if kind == "bytes":
        return keccak256(value)
    if kind == "bytes32":
        return bytes(value)
    if kind == "address":
        return b"\x00" * 12 + bytes.fromhex(value[2:])
    if kind == "bool":
        return (1 if value else 0).to_bytes(32, "big")
    return int(value).to_bytes(32, "big")  # uint16 / uint64


def offchain_digest(attestation: OffchainAttestation, primary_type: str, fields: Sequence[tuple[str, str]]) -> bytes:
    """The EIP-712 digest keccak256(0x1901 || domainSeparator || hashStruct(message)) for one type
    definition."""
    domain_separator = keccak256(
        keccak256(_DOMAIN_TYPE)
        + keccak256(attestation.domain_name.encode())
        + keccak256(attestation.domain_version.encode())
        + attestation.chain_id.to_bytes(32, "big")
        + b"\x00" * 12
        + bytes.fromhex(attestation.verifying_contract[2:])
    )
    type_string = f"{primary_type}({','.join(f'{kind} {name}' for name, kind in fields)})".encode()
    values = {
        "version": attestation.version,
        "schema": bytes.fromhex(attestation.schema[2:]),
        "recipient": attestation.recipient,
        "time": attestation.time,
        "expirationTime": attestation.expiration_time,
        "revocable": attestation.revocable,
        "refUID": attestation.ref_uid,
        "data": attestation.data,
        "salt": attestation.salt,
    }
    struct_hash = keccak256(keccak256(type_string) + b"".join(_encode_value(k, values[n]) for n, k in fields))
    return keccak256(b"\x19\x01" + domain_separator + struct_hash)


@dataclass(frozen=True, slots=True)
class OffchainCheckResult:
    """Outcome of :func:`check_offchain_attestation`; ``attester`` (recovered) is set only when everything
    passed."""

    status: OverallStatus
    checks: tuple[Check, ...]
    attestation: OffchainAttestation | None = None
    attester: str | None = None

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The problems of the checks that did not pass."""
        return tuple(p for c in self.checks for p in c.problems)


def _recover_typed(digest: bytes, r: int, s: int, v: int) -> str | None:
    y_parity = v - 27 if v in (27, 28) else v
    if y_parity not in (0, 1) or not (0 < r < 2**256) or not (0 < s <= _SECP256K1_HALF_N):
        return None  # high-s refused as OpenZeppelin's ECDSA.recover does (EIP-2 malleability)
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([y_parity]), digest, hasher=None
        )
    except ValueError:
        return None
    return address_from_bytes(keccak256(public.format(compressed=False)[1:])[12:])


def check_offchain_attestation(
    attestation: OffchainAttestation | Mapping[str, Any],
    *,
    at: datetime,
    chain_id: int | None = None,
    eas_address: str | None = None,
) -> OffchainCheckResult:
    """Verify an EAS off-chain attestation: the domain is "EAS Attestation" (and, if given, for ``chain_id``
    and
    ``eas_address``), the UID matches the content, the EIP-712 signature recovers the attester (and matches
    the file's
    ``signer`` when present), and the attestation time is not after ``at``. Never raises on bad input."""
    if not isinstance(attestation, OffchainAttestation):
        try:
            attestation = OffchainAttestation.from_json(attestation)
        except InputError as exc:
            check = Check.failed(
                "offchain_format",
                Problem(code="eas.offchain_malformed", title="Malformed off-chain attestation", detail=str(exc)),
            )
            return OffchainCheckResult(status="invalid", checks=(check,))
    checks = [Check.passed("offchain_format")]
    if attestation.domain_name != _DOMAIN_NAME:
        checks.append(
            _eas_problem(
                "offchain_domain",
                "eas.offchain_domain_mismatch",
                "Not an EAS domain",
                f"domain name {attestation.domain_name!r}",
            )
        )
    elif chain_id is not None and attestation.chain_id != chain_id:
        checks.append(
            _eas_problem(
                "offchain_domain",
                "eas.offchain_domain_mismatch",
                "Attestation for another chain",
                f"domain chainId {attestation.chain_id}, expected {chain_id}",
            )
        )
    elif eas_address is not None and attestation.verifying_contract != parse_address(eas_address):
        checks.append(
            _eas_problem(
                "offchain_domain",
                "eas.offchain_domain_mismatch",
                "Attestation for another EAS contract",
                f"verifyingContract {attestation.verifying_contract}",
            )
        )
    else:
        checks.append(Check.passed("offchain_domain"))

    if offchain_uid(attestation) != attestation.uid:
        checks.append(
            _eas_problem(
                "offchain_uid",
                "eas.offchain_uid_mismatch",
                "UID does not match the content",
                "the recomputed off-chain UID differs from 'uid'",
            )
        )
    else:
        checks.append(Check.passed("offchain_uid"))

    recovered: str | None = None
    for primary_type, fields in _OFFCHAIN_TYPES[attestation.version]:
        candidate = _recover_typed(
            offchain_digest(attestation, primary_type, fields), attestation.r, attestation.s, attestation.v
        )
        if candidate is not None and (attestation.claimed_signer in (None, candidate)):
            recovered = candidate
            break
    if recovered is None:
        checks.append(
            _eas_problem(
                "offchain_signature",
                "eas.offchain_signature_invalid",
                "Signature does not verify",
                "the EIP-712 signature does not recover the attester"
                + (f" {attestation.claimed_signer}" if attestation.claimed_signer else ""),
            )
        )
    else:
        checks.append(Check.passed("offchain_signature"))

    if attestation.time > at.timestamp():
        checks.append(
            _eas_problem(
                "offchain_time",
                "eas.offchain_from_future",
                "Attestation time is after the check",
                f"time {datetime.fromtimestamp(attestation.time, UTC).isoformat()}",
            )
        )
    else:
        checks.append(Check.passed("offchain_time"))
    status = overall_status(checks)
    return OffchainCheckResult(
        status=status,
        checks=tuple(checks),
        attestation=attestation,
        attester=recovered if status == "verified" else None,
    )


def attested_event_fields(event: DecodedEvent) -> dict[str, Any]:
    """The ``Attested`` event's fields as JSON (uid and schema as hex, addresses checksummed)."""
    return {name: jsonable(value) for name, value in event.args.items()}
