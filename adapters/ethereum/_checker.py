"""The Ethereum adapter's raw records and its offline evidence checker (the SDK ``EvidenceChecker``).

A translated credential's ``LedgerEvidence`` carries the raw record the mapping read (``rawRecord``) and, in
``proofMaterial``, what ties that record to the chain:

- ``eas-attestation``: an ``EthereumEvidence`` log proof of the EAS ``Attested`` event. The event proves the UID,
  attester, recipient and schema UID; the UID is EAS's Keccak-256 commitment to every other field of the
  attestation (``EAS._getUID``: schema, recipient, attester, time, expirationTime, revocable, refUID, data, bump), so
  recomputing it from the raw record proves the whole record without a storage proof. The schema definition is
  proven the same way: its UID is keccak256(definition, resolver, revocable).
- ``eas-offchain``: the EAS SDK's EIP-712 signed attestation; the attester is recovered from the signature.
- ``contract-event``: a log proof plus the event's ABI entry; the proven log is decoded and compared with the record.
- ``anchored-credential``: a log proof of ``AnchorRegistry.Anchored(anchorer, digest, uri)``; sha256 of the RFC 8785
  form of the raw record (the full signed credential) must equal the anchored digest.

Revocations are proven separately (``eas-revocation``): an EIP-1186 storage proof of the attestation's uid and
times slots showing ``revocationTime``. Everything here is pure: no I/O, ``at`` is a parameter.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

import rfc8785

from vcgate.adapters.sdk import Check, CheckStatus, EvidenceResult, LedgerEvidence, parse_datetime
from vcgate.canonical_schema import InputError, Problem, canonical_json

from ._eas import (
    ATTESTED_EVENT,
    EAS_ATTESTATIONS_SLOT,
    Attestation,
    EasSchema,
    OffchainAttestation,
    attestation_uid,
    check_eas_revocation,
    check_offchain_attestation,
    decode_attestation_data,
    parse_schema,
)
from ._encoding import address_from_bytes, caip10_account, hex_to_bytes, parse_address, parse_caip2_chain, to_hex
from ._events import EventAbi, canonical_event_entry, decode_event, jsonable
from ._evidence import (
    Anchor,
    CheckpointAnchor,
    EndpointReport,
    EthereumEvidence,
    EvidenceCheckResult,
    QuorumAnchor,
    check_evidence,
)

LEDGER_KIND: Final = "ethereum"

KIND_EAS: Final = "eas-attestation"
KIND_EAS_OFFCHAIN: Final = "eas-offchain"
KIND_EVENT: Final = "contract-event"
KIND_ANCHORED: Final = "anchored-credential"
KIND_EAS_REVOCATION: Final = "eas-revocation"
PROOF_KINDS: Final = (KIND_EAS, KIND_EAS_OFFCHAIN, KIND_EVENT, KIND_ANCHORED)
#: The members ``proofMaterial`` may have per kind (required, optional). Every one of them is bound by the check
#: (conformance EVD-005: a value nothing checks is a claim nobody checks), so anything else is refused.
PROOF_MEMBERS: Final[Mapping[str, tuple[frozenset[str], frozenset[str]]]] = {
    KIND_EAS: (frozenset({"kind", "easAddress", "ethereum"}), frozenset()),
    KIND_EAS_OFFCHAIN: (frozenset({"kind", "attestation"}), frozenset()),
    KIND_EVENT: (frozenset({"kind", "event", "ethereum"}), frozenset()),
    KIND_ANCHORED: (frozenset({"kind", "registry", "ethereum"}), frozenset({"uri"})),
    KIND_EAS_REVOCATION: (frozenset({"kind", "easAddress", "uid", "ethereum"}), frozenset({"attestationsSlot"})),
}

# EAS._getUID appends a uint32 bump that is 0 unless the UID was already taken; the ledger layer tries the same range.
_MAX_BUMP = 16
_MAX_SAFE_INTEGER = 2**53 - 1

# AnchorRegistry.sol: event Anchored(address indexed anchorer, bytes32 indexed digest, string uri).
ANCHORED_EVENT: Final = EventAbi(
    name="Anchored",
    inputs=(("anchorer", "address", True), ("digest", "bytes32", True), ("uri", "string", False)),
    anonymous=False,
)


# -- raw records (what mappings read) --------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """A decoded ABI value as I-JSON: bytes as 0x-hex, addresses checksummed, integers beyond 2^53 as decimal text
    (RFC 8785 / I-JSON cannot carry them as numbers), tuples as arrays."""
    value = jsonable(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER else str(value)
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return value


_WORD = 32
_STATIC = re.compile(
    r"^(uint(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208"
    r"|216|224|232|240|248|256)?|address|bool|bytes([1-9]|[12][0-9]|3[0-2]))$"
)


@lru_cache(maxsize=256)
def _schema_types(definition: str) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, f.type) for f in parse_schema(definition))


def _word(data: bytes, at: int) -> bytes:
    if at < 0 or at + _WORD > len(data):
        raise InputError("attestation data is shorter than its ABI layout")
    return data[at : at + _WORD]


def _static_value(kind: str, word: bytes) -> Any:
    number = int.from_bytes(word, "big")
    if kind == "address":
        if number >> 160:
            raise InputError("an address word has non-zero padding")
        return address_from_bytes(word[12:])
    if kind == "bool":
        if number > 1:
            raise InputError("a bool word is neither 0 nor 1")
        return number == 1
    if kind.startswith("bytes"):
        size = int(kind[5:])
        if any(word[size:]):
            raise InputError(f"a {kind} word has non-zero padding")
        return to_hex(word[:size])
    bits = int(kind[4:] or 256)
    if number >> bits:
        raise InputError(f"a {kind} value is out of range")
    return number


def _fast_decode(types: Sequence[str], data: bytes, base: int = 0) -> list[Any]:
    """Solidity ABI decoding (head/tail layout, ABI spec "Formal Specification of the Encoding") for the types EAS
    schemas use: uintN, address, bool, bytesN, string, bytes and one-dimensional arrays of them. Strict like eth-abi:
    padding must be zero, offsets and lengths must stay inside the data, strings must be UTF-8."""
    out: list[Any] = []
    for position, kind in enumerate(types):
        head = base + position * _WORD
        if _STATIC.match(kind):
            out.append(_static_value(kind, _word(data, head)))
            continue
        start = base + int.from_bytes(_word(data, head), "big")
        length = int.from_bytes(_word(data, start), "big")
        if kind in ("string", "bytes"):
            end = start + _WORD + length
            if end > len(data) or any(data[end : start + _WORD + -(-length // _WORD) * _WORD]):
                raise InputError(f"a {kind} value overruns the data or has non-zero padding")
            raw = data[start + _WORD : end]
            try:
                out.append(raw.decode("utf-8") if kind == "string" else to_hex(raw))
            except UnicodeDecodeError:
                raise InputError("a string value is not UTF-8") from None
            continue
        inner = kind[:-2]
        if length > len(data) // _WORD:
            raise InputError("an array length exceeds the data")
        out.append(_fast_decode([inner] * length, data, start + _WORD))
    return out


def _fast_decodable(kind: str) -> bool:
    inner = kind[:-2] if kind.endswith("[]") else kind
    return inner in ("string", "bytes") or (bool(_STATIC.match(inner)) and not inner.endswith("]"))


def decode_fields(schema: EasSchema, data: bytes) -> dict[str, Any]:
    """Attestation ``data`` decoded under ``schema`` as I-JSON (raises ``InputError`` when it does not decode).

    The common EAS types are decoded by a small strict decoder (eth-abi dominated the evidence check's time); other
    types (tuples, nested or fixed-size arrays, signed integers) go through eth-abi. Both give the same values."""
    fields = _schema_types(schema.definition)
    types = [kind for _, kind in fields]
    if all(_fast_decodable(kind) for kind in types):
        values = _fast_decode(types, data)
        return {name: json_value(value) for (name, _), value in zip(fields, values, strict=True)}
    decoded = decode_attestation_data(schema.definition, data)
    return {name: json_value(value) for name, value in decoded.items()}


def eas_raw_record(
    chain_id: int,
    attestation: Attestation,
    schema: EasSchema,
    *,
    offchain: bool = False,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The raw record of an EAS attestation (on-chain or off-chain): every field of the attestation, the schema it
    uses (definition, resolver, revocable: they make the schema UID) and the data decoded under it (``fields``, what
    mappings read). A pure function of the attestation, so a checker can rebuild it and compare."""
    return {
        "source": "eas-offchain" if offchain else "eas",
        "chainId": chain_id,
        "uid": to_hex(attestation.uid),
        "schema": to_hex(attestation.schema),
        "schemaDefinition": schema.definition,
        "schemaResolver": schema.resolver,
        "schemaRevocable": schema.revocable,
        "attester": attestation.attester,
        "recipient": attestation.recipient,
        "time": attestation.time,
        "expirationTime": attestation.expiration_time,
        "refUID": to_hex(attestation.ref_uid),
        "revocable": attestation.revocable,
        "data": to_hex(attestation.data),
        "fields": dict(fields) if fields is not None else decode_fields(schema, attestation.data),
    }


def attestation_from_raw(raw: Mapping[str, Any]) -> tuple[Attestation, EasSchema]:
    """Parse an EAS raw record back into the attestation and its schema. Raises ``InputError``."""
    try:
        schema = EasSchema(
            definition=str(raw["schemaDefinition"]),
            resolver=parse_address(raw["schemaResolver"], what="schemaResolver"),
            revocable=bool(raw["schemaRevocable"]),
        )
        attestation = Attestation(
            uid=hex_to_bytes(raw["uid"], what="uid", length=32),
            schema=hex_to_bytes(raw["schema"], what="schema", length=32),
            time=_uint64(raw["time"], "time"),
            expiration_time=_uint64(raw["expirationTime"], "expirationTime"),
            revocation_time=0,
            ref_uid=hex_to_bytes(raw["refUID"], what="refUID", length=32),
            recipient=parse_address(raw["recipient"], what="recipient"),
            attester=parse_address(raw["attester"], what="attester"),
            revocable=_bool(raw["revocable"], "revocable"),
            data=hex_to_bytes(raw["data"], what="data"),
        )
    except KeyError as exc:
        raise InputError(f"the EAS raw record lacks {exc.args[0]!r}") from None
    return attestation, schema


def event_raw_record(chain_id: int, event: EventAbi, address: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The raw record of a generic contract event: chain, contract, event signature and its decoded arguments."""
    return {
        "source": "event",
        "chainId": chain_id,
        "contract": parse_address(address),
        "event": event.signature,
        "args": {name: json_value(args[name]) for name, _, _ in event.inputs},
    }


def credential_digest(credential: Mapping[str, Any]) -> bytes:
    """sha256 of the RFC 8785 (JCS) form of a credential: the digest an ``AnchorRegistry`` anchors. It equals the
    SDK's ``recordDigest`` of the credential taken as a JSON raw record."""
    try:
        return hashlib.sha256(canonical_json(credential)).digest()
    except rfc8785.CanonicalizationError as exc:
        raise InputError(f"the credential is not I-JSON: {exc}") from None


def signer_json(chain_id: int, address: str, did: str | None = None) -> dict[str, Any]:
    """``nativeSigner`` for an Ethereum account: its address, CAIP-10 account id and, when bound, the party's DID."""
    out: dict[str, Any] = {
        "kind": "ethereum-address",
        "address": parse_address(address),
        "blockchainAccountId": caip10_account(chain_id, address),
    }
    if did:
        out["did"] = did
    return out


def _canonical_text(value: Any) -> str:
    # Compared as JSON text: Python's == would take 1 for true and 1.0 for 1.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _uint64(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise InputError(f"{what} must be an unsigned 64-bit integer")
    return value


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{what} must be true or false")
    return value


# -- anchors from JSON/YAML (the trust policy's `trust.anchors[<ledger id>]` shape) -----------------------------


def anchor_from_json(ledger_id: str, value: Mapping[str, Any] | None) -> Anchor | None:
    """Parse a pinned anchor: ``{kind: ethereum, checkpoints: {<number>: <hash>}, finalityDepth: n}`` or
    ``{kind: ethereum, quorum: k, reports: [{endpoint, chainId, blockNumber, blockHash, headNumber}],
    finalityDepth: n}``. ``None`` (or an empty object) means no anchor. Raises ``InputError`` naming the member."""
    if not value:
        return None
    chain_id = parse_caip2_chain(ledger_id)
    kind = value.get("kind", LEDGER_KIND)
    if kind != LEDGER_KIND:
        raise InputError(f"anchor for {ledger_id} is of kind {kind!r}, not {LEDGER_KIND!r}")
    depth = value.get("finalityDepth", 0)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise InputError(f"anchor for {ledger_id}: finalityDepth must be a non-negative integer")
    if "checkpoints" in value:
        raw = value["checkpoints"]
        pairs: dict[int, str] = {}
        items: list[tuple[Any, Any]] | None = list(raw.items()) if isinstance(raw, Mapping) else None
        if items is None and isinstance(raw, list):
            items = [(c.get("number"), c.get("hash")) for c in raw if isinstance(c, Mapping)]
        if items is None:
            raise InputError(f"anchor for {ledger_id}: checkpoints must map block numbers to block hashes")
        for number, block_hash in items:
            try:
                pairs[int(number)] = str(block_hash)
            except (TypeError, ValueError):
                raise InputError(f"anchor for {ledger_id}: checkpoint {number!r} is not a block number") from None
        return CheckpointAnchor.of(chain_id, pairs, finality_depth=depth)
    if "reports" in value:
        quorum = value.get("quorum")
        if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
            raise InputError(f"anchor for {ledger_id}: quorum must be a positive integer")
        reports = []
        for i, item in enumerate(value["reports"] or []):
            try:
                reports.append(
                    EndpointReport(
                        endpoint=str(item["endpoint"]),
                        chain_id=int(item["chainId"]),
                        block_number=int(item["blockNumber"]),
                        block_hash=hex_to_bytes(item["blockHash"], what="blockHash", length=32),
                        head_number=int(item["headNumber"]),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"anchor for {ledger_id}: report {i} is malformed ({exc})") from None
        return QuorumAnchor(chain_id=chain_id, reports=tuple(reports), quorum=quorum, finality_depth=depth)
    raise InputError(f"anchor for {ledger_id} needs 'checkpoints' or 'reports' (with 'quorum')")


def _pinned_contracts(anchor: Mapping[str, Any] | None, key: str) -> set[str] | None:
    raw = (anchor or {}).get(key)
    if raw is None:
        return None
    try:
        return {parse_address(a) for a in raw}
    except (InputError, TypeError):
        return set()


# -- the checker ----------------------------------------------------------------------------------------------


def proof_member_problems(proof_material: Mapping[str, Any]) -> list[str]:
    """Why ``proofMaterial`` has the wrong members for its kind (empty when it is well-formed): a missing member, one
    the kind does not have, or an unproven claim inside the ``EthereumEvidence`` (see
    ``EthereumEvidence.unproven_members``: the head the builder saw belongs in ``finality``)."""
    kind = proof_material.get("kind")
    required, optional = PROOF_MEMBERS.get(str(kind), (frozenset({"kind"}), frozenset()))
    present = set(proof_material)
    out = [f"lacks {m!r}" for m in sorted(required - present)]
    out += [f"has {m!r}, which a {kind} proof does not have" for m in sorted(present - required - optional)]
    ethereum = proof_material.get("ethereum")
    if isinstance(ethereum, Mapping):
        if "observed" in ethereum:
            out.append("carries ethereum/observed, the head its builder saw: unproven (record it in finality)")
        log = ethereum.get("log")
        if isinstance(log, Mapping) and "logIndex" in log:
            out.append("carries ethereum/log/logIndex, the block-wide log index: unproven (receiptLogIndex is)")
    return out


def _problem(code: str, title: str, detail: str, pointer: str = "") -> Problem:
    return Problem(code=code, title=title, detail=detail, pointer=pointer)


def _prefixed(check: Check) -> Check:
    # The ledger layer's checks are the same type; the adapter only files them under its ``ethereum.`` names.
    return replace(check, name=f"ethereum.{check.name}")


class _Run:
    """Collects the checks of one evidence check."""

    def __init__(self) -> None:
        self.checks: list[Check] = []

    def passed(self, name: str, detail: str = "") -> None:
        self.checks.append(Check(name, CheckStatus.PASSED, detail=detail))

    def na(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, CheckStatus.NOT_APPLICABLE, detail=detail))

    def failed(self, name: str, code: str, title: str, detail: str, pointer: str = "") -> None:
        self.checks.append(Check(name, CheckStatus.FAILED, (_problem(code, title, detail, pointer),)))

    def errored(self, name: str, code: str, title: str, detail: str, pointer: str = "") -> None:
        self.checks.append(Check(name, CheckStatus.ERROR, (_problem(code, title, detail, pointer),)))

    def ok(self) -> bool:
        return all(c.status in (CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE) for c in self.checks)

    def result(self) -> EvidenceResult:
        return EvidenceResult(tuple(self.checks))


class EthereumEvidenceChecker:
    """Checks an Ethereum adapter's ``LedgerEvidence`` offline against the anchor pinned for its chain.

    ``anchor`` is the policy's mapping for the evidence's ledger id (see :func:`anchor_from_json`); it may also pin
    ``easContracts`` (EAS deployments trusted to emit ``Attested`` for another account, i.e. delegated attestations)
    and ``anchorRegistries``. Pure: no I/O, no clock. Never raises on bad input.
    """

    def check(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        *,
        at: datetime,
    ) -> EvidenceResult:
        """Check ``evidence`` (an item of ``credential["evidence"]``) as of ``at``; see the module docs."""
        run = _Run()
        try:
            parsed = LedgerEvidence.from_json(evidence)
            if parsed.ledger_kind != LEDGER_KIND:
                raise InputError(f"ledger kind {parsed.ledger_kind!r} is not {LEDGER_KIND!r}")
            chain_id = parse_caip2_chain(parsed.ledger_id)
            proof = parsed.proof_material
            kind = proof.get("kind")
            if kind not in PROOF_KINDS:
                raise InputError(f"proofMaterial kind {kind!r} is not one of {', '.join(PROOF_KINDS)}")
            problems = proof_member_problems(proof)
            if problems:
                raise InputError("proofMaterial " + "; ".join(problems))
        except InputError as exc:
            run.failed("ethereum.evidence_shape", "ethereum.evidence_malformed", "Malformed ledger evidence", str(exc))
            return run.result()
        run.passed("ethereum.evidence_shape")
        raw = parsed.raw_record if isinstance(parsed.raw_record, dict) else None

        if kind == KIND_EAS_OFFCHAIN:
            _check_offchain(run, credential, parsed, chain_id, raw, anchor, at)
            return run.result()

        try:
            parsed_anchor = anchor_from_json(parsed.ledger_id, anchor)
        except InputError as exc:
            run.errored("ethereum.anchor_config", "ethereum.anchor_invalid", "Pinned anchor is unusable", str(exc))
            parsed_anchor = None
        try:
            ledger_evidence = EthereumEvidence.from_json(proof.get("ethereum"))
        except InputError as exc:
            run.failed(
                "ethereum.evidence_format",
                "ethereum.evidence_malformed",
                "Malformed Ethereum evidence",
                str(exc),
                "/proofMaterial/ethereum" + getattr(exc, "pointer", ""),
            )
            return run.result()
        if ledger_evidence.chain_id != chain_id:
            run.failed(
                "ethereum.ledger_facts",
                "ethereum.ledger_fact_mismatch",
                "Evidence is for another chain",
                f"ledgerId {parsed.ledger_id}, proof for {ledger_evidence.ledger}",
            )
            return run.result()
        base = check_evidence(ledger_evidence, parsed_anchor, at=at)
        run.checks.extend(_prefixed(c) for c in base.checks if c.name != "evidence_format")
        if base.status != "verified" or base.log is None:
            return run.result()
        _check_ledger_facts(run, parsed, base)

        if kind == KIND_EAS:
            _check_eas(run, credential, parsed, chain_id, raw, base, anchor)
        elif kind == KIND_EVENT:
            _check_event(run, parsed, chain_id, raw, base)
        else:
            _check_anchored(run, parsed, raw, base, anchor)
        return run.result()


def _check_ledger_facts(run: _Run, parsed: LedgerEvidence, base: EvidenceCheckResult) -> None:
    problems = []
    if parsed.ledger_height != base.block_number:
        problems.append(f"ledgerHeight {parsed.ledger_height} is not block {base.block_number}")
    if base.ledger_time is None or parse_datetime(parsed.ledger_time) != base.ledger_time:
        problems.append(f"ledgerTime {parsed.ledger_time} is not the block's timestamp")
    if problems:
        run.failed("ethereum.ledger_facts", "ethereum.ledger_fact_mismatch", "Ledger facts differ", "; ".join(problems))
    else:
        run.passed("ethereum.ledger_facts")


def _signer_matches(run: _Run, parsed: LedgerEvidence, address: str) -> None:
    claimed = parsed.native_signer.get("address")
    if claimed != address:
        run.failed(
            "ethereum.native_signer",
            "ethereum.signer_mismatch",
            "Native signer differs from the proven one",
            f"nativeSigner names {claimed!r}, the ledger proves {address}",
            "/nativeSigner/address",
        )
    else:
        run.passed("ethereum.native_signer")


def validity_beyond_expiration(credential: Mapping[str, Any], expiration_time: Any) -> str | None:
    """Why ``credential`` outlives an EAS attestation that expires at ``expiration_time`` (unix seconds; 0: never),
    or ``None`` when its ``validUntil`` is at or before that instant."""
    if not isinstance(expiration_time, int) or isinstance(expiration_time, bool) or expiration_time == 0:
        return None
    expires = datetime.fromtimestamp(expiration_time, UTC)
    until = credential.get("validUntil") if isinstance(credential, Mapping) else None
    if until is None:
        return f"the credential has no validUntil, but the attestation expires at {expires.isoformat()}"
    try:
        parsed = parse_datetime(until)
    except (InputError, TypeError, ValueError):
        return f"validUntil {until!r} is not a date-time"
    if parsed > expires:
        return f"validUntil {until} is after the attestation's expirationTime {expires.isoformat()}"
    return None


def _check_expiration(run: _Run, credential: Mapping[str, Any], attestation: Attestation) -> None:
    if attestation.expiration_time == 0:
        run.na("ethereum.eas_expiration", "the attestation does not expire")
        return
    problem = validity_beyond_expiration(credential, attestation.expiration_time)
    if problem:
        run.failed(
            "ethereum.eas_expiration",
            "eas.validity_beyond_expiration",
            "The credential outlives its attestation",
            problem,
            "/validUntil",
        )
    else:
        run.passed("ethereum.eas_expiration", "validUntil is not after the attestation's expirationTime")


def _record_equal(run: _Run, raw: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> None:
    if dict(raw) != rebuilt:
        differing = sorted(k for k in set(raw) | set(rebuilt) if raw.get(k) != rebuilt.get(k))
        run.failed(
            "ethereum.record",
            "ethereum.record_mismatch",
            "Raw record differs from what the ledger proves",
            f"members {', '.join(differing)} differ",
            "/rawRecord",
        )
    else:
        run.passed("ethereum.record")


def _check_eas(
    run: _Run,
    credential: Mapping[str, Any],
    parsed: LedgerEvidence,
    chain_id: int,
    raw: Mapping[str, Any] | None,
    base: EvidenceCheckResult,
    anchor: Mapping[str, Any] | None,
) -> None:
    assert base.log is not None
    try:
        eas_address = parse_address(parsed.proof_material.get("easAddress"), what="easAddress")
    except InputError as exc:
        run.failed("ethereum.eas_event", "ethereum.evidence_malformed", "Malformed ledger evidence", str(exc))
        return
    if base.log.address != eas_address:
        run.failed("ethereum.eas_event", "eas.wrong_contract", "Not the EAS contract", f"log from {base.log.address}")
        return
    try:
        event = decode_event(ATTESTED_EVENT, base.log.topics, base.log.data)
    except InputError as exc:
        run.failed("ethereum.eas_event", "eas.not_attested_event", "Log is not an Attested event", str(exc))
        return
    run.passed("ethereum.eas_event")
    uid = bytes(event["uid"])
    if parsed.locator != f"eas/{to_hex(uid)}":
        run.failed(
            "ethereum.locator",
            "ethereum.locator_mismatch",
            "Locator does not name the proven attestation",
            f"locator {parsed.locator!r}, the log attests {to_hex(uid)}",
            "/locator",
        )
        return
    run.passed("ethereum.locator")
    if raw is None:
        run.errored(
            "ethereum.record",
            "ethereum.record_unavailable",
            "Raw record not embedded",
            "EAS evidence is checked against the embedded raw record; this evidence carries only its digest",
        )
        return
    try:
        attestation, schema = attestation_from_raw(raw)
    except InputError as exc:
        run.failed("ethereum.record", "ethereum.record_mismatch", "Malformed EAS raw record", str(exc), "/rawRecord")
        return
    # EAS._getUID commits to every field; recomputing it proves the record (bump 0..15 as EAS retries taken UIDs).
    if attestation.uid != uid or not any(attestation_uid(attestation, b) == uid for b in range(_MAX_BUMP)):
        run.failed(
            "ethereum.eas_uid",
            "eas.uid_mismatch",
            "Raw record does not hash to the attested UID",
            "keccak256 of the record's fields (EAS._getUID) differs from the UID in the proven Attested event",
            "/rawRecord",
        )
        return
    if (
        attestation.attester != parse_address(str(event["attester"]))
        or attestation.recipient != parse_address(str(event["recipient"]))
        or attestation.schema != bytes(event["schemaUID"])
    ):
        run.failed(
            "ethereum.eas_uid",
            "eas.event_mismatch",
            "Event and record differ",
            "recipient, attester or schema of the proven event differ from the record",
            "/rawRecord",
        )
        return
    run.passed("ethereum.eas_uid")
    if schema.uid != attestation.schema:
        run.failed(
            "ethereum.eas_schema",
            "eas.schema_mismatch",
            "Schema definition does not hash to the attested schema UID",
            f"keccak256(definition, resolver, revocable) is {to_hex(schema.uid)}",
            "/rawRecord/schemaDefinition",
        )
        return
    try:
        rebuilt = eas_raw_record(chain_id, attestation, schema)
    except InputError as exc:
        run.failed("ethereum.eas_schema", "eas.data_undecodable", "Data does not decode", str(exc), "/rawRecord/data")
        return
    run.passed("ethereum.eas_schema")
    _record_equal(run, raw, rebuilt)
    _check_expiration(run, credential, attestation)
    # The attester is the transaction's signer, or the EAS contract is one the policy pins (delegated attestations
    # are relayed by someone else; only a trusted EAS deployment vouches for the attester then).
    pinned = _pinned_contracts(anchor, "easContracts")
    if attestation.attester == base.log.sender:
        run.passed("ethereum.eas_attester", "the attester signed the transaction")
    elif pinned is not None and eas_address in pinned:
        run.passed("ethereum.eas_attester", "delegated attestation through a pinned EAS contract")
    else:
        run.errored(
            "ethereum.eas_attester",
            "eas.attester_unproven",
            "Attester did not send the transaction",
            f"the transaction was sent by {base.log.sender}; pin the EAS contract in the anchor (easContracts) to "
            "accept delegated attestations",
        )
    _signer_matches(run, parsed, attestation.attester)


def _check_offchain(
    run: _Run,
    credential: Mapping[str, Any],
    parsed: LedgerEvidence,
    chain_id: int,
    raw: Mapping[str, Any] | None,
    anchor: Mapping[str, Any] | None,
    at: datetime,
) -> None:
    document = parsed.proof_material.get("attestation")
    pinned = _pinned_contracts(anchor, "easContracts")
    result = check_offchain_attestation(document if isinstance(document, Mapping) else {}, at=at, chain_id=chain_id)
    run.checks.extend(_prefixed(c) for c in result.checks)
    if result.status != "verified" or result.attestation is None or result.attester is None:
        return
    offchain = result.attestation
    if pinned is not None and offchain.verifying_contract not in pinned:
        run.failed(
            "ethereum.offchain_contract",
            "eas.offchain_domain_mismatch",
            "Attestation for an EAS contract the policy does not pin",
            f"verifyingContract {offchain.verifying_contract}",
        )
        return
    # Off-chain attestations are not in a block: the EIP-712 signature is the ledger-native proof, and binding the
    # recovered attester to a party is the pipeline's binding stage, not a chain anchor.
    run.na("ethereum.anchor", "off-chain attestation: the attester's EIP-712 signature is the proof")
    if parsed.locator != f"eas-offchain/{to_hex(offchain.uid)}":
        run.failed(
            "ethereum.locator",
            "ethereum.locator_mismatch",
            "Locator does not name the attestation",
            f"locator {parsed.locator!r}",
            "/locator",
        )
        return
    run.passed("ethereum.locator")
    if parsed.ledger_height != 0 or parse_datetime(parsed.ledger_time) != datetime.fromtimestamp(offchain.time, UTC):
        run.failed(
            "ethereum.ledger_facts",
            "ethereum.ledger_fact_mismatch",
            "Ledger facts differ",
            "an off-chain attestation has ledger height 0 and its own time as ledger time",
        )
        return
    run.passed("ethereum.ledger_facts")
    if raw is None:
        run.errored("ethereum.record", "ethereum.record_unavailable", "Raw record not embedded", "embed the raw record")
        return
    try:
        _, schema = attestation_from_raw(raw)
        if schema.uid != hex_to_bytes(offchain.schema, what="schema", length=32):
            raise InputError("the schema definition does not hash to the attestation's schema UID")
        rebuilt = eas_raw_record(chain_id, offchain_as_attestation(offchain, result.attester), schema, offchain=True)
    except InputError as exc:
        run.failed("ethereum.eas_schema", "eas.schema_mismatch", "Schema does not match", str(exc), "/rawRecord")
        return
    run.passed("ethereum.eas_schema")
    _record_equal(run, raw, rebuilt)
    _check_expiration(run, credential, offchain_as_attestation(offchain, result.attester))
    _signer_matches(run, parsed, result.attester)


def offchain_as_attestation(offchain: OffchainAttestation, attester: str) -> Attestation:
    """An off-chain attestation in the on-chain struct's shape (for the shared raw-record form)."""
    return Attestation(
        uid=offchain.uid,
        schema=hex_to_bytes(offchain.schema, what="schema", length=32),
        time=offchain.time,
        expiration_time=offchain.expiration_time,
        revocation_time=0,
        ref_uid=offchain.ref_uid,
        recipient=offchain.recipient,
        attester=attester,
        revocable=offchain.revocable,
        data=offchain.data,
    )


def _check_event(
    run: _Run, parsed: LedgerEvidence, chain_id: int, raw: Mapping[str, Any] | None, base: EvidenceCheckResult
) -> None:
    assert base.log is not None
    entry = parsed.proof_material.get("event")
    entry = entry if isinstance(entry, Mapping) else {}
    # Only the canonical form: every value in it changes what the proven log decodes to (topic 0, types, indexed
    # flags, argument names in the record); members decoding ignores (internalType, ...) would be unchecked claims.
    if _canonical_text(entry) != _canonical_text(canonical_event_entry(entry)):
        run.failed(
            "ethereum.event",
            "ethereum.abi_not_canonical",
            "Event ABI entry is not in its canonical form",
            "proofMaterial.event must be exactly the entry's canonical form (type, name, anonymous and per input "
            "name, type, indexed, component types); internalType and other members are not bound by the proof",
            "/proofMaterial/event",
        )
        return
    try:
        event = EventAbi.from_abi(entry)
        args = decode_event(event, base.log.topics, base.log.data)
    except InputError as exc:
        run.failed("ethereum.event", "ethereum.abi_mismatch", "Log does not decode under the event ABI", str(exc))
        return
    run.passed("ethereum.event")
    expected_locator = f"tx/{to_hex(base.log.transaction_hash)}/log/{base.log.receipt_log_index}"
    if parsed.locator != expected_locator:
        run.failed(
            "ethereum.locator", "ethereum.locator_mismatch", "Locator does not name the proven log", expected_locator
        )
        return
    run.passed("ethereum.locator")
    if raw is None:
        run.errored("ethereum.record", "ethereum.record_unavailable", "Raw record not embedded", "embed the raw record")
        return
    _record_equal(run, raw, event_raw_record(chain_id, event, base.log.address, args))
    _signer_matches(run, parsed, base.log.sender)


def _check_anchored(
    run: _Run,
    parsed: LedgerEvidence,
    raw: Mapping[str, Any] | None,
    base: EvidenceCheckResult,
    anchor: Mapping[str, Any] | None,
) -> None:
    assert base.log is not None
    try:
        registry = parse_address(parsed.proof_material.get("registry"), what="registry")
        if base.log.address != registry:
            raise InputError(f"the log comes from {base.log.address}, not the registry {registry}")
        args = decode_event(ANCHORED_EVENT, base.log.topics, base.log.data)
    except InputError as exc:
        run.failed("ethereum.anchored_event", "ethereum.abi_mismatch", "Not an Anchored event", str(exc))
        return
    pinned = _pinned_contracts(anchor, "anchorRegistries")
    if pinned is not None and registry not in pinned:
        run.errored(
            "ethereum.anchored_event",
            "ethereum.registry_unpinned",
            "Registry not pinned",
            f"the policy pins other anchor registries than {registry}",
        )
        return
    # AnchorRegistry always emits msg.sender as anchorer; a contract that does not is not an AnchorRegistry.
    if parse_address(str(args["anchorer"])) != base.log.sender:
        run.failed(
            "ethereum.anchored_event",
            "ethereum.anchorer_mismatch",
            "Anchorer is not the transaction's sender",
            f"event names {args['anchorer']}, the transaction was signed by {base.log.sender}",
        )
        return
    # The event's uri is recorded (proofMaterial.uri, and recordUri where the credential may be fetched) only when
    # it is an http(s) URL, exactly as emitted: the adapter never dereferences other URIs.
    uri = str(args["uri"])
    expected_uri = uri if uri.startswith(("http://", "https://")) else None
    claimed_uri = parsed.proof_material.get("uri")
    if claimed_uri != expected_uri or (parsed.record_uri is not None and parsed.record_uri != expected_uri):
        run.failed(
            "ethereum.anchored_event",
            "ethereum.uri_mismatch",
            "URI differs from the anchored one",
            f"the Anchored event's uri is {uri!r}; proofMaterial.uri is {claimed_uri!r}, recordUri "
            f"{parsed.record_uri!r}",
            "/proofMaterial/uri" if claimed_uri != expected_uri else "/recordUri",
        )
        return
    run.passed("ethereum.anchored_event")
    digest = bytes(args["digest"])
    expected_locator = f"tx/{to_hex(base.log.transaction_hash)}/log/{base.log.receipt_log_index}"
    if parsed.locator != expected_locator:
        run.failed(
            "ethereum.locator", "ethereum.locator_mismatch", "Locator does not name the proven log", expected_locator
        )
        return
    run.passed("ethereum.locator")
    actual = credential_digest(raw) if raw is not None else None
    if parsed.record_digest != "sha256:" + digest.hex() or (actual is not None and actual != digest):
        run.failed(
            "ethereum.anchored_digest",
            "ethereum.anchored_digest_mismatch",
            "Credential differs from the anchored one",
            f"the chain anchors sha256 {digest.hex()}; the credential's RFC 8785 form hashes to "
            f"{(actual or b'').hex() or parsed.record_digest}",
            "/rawRecord" if raw is not None else "/recordDigest",
        )
        return
    run.passed("ethereum.anchored_digest")
    _signer_matches(run, parsed, base.log.sender)


def check_revocation(
    proof_material: Mapping[str, Any], anchor: Mapping[str, Any] | None, *, ledger_id: str, at: datetime
) -> tuple[EvidenceResult, int | None]:
    """Check an ``eas-revocation`` proof (storage proof of the attestation's uid and times slots) offline; returns
    the result and, when it verified, the proven ``revocationTime`` (0: not revoked as of the proven block)."""
    run = _Run()
    try:
        if proof_material.get("kind") != KIND_EAS_REVOCATION:
            raise InputError(f"proofMaterial kind is not {KIND_EAS_REVOCATION!r}")
        problems = proof_member_problems(proof_material)
        if problems:
            raise InputError("proofMaterial " + "; ".join(problems))
        uid = hex_to_bytes(proof_material.get("uid"), what="uid", length=32)
        eas_address = parse_address(proof_material.get("easAddress"), what="easAddress")
        slot = proof_material.get("attestationsSlot", EAS_ATTESTATIONS_SLOT)
        parsed_anchor = anchor_from_json(ledger_id, anchor)
    except InputError as exc:
        run.failed("ethereum.evidence_shape", "ethereum.evidence_malformed", "Malformed revocation proof", str(exc))
        return run.result(), None
    result = check_eas_revocation(
        proof_material.get("ethereum") or {},
        parsed_anchor,
        at=at,
        eas_address=eas_address,
        uid=uid,
        attestations_slot=int(slot),
    )
    run.checks.extend(_prefixed(c) for c in result.checks)
    return run.result(), result.revocation_time if result.status == "verified" else None
