"""Ethereum ledger evidence: the model, the trust anchors, and the offline checker.

Evidence ties a record to a block: the block header (RLP; its Keccak-256 is the block hash), Merkle-Patricia
proofs of the transaction and its receipt under the header's ``transactionsRoot``/``receiptsRoot`` (for a
log), or EIP-1186 account and storage proofs under its ``stateRoot`` (for contract state such as an EAS
revocation time). A header only means something once it is tied to a chain the verifier trusts: an *anchor*
(trusted checkpoint block hashes, or k independent RPC endpoints agreeing on the header), at a finality depth.
Evidence that reaches no anchor is ``error``, never ``passed``.

Everything here is pure: no I/O, no clock (``at`` is a parameter). Building evidence needs a node and lives in
``_evidence_builder``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from vcgate.canonical_schema import Check, CheckStatus, InputError, OverallStatus, Problem, json_pointer, overall_status

from ._blocks import HeaderFields, decode_header, decode_receipt, decode_transaction
from ._encoding import (
    address_from_bytes,
    caip2_chain,
    hex_to_bytes,
    int_to_min_bytes,
    keccak256,
    parse_address,
    parse_caip2_chain,
    to_hex,
)
from ._errors import EvidenceFormatError
from ._rlp import RlpError, rlp_decode, rlp_encode, rlp_encode_uint
from ._trie import EMPTY_TRIE_ROOT, MAX_PROOF_NODES, ProofNodes, TrieProofError, verify_trie_proof

# keccak256(b""): the code hash of an account without code.
EMPTY_CODE_HASH = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")

MAX_DESCENDANT_HEADERS = 4096
MAX_STORAGE_SLOTS = 256
_MAX_FIELD_BYTES = 4 * 1024 * 1024


# -- the model
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """What the builder saw when it collected the evidence: the head of the chain and hence the confirmations
    (blocks on top of the evidence's block). A claim by the builder, recorded for the verdict; not proven."""

    head_number: int
    head_hash: bytes
    confirmations: int


@dataclass(frozen=True, slots=True)
class LogProof:
    """Proof that a transaction emitted a log: the signed transaction and its receipt, each with a
    Merkle-Patricia proof under key ``rlp(transaction_index)``, and the claimed log (address, topics, data)
    and sender."""

    transaction_hash: bytes
    transaction_index: int
    # Block-wide index as JSON-RPC reports it, or None. Not proven (that needs every receipt of the block), so
    # evidence handed to third parties omits it (the adapter's proofMaterial must hold proven values only).
    log_index: int | None
    receipt_log_index: int  # position of the log inside its receipt; this one is proven
    transaction: bytes  # raw signed transaction, EIP-2718 envelope
    transaction_proof: tuple[bytes, ...]
    receipt: bytes  # consensus encoding, EIP-2718 typed
    receipt_proof: tuple[bytes, ...]
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    sender: str


@dataclass(frozen=True, slots=True)
class StorageSlotProof:
    """One storage slot of a contract, its value and its EIP-1186 proof (under the account's storage root)."""

    slot: int
    value: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class StateProof:
    """EIP-1186 proof of an account (and some of its storage slots) under the block's ``stateRoot``."""

    address: str
    nonce: int
    balance: int
    storage_hash: bytes
    code_hash: bytes
    account_proof: tuple[bytes, ...]
    storage: tuple[StorageSlotProof, ...]


@dataclass(frozen=True, slots=True)
class EthereumEvidence:
    """Evidence for a log and/or contract state in one block of an EVM chain. Build it with
    ``build_log_evidence``/``build_state_evidence``, read it with :meth:`from_json`, check it with
    :func:`check_evidence`. Nothing in it is trusted until checked."""

    chain_id: int
    block_number: int
    block_hash: bytes
    header: bytes
    descendant_headers: tuple[bytes, ...] = ()
    observed: Observation | None = None
    log: LogProof | None = None
    state: StateProof | None = None

    @property
    def ledger(self) -> str:
        """The CAIP-2 ledger id, ``eip155:<chainId>``."""
        return caip2_chain(self.chain_id)

    @property
    def locator(self) -> str:
        """Where the record is on the ledger: ``tx/<hash>/log/<position in receipt>`` for a log,
        ``block/<hash>/state/<address>`` for state."""
        if self.log is not None:
            return f"tx/{to_hex(self.log.transaction_hash)}/log/{self.log.receipt_log_index}"
        if self.state is not None:
            return f"block/{to_hex(self.block_hash)}/state/{self.state.address}"
        return f"block/{to_hex(self.block_hash)}"

    @property
    def unproven_members(self) -> tuple[str, ...]:
        """JSON pointers of the members :func:`check_evidence` does not prove: ``/observed`` (the head the builder
        saw: only an anchor or descendant headers prove depth) and ``/log/logIndex`` (the block-wide log index:
        proving it needs every receipt of the block)."""
        out = []
        if self.observed is not None:
            out.append("/observed")
        if self.log is not None and self.log.log_index is not None:
            out.append("/log/logIndex")
        return tuple(out)

    def without_unproven(self) -> EthereumEvidence:
        """The same evidence without its :attr:`unproven_members`: every value left is checked offline (what the
        adapter puts into ``proofMaterial``; the head it saw goes into the ``LedgerEvidence``'s ``finality``)."""
        log = replace(self.log, log_index=None) if self.log is not None else None
        return replace(self, observed=None, log=log)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (hex strings for bytes, numbers for heights and indexes); :meth:`from_json` reads
        it."""
        out: dict[str, Any] = {
            "type": "EthereumEvidence",
            "ledger": self.ledger,
            "locator": self.locator,
            "blockNumber": self.block_number,
            "blockHash": to_hex(self.block_hash),
            "header": to_hex(self.header),
        }
        if self.descendant_headers:
            out["descendantHeaders"] = [to_hex(h) for h in self.descendant_headers]
        if self.observed is not None:
            out["observed"] = {
                "headNumber": self.observed.head_number,
                "headHash": to_hex(self.observed.head_hash),
                "confirmations": self.observed.confirmations,
            }
        if self.log is not None:
            log = self.log
            out["log"] = {
                "transactionHash": to_hex(log.transaction_hash),
                "transactionIndex": log.transaction_index,
                **({"logIndex": log.log_index} if log.log_index is not None else {}),
                "receiptLogIndex": log.receipt_log_index,
                "transaction": to_hex(log.transaction),
                "transactionProof": [to_hex(n) for n in log.transaction_proof],
                "receipt": to_hex(log.receipt),
                "receiptProof": [to_hex(n) for n in log.receipt_proof],
                "address": log.address,
                "topics": [to_hex(t) for t in log.topics],
                "data": to_hex(log.data),
                "from": log.sender,
            }
        if self.state is not None:
            state = self.state
            out["state"] = {
                "address": state.address,
                "nonce": state.nonce,
                "balance": hex(state.balance),
                "storageHash": to_hex(state.storage_hash),
                "codeHash": to_hex(state.code_hash),
                "accountProof": [to_hex(n) for n in state.account_proof],
                "storage": [
                    {"slot": hex(s.slot), "value": hex(s.value), "proof": [to_hex(n) for n in s.proof]}
                    for s in state.storage
                ],
            }
        return out

    @classmethod
    def from_json(cls, data: Any) -> EthereumEvidence:
        """Parse and strictly validate the JSON form. Raises :class:`EvidenceFormatError` (an ``InputError``)
        with the pointer of the first bad member."""
        reader = _Reader(data, "")
        if reader.optional("type", _text, "EthereumEvidence") != "EthereumEvidence":
            raise EvidenceFormatError("/type", "must be 'EthereumEvidence'")
        chain_id = reader.get("ledger", _ledger)
        locator = reader.optional("locator", _text, None)
        evidence = cls(
            chain_id=chain_id,
            block_number=reader.get("blockNumber", _uint),
            block_hash=reader.get("blockHash", _hash32),
            header=reader.get("header", _blob),
            descendant_headers=reader.optional("descendantHeaders", _blob_list(MAX_DESCENDANT_HEADERS), ()),
            observed=reader.optional("observed", _observation, None),
            log=reader.optional("log", _log_proof, None),
            state=reader.optional("state", _state_proof, None),
        )
        reader.done()
        if evidence.log is None and evidence.state is None:
            raise EvidenceFormatError("", "evidence must carry a 'log' or a 'state' proof")
        if locator is not None and locator != evidence.locator:
            raise EvidenceFormatError("/locator", f"does not match the evidence (expected {evidence.locator!r})")
        return evidence


# -- parsing helpers (strict: unknown members are refused)
# ----------------------------------------------------------


class _Reader:
    def __init__(self, data: Any, pointer: str) -> None:
        if not isinstance(data, Mapping):
            raise EvidenceFormatError(pointer, "must be a JSON object")
        self.data = data
        self.pointer = pointer
        self.seen: set[str] = set()

    def done(self) -> None:
        """Refuse members nobody asked for: evidence with unknown members is not evidence vcgate understands."""
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise EvidenceFormatError(self._at(str(unknown[0])), "is not a member of Ethereum evidence")

    def _at(self, key: str) -> str:
        return self.pointer + json_pointer(key)

    def get(self, key: str, parse: Any) -> Any:
        self.seen.add(key)
        if key not in self.data:
            raise EvidenceFormatError(self._at(key), "is required")
        return self._parse(key, parse)

    def optional(self, key: str, parse: Any, default: Any) -> Any:
        self.seen.add(key)
        if key not in self.data:
            return default
        return self._parse(key, parse)

    def _parse(self, key: str, parse: Any) -> Any:
        pointer = self._at(key)
        try:
            return parse(self.data[key], pointer)
        except EvidenceFormatError:
            raise
        except InputError as exc:
            raise EvidenceFormatError(pointer, str(exc)) from None


def _ledger(value: Any, pointer: str) -> int:
    return parse_caip2_chain(value)


def _text(value: Any, pointer: str) -> str:
    if not isinstance(value, str):
        raise EvidenceFormatError(pointer, "must be a string")
    return value


def _uint(value: Any, pointer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EvidenceFormatError(pointer, "must be a non-negative integer")
    return value


def _hex_uint(value: Any, pointer: str) -> int:
    if isinstance(value, str) and value.startswith("0x") and 2 < len(value) <= 66:
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise EvidenceFormatError(pointer, "must be a hex quantity like '0x1a' (at most 32 bytes)")


def _hash32(value: Any, pointer: str) -> bytes:
    return hex_to_bytes(value, what="hash", length=32)


def _blob(value: Any, pointer: str) -> bytes:
    if isinstance(value, str) and len(value) > 2 + 2 * _MAX_FIELD_BYTES:
        raise EvidenceFormatError(pointer, f"is larger than {_MAX_FIELD_BYTES} bytes")
    return hex_to_bytes(value, what="value")


def _address(value: Any, pointer: str) -> str:
    return parse_address(value)


def _blob_list(limit: int) -> Any:
    def parse(value: Any, pointer: str) -> tuple[bytes, ...]:
        if not isinstance(value, list):
            raise EvidenceFormatError(pointer, "must be an array")
        if len(value) > limit:
            raise EvidenceFormatError(pointer, f"has more than {limit} items")
        return tuple(_blob(item, f"{pointer}/{i}") for i, item in enumerate(value))

    return parse


def _observation(value: Any, pointer: str) -> Observation:
    reader = _Reader(value, pointer)
    parsed = Observation(
        head_number=reader.get("headNumber", _uint),
        head_hash=reader.get("headHash", _hash32),
        confirmations=reader.get("confirmations", _uint),
    )
    reader.done()
    return parsed


def _topics(value: Any, pointer: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > 4:
        raise EvidenceFormatError(pointer, "must be an array of at most 4 topics")
    return tuple(_hash32(item, f"{pointer}/{i}") for i, item in enumerate(value))


def _log_proof(value: Any, pointer: str) -> LogProof:
    reader = _Reader(value, pointer)
    parsed = LogProof(
        transaction_hash=reader.get("transactionHash", _hash32),
        transaction_index=reader.get("transactionIndex", _uint),
        log_index=reader.optional("logIndex", _uint, None),
        receipt_log_index=reader.get("receiptLogIndex", _uint),
        transaction=reader.get("transaction", _blob),
        transaction_proof=reader.get("transactionProof", _blob_list(MAX_PROOF_NODES)),
        receipt=reader.get("receipt", _blob),
        receipt_proof=reader.get("receiptProof", _blob_list(MAX_PROOF_NODES)),
        address=reader.get("address", _address),
        topics=reader.get("topics", _topics),
        data=reader.get("data", _blob),
        sender=reader.get("from", _address),
    )
    reader.done()
    return parsed


def _storage_list(value: Any, pointer: str) -> tuple[StorageSlotProof, ...]:
    if not isinstance(value, list) or len(value) > MAX_STORAGE_SLOTS:
        raise EvidenceFormatError(pointer, f"must be an array of at most {MAX_STORAGE_SLOTS} slots")
    out = []
    for i, item in enumerate(value):
        reader = _Reader(item, f"{pointer}/{i}")
        out.append(
            StorageSlotProof(
                slot=reader.get("slot", _hex_uint),
                value=reader.get("value", _hex_uint),
                proof=reader.get("proof", _blob_list(MAX_PROOF_NODES)),
            )
        )
        reader.done()
    return tuple(out)


def _state_proof(value: Any, pointer: str) -> StateProof:
    reader = _Reader(value, pointer)
    parsed = StateProof(
        address=reader.get("address", _address),
        nonce=reader.get("nonce", _uint),
        balance=reader.get("balance", _hex_uint),
        storage_hash=reader.get("storageHash", _hash32),
        code_hash=reader.get("codeHash", _hash32),
        account_proof=reader.get("accountProof", _blob_list(MAX_PROOF_NODES)),
        storage=reader.optional("storage", _storage_list, ()),
    )
    reader.done()
    return parsed


# -- anchors
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckpointAnchor:
    """Trusted block hashes of one chain, pinned by the policy (e.g. finalized checkpoints).

    Evidence for block N is anchored when a checkpoint at height H >= N has the hash of block H as the
    evidence proves it: H == N, or the evidence carries the headers N+1..H, each naming its predecessor as
    parent. It must also lie at least ``finality_depth`` blocks below that checkpoint (H - N >=
    finality_depth): pin finalized checkpoints with depth 0, recent heads with the depth your policy requires.
    """

    chain_id: int
    checkpoints: tuple[tuple[int, bytes], ...]
    finality_depth: int = 0

    @classmethod
    def of(cls, chain_id: int, checkpoints: Mapping[int, bytes | str], finality_depth: int = 0) -> CheckpointAnchor:
        """Build from a mapping of block number to block hash (bytes or 0x-hex)."""
        pairs = []
        for number, block_hash in sorted(checkpoints.items()):
            raw = block_hash if isinstance(block_hash, bytes) else hex_to_bytes(block_hash, what="checkpoint")
            if len(raw) != 32:
                raise InputError("a checkpoint block hash must be 32 bytes")
            pairs.append((int(number), raw))
        return cls(chain_id=chain_id, checkpoints=tuple(pairs), finality_depth=finality_depth)


@dataclass(frozen=True, slots=True)
class EndpointReport:
    """What one RPC endpoint said about a height: its chain id, the hash it has there, and its head. ``error``
    is set (and the rest is zero) when the endpoint could not be asked."""

    endpoint: str
    chain_id: int
    block_number: int
    block_hash: bytes | None
    head_number: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class QuorumAnchor:
    """Reports from independent RPC endpoints (collected by ``observe_header_quorum``): the evidence's block
    is anchored when at least ``quorum`` endpoints of the right chain report its hash at its height with their
    head at least ``finality_depth`` blocks above it."""

    chain_id: int
    reports: tuple[EndpointReport, ...]
    quorum: int
    finality_depth: int


Anchor = CheckpointAnchor | QuorumAnchor


# -- results
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedLog:
    """A log whose inclusion in an anchored block was proven."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    transaction_hash: bytes
    receipt_log_index: int
    sender: str


@dataclass(frozen=True, slots=True)
class EvidenceCheckResult:
    """The outcome of :func:`check_evidence`: every check, the overall status (:func:`overall_status`:
    ``invalid``, ``error`` or ``verified``), and what the evidence proved. ``log`` and
    ``storage`` are filled only from checks that passed; ``ledger_time`` is the block timestamp (from the
    header, so only meaningful once the header is anchored)."""

    status: OverallStatus
    checks: tuple[Check, ...]
    ledger: str | None = None
    block_number: int | None = None
    block_hash: bytes | None = None
    ledger_time: datetime | None = None
    anchored_depth: int | None = None
    observed_confirmations: int | None = None
    log: VerifiedLog | None = None
    storage: Mapping[int, int] = field(default_factory=dict)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The problems of the checks that did not pass."""
        return tuple(p for c in self.checks for p in c.problems)

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports and the CLI."""
        out: dict[str, Any] = {"status": self.status, "checks": [c.to_json() for c in self.checks]}
        if self.ledger is not None:
            out["ledger"] = self.ledger
        if self.block_number is not None:
            out["blockNumber"] = self.block_number
        if self.block_hash is not None:
            out["blockHash"] = to_hex(self.block_hash)
        if self.ledger_time is not None:
            out["ledgerTime"] = self.ledger_time.isoformat().replace("+00:00", "Z")
        if self.anchored_depth is not None:
            out["anchoredDepth"] = self.anchored_depth
        if self.observed_confirmations is not None:
            out["observedConfirmations"] = self.observed_confirmations
        return out


def _passed(name: str) -> Check:
    return Check.passed(name)


def _problem(
    name: str, status: Literal["failed", "error"], code: str, title: str, detail: str, pointer: str = ""
) -> Check:
    return Check(name, CheckStatus(status), (Problem(code=code, title=title, detail=detail, pointer=pointer),))


# -- the checker
# --------------------------------------------------------------------------------------------------


def check_evidence(
    evidence: EthereumEvidence | Mapping[str, Any], anchor: Anchor | None, *, at: datetime
) -> EvidenceCheckResult:
    """Check Ethereum evidence offline against a trust anchor, as of instant ``at``.

    Recomputes the block hash from the header, ties the header to the anchor (checkpoint or endpoint quorum,
    at the anchor's finality depth), proves the transaction and receipt under the header's roots, recovers the
    sender, matches the claimed log, and proves account and storage values under the state root. Never raises
    on bad input: every outcome is a :class:`Check` with a stable problem code (``docs/ethereum.md`` lists
    them)."""
    checks: list[Check] = []
    if not isinstance(evidence, EthereumEvidence):
        try:
            evidence = EthereumEvidence.from_json(evidence)
        except EvidenceFormatError as exc:
            checks.append(
                _problem(
                    "evidence_format",
                    "failed",
                    "ethereum.evidence_malformed",
                    "Malformed evidence",
                    str(exc),
                    exc.pointer,
                )
            )
            return EvidenceCheckResult(status="invalid", checks=tuple(checks))
    checks.append(_passed("evidence_format"))

    header_check, header = _check_header(evidence)
    checks.append(header_check)
    base: dict[str, Any] = {
        "ledger": evidence.ledger,
        "block_number": evidence.block_number,
        "block_hash": evidence.block_hash,
        "observed_confirmations": evidence.observed.confirmations if evidence.observed else None,
    }
    if header is None:
        return EvidenceCheckResult(status="invalid", checks=tuple(checks), **base)
    ledger_time = datetime.fromtimestamp(header.timestamp, UTC)

    if header.timestamp > at.timestamp():
        checks.append(
            _problem(
                "block_time",
                "failed",
                "ethereum.block_after_check_time",
                "Block is later than the check time",
                f"block {header.number} has timestamp {ledger_time.isoformat()}, after {at.isoformat()}",
                "/header",
            )
        )
    else:
        checks.append(_passed("block_time"))

    anchor_check, depth = _check_anchor(evidence, anchor)
    checks.append(anchor_check)

    verified_log: VerifiedLog | None = None
    if evidence.log is None:
        checks.append(Check.not_applicable("transaction_inclusion"))
        checks.append(Check.not_applicable("transaction_sender"))
        checks.append(Check.not_applicable("receipt_inclusion"))
        checks.append(Check.not_applicable("log_match"))
    else:
        log_checks, verified_log = _check_log(evidence.chain_id, evidence.log, header)
        checks.extend(log_checks)

    storage: dict[int, int] = {}
    if evidence.state is None:
        checks.append(Check.not_applicable("account_proof"))
        checks.append(Check.not_applicable("storage_proof"))
    else:
        state_checks, storage = _check_state(evidence.state, header)
        checks.extend(state_checks)

    status = overall_status(checks)
    return EvidenceCheckResult(
        status=status,
        checks=tuple(checks),
        ledger_time=ledger_time,
        anchored_depth=depth,
        log=verified_log if status == "verified" else None,
        storage=storage if status == "verified" else {},
        **base,
    )


def _check_header(evidence: EthereumEvidence) -> tuple[Check, HeaderFields | None]:
    if keccak256(evidence.header) != evidence.block_hash:
        return (
            _problem(
                "header_hash",
                "failed",
                "ethereum.header_hash_mismatch",
                "Header does not hash to the block hash",
                "keccak256 of the header RLP differs from blockHash",
                "/header",
            ),
            None,
        )
    try:
        header = decode_header(evidence.header)
    except InputError as exc:
        return _problem(
            "header_hash", "failed", "ethereum.header_malformed", "Malformed header", str(exc), "/header"
        ), None
    if header.number != evidence.block_number:
        return (
            _problem(
                "header_hash",
                "failed",
                "ethereum.header_number_mismatch",
                "Header is for another height",
                f"header number {header.number} differs from blockNumber {evidence.block_number}",
                "/blockNumber",
            ),
            None,
        )
    return _passed("header_hash"), header


def _descendant_hashes(evidence: EthereumEvidence) -> tuple[dict[int, bytes], Check | None]:
    """Hashes by height for the evidence block and its proven descendants; a broken link is a failed check."""
    hashes = {evidence.block_number: evidence.block_hash}
    previous = evidence.block_hash
    for offset, header_rlp in enumerate(evidence.descendant_headers, start=1):
        pointer = f"/descendantHeaders/{offset - 1}"
        try:
            header = decode_header(header_rlp)
        except InputError as exc:
            return hashes, _problem(
                "anchor",
                "failed",
                "ethereum.header_chain_broken",
                "Malformed descendant header",
                str(exc),
                pointer,
            )
        if header.parent_hash != previous or header.number != evidence.block_number + offset:
            return hashes, _problem(
                "anchor",
                "failed",
                "ethereum.header_chain_broken",
                "Descendant headers do not form a chain",
                f"header at {pointer} does not extend block {evidence.block_number + offset - 1}",
                pointer,
            )
        previous = keccak256(header_rlp)
        hashes[header.number] = previous
    return hashes, None


def _check_anchor(evidence: EthereumEvidence, anchor: Anchor | None) -> tuple[Check, int | None]:
    if anchor is None:
        return (
            _problem(
                "anchor",
                "error",
                "ethereum.no_anchor",
                "No trust anchor",
                f"the policy gives no anchor for {evidence.ledger}; the header cannot be trusted",
            ),
            None,
        )
    if anchor.chain_id != evidence.chain_id:
        return (
            _problem(
                "anchor",
                "error",
                "ethereum.no_anchor",
                "Anchor is for another chain",
                f"anchor is for eip155:{anchor.chain_id}, evidence for {evidence.ledger}",
            ),
            None,
        )
    if isinstance(anchor, CheckpointAnchor):
        return _check_checkpoints(evidence, anchor)
    return _check_quorum(evidence, anchor)


def _check_checkpoints(evidence: EthereumEvidence, anchor: CheckpointAnchor) -> tuple[Check, int | None]:
    hashes, broken = _descendant_hashes(evidence)
    if broken is not None:
        return broken, None
    best: int | None = None
    for number, trusted in anchor.checkpoints:
        proven = hashes.get(number)
        if proven is None:
            continue
        if proven != trusted:
            # The trusted chain has another block at this height: the evidence's block is not on it (a reorg
            # or a fork). A positive contradiction, so failed rather than undecided.
            return (
                _problem(
                    "anchor",
                    "failed",
                    "ethereum.block_not_canonical",
                    "Block is not on the trusted chain",
                    f"the checkpoint at height {number} is {to_hex(trusted)}, the evidence proves {to_hex(proven)}",
                    "/blockHash",
                ),
                None,
            )
        best = number if best is None else max(best, number)
    if best is None:
        return (
            _problem(
                "anchor",
                "error",
                "ethereum.no_anchor",
                "Evidence reaches no checkpoint",
                f"no trusted checkpoint between heights {evidence.block_number} and "
                f"{evidence.block_number + len(evidence.descendant_headers)}",
            ),
            None,
        )
    depth = best - evidence.block_number
    if depth < anchor.finality_depth:
        return (
            _problem(
                "anchor",
                "error",
                "ethereum.finality_insufficient",
                "Block is not final enough",
                f"block is {depth} blocks below the checkpoint, the policy requires {anchor.finality_depth}",
            ),
            depth,
        )
    return _passed("anchor"), depth


def _check_quorum(evidence: EthereumEvidence, anchor: QuorumAnchor) -> tuple[Check, int | None]:
    agreeing: list[int] = []
    shallow = 0
    conflicting = 0
    seen: set[str] = set()
    for report in anchor.reports:
        # One vote per endpoint, only for this chain and height.
        if report.error is not None or report.endpoint in seen or report.chain_id != evidence.chain_id:
            continue
        if report.block_number != evidence.block_number or report.block_hash is None:
            continue
        seen.add(report.endpoint)
        depth = report.head_number - report.block_number
        if report.block_hash != evidence.block_hash:
            if depth >= anchor.finality_depth:
                conflicting += 1
            continue
        if depth >= anchor.finality_depth:
            agreeing.append(depth)
        else:
            shallow += 1
    if len(agreeing) >= anchor.quorum:
        return _passed("anchor"), min(agreeing)
    if conflicting >= anchor.quorum:
        return (
            _problem(
                "anchor",
                "failed",
                "ethereum.block_not_canonical",
                "Block is not on the trusted chain",
                f"{conflicting} endpoints report another block at height {evidence.block_number}",
                "/blockHash",
            ),
            None,
        )
    if len(agreeing) + shallow >= anchor.quorum:
        return (
            _problem(
                "anchor",
                "error",
                "ethereum.finality_insufficient",
                "Block is not final enough",
                f"endpoints agree on the block but fewer than {anchor.quorum} see it "
                f"{anchor.finality_depth} blocks deep",
            ),
            None,
        )
    return (
        _problem(
            "anchor",
            "error",
            "ethereum.quorum_not_reached",
            "Endpoints do not agree on the header",
            f"{len(agreeing)} of the required {anchor.quorum} endpoints confirm block {to_hex(evidence.block_hash)}",
        ),
        None,
    )


def _check_log(chain_id: int, log: LogProof, header: HeaderFields) -> tuple[list[Check], VerifiedLog | None]:
    checks: list[Check] = []
    key = rlp_encode_uint(log.transaction_index)

    # Transaction: its hash, then its inclusion under transactionsRoot at the claimed index.
    tx_ok = False
    if keccak256(log.transaction) != log.transaction_hash:
        checks.append(
            _problem(
                "transaction_inclusion",
                "failed",
                "ethereum.transaction_hash_mismatch",
                "Transaction does not hash to its claimed hash",
                "keccak256(transaction) differs",
                "/log/transaction",
            )
        )
    else:
        try:
            included = verify_trie_proof(header.transactions_root, key, log.transaction_proof)
        except TrieProofError as exc:
            included, reason = None, str(exc)
        else:
            reason = "the proof shows another transaction (or none) at this index"
        if included != log.transaction:
            checks.append(
                _problem(
                    "transaction_inclusion",
                    "failed",
                    "ethereum.transaction_proof_invalid",
                    "Transaction is not proven in the block",
                    reason,
                    "/log/transactionProof",
                )
            )
        else:
            tx_ok = True
            checks.append(_passed("transaction_inclusion"))

    # Sender: recovered from the signature (the ledger-native signer of the record).
    sender_ok = False
    try:
        decoded = decode_transaction(log.transaction)
    except InputError as exc:
        checks.append(
            _problem(
                "transaction_sender",
                "failed",
                "ethereum.transaction_malformed",
                "Malformed transaction",
                str(exc),
                "/log/transaction",
            )
        )
    else:
        if decoded.chain_id is not None and decoded.chain_id != chain_id:
            checks.append(
                _problem(
                    "transaction_sender",
                    "failed",
                    "ethereum.transaction_chain_mismatch",
                    "Transaction is for another chain",
                    f"signed for chain {decoded.chain_id}, evidence is for chain {chain_id}",
                    "/log/transaction",
                )
            )
        elif decoded.sender != log.sender:
            checks.append(
                _problem(
                    "transaction_sender",
                    "failed",
                    "ethereum.sender_mismatch",
                    "Recovered sender differs from the claimed one",
                    f"signature recovers {decoded.sender}, evidence claims {log.sender}",
                    "/log/from",
                )
            )
        else:
            sender_ok = True
            checks.append(_passed("transaction_sender"))

    # Receipt: inclusion under receiptsRoot at the same index, hence the receipt of that very transaction.
    receipt_ok = False
    try:
        proven_receipt = verify_trie_proof(header.receipts_root, key, log.receipt_proof)
    except TrieProofError as exc:
        proven_receipt, reason = None, str(exc)
    else:
        reason = "the proof shows another receipt (or none) at this index"
    if proven_receipt != log.receipt:
        checks.append(
            _problem(
                "receipt_inclusion",
                "failed",
                "ethereum.receipt_proof_invalid",
                "Receipt is not proven in the block",
                reason,
                "/log/receiptProof",
            )
        )
    else:
        receipt_ok = True
        checks.append(_passed("receipt_inclusion"))

    # Log: decoded from the (proven) receipt and compared with the claim.
    log_ok = False
    try:
        receipt = decode_receipt(log.receipt)
    except InputError as exc:
        checks.append(
            _problem("log_match", "failed", "ethereum.receipt_malformed", "Malformed receipt", str(exc), "/log/receipt")
        )
    else:
        if receipt.status == 0:
            checks.append(
                _problem(
                    "log_match",
                    "failed",
                    "ethereum.transaction_reverted",
                    "Transaction reverted",
                    "the receipt's status is 0: the transaction had no effect",
                    "/log/receipt",
                )
            )
        elif log.receipt_log_index >= len(receipt.logs):
            checks.append(
                _problem(
                    "log_match",
                    "failed",
                    "ethereum.log_mismatch",
                    "Log not in the receipt",
                    f"the receipt has {len(receipt.logs)} logs",
                    "/log/receiptLogIndex",
                )
            )
        else:
            entry = receipt.logs[log.receipt_log_index]
            if address_from_bytes(entry.address) != log.address or entry.topics != log.topics or entry.data != log.data:
                checks.append(
                    _problem(
                        "log_match",
                        "failed",
                        "ethereum.log_mismatch",
                        "Claimed log differs from the receipt's",
                        "address, topics or data differ from the log in the receipt",
                        "/log",
                    )
                )
            else:
                log_ok = True
                checks.append(_passed("log_match"))

    if not (tx_ok and sender_ok and receipt_ok and log_ok):
        return checks, None
    return checks, VerifiedLog(
        address=log.address,
        topics=log.topics,
        data=log.data,
        transaction_hash=log.transaction_hash,
        receipt_log_index=log.receipt_log_index,
        sender=log.sender,
    )


def _check_state(state: StateProof, header: HeaderFields) -> tuple[list[Check], dict[int, int]]:
    checks: list[Check] = []
    address_bytes = bytes.fromhex(state.address[2:])
    claimed = rlp_encode(
        [int_to_min_bytes(state.nonce), int_to_min_bytes(state.balance), state.storage_hash, state.code_hash]
    )
    # EIP-1186: the account lives in the state trie under keccak256(address) as rlp([nonce, balance,
    # storageRoot, codeHash]); an absent account is proven by an exclusion proof and equals the empty account.
    try:
        proven = verify_trie_proof(header.state_root, keccak256(address_bytes), state.account_proof)
    except TrieProofError as exc:
        proven, reason = b"!", str(exc)
    else:
        reason = "the proof shows another account state"
    empty_claim = (
        state.nonce == 0
        and state.balance == 0
        and state.storage_hash == EMPTY_TRIE_ROOT
        and state.code_hash == EMPTY_CODE_HASH
    )
    if proven != claimed and not (proven is None and empty_claim):
        checks.append(
            _problem(
                "account_proof",
                "failed",
                "ethereum.account_proof_invalid",
                "Account state is not proven under the state root",
                reason,
                "/state/accountProof",
            )
        )
        checks.append(Check.not_applicable("storage_proof"))
        return checks, {}
    checks.append(_passed("account_proof"))

    values: dict[int, int] = {}
    # The slots' proofs share their upper nodes: hash and decode each distinct node once for all of them.
    storage_nodes = ProofNodes(slot.proof for slot in state.storage)
    for position, slot in enumerate(state.storage):
        pointer = f"/state/storage/{position}"
        if slot.slot >= 2**256 or slot.value >= 2**256:
            checks.append(
                _problem(
                    "storage_proof",
                    "failed",
                    "ethereum.storage_proof_invalid",
                    "Storage slot out of range",
                    "slot and value are 256-bit words",
                    pointer,
                )
            )
            return checks, {}
        try:
            raw = verify_trie_proof(
                state.storage_hash, keccak256(slot.slot.to_bytes(32, "big")), slot.proof, nodes=storage_nodes
            )
        except TrieProofError as exc:
            checks.append(
                _problem(
                    "storage_proof",
                    "failed",
                    "ethereum.storage_proof_invalid",
                    "Storage value is not proven",
                    str(exc),
                    pointer,
                )
            )
            return checks, {}
        # Storage values are stored as rlp(value without leading zeros); an absent slot is zero.
        try:
            decoded = b"" if raw is None else rlp_decode(raw)
        except RlpError:
            decoded = [b"not a word"]
        stored = int.from_bytes(decoded, "big") if isinstance(decoded, bytes) else -1
        if stored != slot.value:
            checks.append(
                _problem(
                    "storage_proof",
                    "failed",
                    "ethereum.storage_proof_invalid",
                    "Storage value is not proven",
                    f"slot {hex(slot.slot)}: the proof shows another value",
                    pointer,
                )
            )
            return checks, {}
        values[slot.slot] = slot.value
    checks.append(_passed("storage_proof") if state.storage else Check.not_applicable("storage_proof"))
    return checks, values
