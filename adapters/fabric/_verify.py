"""The offline Fabric verifier: pure functions from decoded blocks and a channel state to check results.

What is checked, and why (Fabric 2.x ``core/committer/txvalidator``, ``protoutil``, ``common/policies``):

* ``data_hash`` — the header's data hash is SHA-256 over the concatenated data entries.
* ``previous_hash`` — the header links to the hash of the previous block's header DER (when that block was
seen).
* ``orderer_signature`` — every signature in ``metadata[SIGNATURES]`` verifies over
  ``value ‖ signature_header (or BFT identifier_header) ‖ header DER`` by an orderer-role certificate of the
  channel,
  and the signers satisfy ``/Channel/Orderer/BlockValidation`` of the configuration in force before the block.
* ``creator_signature`` — ``Envelope.signature`` over the exact payload bytes by the
``SignatureHeader.creator``;
  the creator satisfies ``/Channel/Writers`` for endorser transactions.
* ``tx_id`` — ``hex(SHA-256(nonce ‖ creator))`` equals the channel header's tx id.
* ``certificate_chain`` — the creator and every endorser chain to their MSP roots (CRLs, OU rules, NodeOUs);
endorsers
  need the peer role when their MSP uses NodeOUs.
* ``endorsement_signatures`` — each endorsement verifies over ``proposal_response_payload ‖ endorser`` (exact
bytes):
  the write set, event and response live inside that payload, so this is what makes the record authentic.
* ``proposal_hash`` — SHA-256(channel header ‖ action signature header ‖ chaincode proposal payload) equals
the
  hash the endorsers signed, and the action's creator is the envelope's creator.
* ``endorsement_policy`` — the deduplicated valid endorsers satisfy, per written namespace, the chaincode's
policy from
  its ``_lifecycle`` definition, and per written private collection the collection's policy (implicit org
  collections:
  the org's ``Endorsement`` policy), as Fabric's v20 key-level validator applies them.

The validation code recorded in ``TRANSACTIONS_FILTER`` is covered by no signature: it is reported as
recorded and
marked attested only with signed peer responses (:mod:`._attest`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fabric_protos.common import common_pb2
from google.protobuf.message import DecodeError

from vcgate.canonical_schema import Check, Problem, VcgateError, overall_status

from ._attest import Attestation, SignedPeerResponse, check_validation_attestation
from ._crypto import block_data_hash, compute_tx_id, ecdsa_verify
from ._decode import validation_code_name
from ._lifecycle import (
    IMPLICIT_COLLECTION_PREFIX,
    LIFECYCLE_NAMESPACE,
    ApplicationPolicy,
    ChaincodeDefinition,
    collection_of,
    definitions_from_writes,
    merge_definitions,
)
from ._model import (
    Block,
    BlockHeader,
    ChannelConfig,
    ConfigTransaction,
    EndorsedAction,
    EndorserTransaction,
    Identity,
    NOutOf,
    Principal,
    SignaturePolicy,
    SignedBy,
    Transaction,
)
from ._msp import ValidatedIdentity, VerificationCache, validate_identity
from ._policy import PolicyOutcome, evaluate_policy, evaluate_signature_policy

BLOCK_CHECKS = ("data_hash", "previous_hash", "orderer_signature")
TRANSACTION_CHECKS = (
    "creator_signature",
    "tx_id",
    "certificate_chain",
    "endorsement_signatures",
    "proposal_hash",
    "endorsement_policy",
)
_STAGE = "fabric"
_BLOCK_VALIDATION = "/Channel/Orderer/BlockValidation"
_WRITERS = "/Channel/Writers"
_LIFECYCLE_ENDORSEMENT = "/Channel/Application/LifecycleEndorsement"


class FabricAnchorError(VcgateError):
    """A block given as the trust anchor is not a config block, or its data is not what its header commits to.

    ``problem`` is set when the anchor is unsound (``fabric.anchor_data_mismatch``), as opposed to a usage error.
    """

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


def _p(code: str, title: str, detail: str = "") -> Problem:
    return Problem(code, title, detail)


def _passed(name: str) -> Check:
    return Check.passed(name, _STAGE)


def _na(name: str) -> Check:
    return Check.not_applicable(name, _STAGE)


def _failed(name: str, problem: Problem) -> Check:
    return Check.failed(name, problem, _STAGE)


def _error(name: str, problem: Problem) -> Check:
    return Check.errored(name, problem, _STAGE)


# ----------------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------------------
# state


@dataclass(frozen=True, slots=True)
class ChannelState:
    """What verification of the next block relies on: the config in force, committed chaincodes, the last
    header.

    Built from a trust-anchor config block (:meth:`from_config_block`); :meth:`advance` replays each verified
    block
    (config blocks replace MSPs and policies; valid ``_lifecycle`` commits add chaincode definitions).
    ``ledger_id`` is ``fabric:`` + the first 16 hex chars of the genesis block hash, known only when the
    anchor is
    the genesis block.
    """

    channel_id: str
    config: ChannelConfig
    config_block_number: int
    anchor_block_number: int
    anchor_block_hash: bytes
    ledger_id: str | None
    chaincodes: Mapping[str, ChaincodeDefinition] = field(default_factory=dict)
    last_header: BlockHeader | None = None

    @classmethod
    def from_config_block(cls, block: Block) -> ChannelState:
        """Anchor on a config block (genesis or later); raises :class:`FabricAnchorError` for any other
        block."""
        config = block.config
        if config is None:
            raise FabricAnchorError(
                f"block {block.number} is not a config block; pass the channel's genesis block (or a "
                f"later config "
                "block) as the trust anchor"
            )
        # A pinned hash covers the header only: the configuration it anchors is in the data, bound by data_hash.
        computed = block_data_hash(block.data)
        if computed != block.header.data_hash or (block.number == 0 and block.header.previous_hash):
            problem = _p(
                "fabric.anchor_data_mismatch",
                "the anchor block's data is not what its header commits to",
                f"block {block.number}: the header's data hash is {block.header.data_hash.hex()}, the data hashes "
                f"to {computed.hex()}"
                + (" (and a genesis block links to a previous one)" if block.number == 0 else ""),
            )
            raise FabricAnchorError(f"{problem.title}: {problem.detail}", problem)
        block_hash = block.header.hash()
        ledger_id = "fabric:" + block_hash.hex()[:16] if block.number == 0 else None
        return cls(
            channel_id=block.channel_id,
            config=config,
            config_block_number=block.number,
            anchor_block_number=block.number,
            anchor_block_hash=block_hash,
            ledger_id=ledger_id,
            last_header=block.header,
        )

    def advance(self, block: Block, result: BlockResult) -> ChannelState:
        """The state after ``block`` (pure). Failed blocks only move the chain head; they change
        nothing else."""
        if result.block_status == "invalid":
            return replace(self, last_header=block.header)
        config = self.config
        config_number = self.config_block_number
        if block.config is not None:
            config, config_number = block.config, block.number
        chaincodes: Mapping[str, ChaincodeDefinition] = self.chaincodes
        for tx, tx_result in zip(block.transactions, result.transactions, strict=True):
            if not isinstance(tx.content, EndorserTransaction) or tx_result.status == "invalid":
                continue
            if tx_result.validation_code not in (None, "VALID"):
                continue
            for action in tx.content.actions:
                for ns in action.rwsets:
                    if ns.namespace == LIFECYCLE_NAMESPACE and ns.writes:
                        try:
                            new = definitions_from_writes(ns.writes, (block.number, tx.index))
                        except VcgateError:
                            continue
                        chaincodes = merge_definitions(chaincodes, new)
        return replace(
            self,
            config=config,
            config_block_number=config_number,
            chaincodes=chaincodes,
            last_header=block.header,
        )


# ----------------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, slots=True)
class TransactionResult:
    """Decoded facts and checks of one transaction."""

    index: int
    tx_id: str
    type: str
    channel_id: str
    timestamp: str
    chaincode: str
    function: str
    creator_msp: str
    endorser_msps: tuple[str, ...]
    writes: tuple[tuple[str, tuple[str, ...]], ...]
    private_writes: tuple[tuple[str, tuple[str, ...]], ...]
    event_name: str
    validation_code: str | None
    validation_code_attested: bool
    attested_by: tuple[str, ...]
    checks: tuple[Check, ...]

    @property
    def status(self) -> str:
        """``verified``, ``invalid`` or ``error`` over this transaction's checks."""
        return overall_status(self.checks)

    def check(self, name: str) -> Check:
        """The check named ``name``."""
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON shape for one transaction."""
        return {
            "index": self.index,
            "tx_id": self.tx_id,
            "type": self.type,
            "channel": self.channel_id,
            "timestamp": self.timestamp,
            "chaincode": self.chaincode,
            "function": self.function,
            "creator_msp": self.creator_msp,
            "endorser_msps": list(self.endorser_msps),
            "writes": {ns: list(keys) for ns, keys in self.writes},
            "private_writes": {ns: list(colls) for ns, colls in self.private_writes},
            "event": self.event_name,
            "validation_code": self.validation_code,
            "validation_code_attested": self.validation_code_attested,
            "attested_by": list(self.attested_by),
            "status": self.status,
            "checks": {c.name: c.status for c in self.checks},
            "problems": [{"check": c.name, **p.to_json()} for c in self.checks for p in c.problems],
        }


@dataclass(frozen=True, slots=True)
class BlockResult:
    """Checks of one block and of each of its transactions, plus what identifies the block."""

    number: int
    channel_id: str
    ledger_id: str | None
    block_hash: str
    data_hash: str
    previous_hash: str
    config: ChannelConfig | None
    checks: tuple[Check, ...]
    transactions: tuple[TransactionResult, ...]

    @property
    def block_status(self) -> str:
        """Status over the block-level checks only."""
        return overall_status(self.checks)

    @property
    def status(self) -> str:
        """``verified``, ``invalid`` or ``error`` over the block's and all its transactions' checks."""
        return overall_status([*self.checks, *(c for t in self.transactions for c in t.checks)])

    def check(self, name: str) -> Check:
        """The block-level check named ``name``."""
        return next(c for c in self.checks if c.name == name)

    def failed_checks(self) -> list[str]:
        """Names of failed checks, block-level and per transaction (deduplicated, in order)."""
        names: list[str] = []
        for c in (*self.checks, *(c for t in self.transactions for c in t.checks)):
            if c.status == "failed" and c.name not in names:
                names.append(c.name)
        return names

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON shape: ``{"block": N, "checks": {...}, "transactions": [...]}`` plus identifiers."""
        out: dict[str, Any] = {
            "block": self.number,
            "channel": self.channel_id,
            "ledger_id": self.ledger_id,
            "block_hash": self.block_hash,
            "data_hash": self.data_hash,
            "previous_hash": self.previous_hash,
            "status": self.status,
            "checks": {c.name: c.status for c in self.checks},
            "problems": [{"check": c.name, **p.to_json()} for c in self.checks for p in c.problems],
            "transactions": [t.to_json() for t in self.transactions],
        }
        if self.config is not None:
            cfg = self.config
            out["config"] = {
                "sequence": cfg.sequence,
                "msps": list(cfg.msp_ids),
                "consensus": cfg.orderer.consensus_type if cfg.orderer else "",
                "application_capabilities": list(cfg.application_capabilities),
            }
        return out


# ----------------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------------------
# block checks


def _block_time(block: Block) -> datetime | None:
    times = [t.channel_header.timestamp for t in block.transactions if t.channel_header and t.channel_header.timestamp]
    return max(times) if times else None


def _check_data_hash(block: Block) -> Check:
    computed = block_data_hash(block.data)
    if computed == block.header.data_hash:
        return _passed("data_hash")
    return _failed(
        "data_hash",
        _p(
            "fabric.data_hash_mismatch",
            "block data hash mismatch",
            f"block {block.number}: header says {block.header.data_hash.hex()}, data hashes to {computed.hex()}",
        ),
    )


def _check_previous_hash(block: Block, state: ChannelState | None) -> Check:
    if block.number == 0:
        if block.header.previous_hash:
            return _failed(
                "previous_hash",
                _p(
                    "fabric.previous_hash_mismatch",
                    "genesis block has a previous hash",
                    f"block 0 links to {block.header.previous_hash.hex()}",
                ),
            )
        return _passed("previous_hash")
    prev = state.last_header if state else None
    if prev is None or prev.number != block.number - 1:
        return _na("previous_hash")
    expected = prev.hash()
    if block.header.previous_hash == expected:
        return _passed("previous_hash")
    return _failed(
        "previous_hash",
        _p(
            "fabric.previous_hash_mismatch",
            "block does not link to its predecessor",
            f"block {block.number} links to {block.header.previous_hash.hex()}, block {prev.number} "
            f"hashes to "
            f"{expected.hex()}",
        ),
    )


def _signer_role_ok(vid: ValidatedIdentity, role: str, config: ChannelConfig) -> bool:
    msp = config.msps.get(vid.msp_id)
    return msp is None or not msp.node_ous.enabled or role in vid.roles


def _check_orderer_signature(
    block: Block, state: ChannelState | None, cache: VerificationCache, at: datetime | None
) -> Check:
    name = "orderer_signature"
    if state is None:
        return _error(
            name,
            _p(
                "fabric.no_channel_config",
                "no channel configuration",
                f"block {block.number}: pass the channel's genesis or a config block as the trust anchor",
            ),
        )
    sigs = block.metadata.signatures
    if not sigs:
        if block.number == 0 and block.header.hash() == state.anchor_block_hash:
            return _na(name)  # the genesis block is the trust anchor itself: it is pinned by its hash
        return _failed(name, _p("fabric.orderer_signature_missing", "block is not signed", f"block {block.number}"))
    config = state.config
    header_der = block.header.der()
    signers: dict[str, ValidatedIdentity] = {}
    for i, sig in enumerate(sigs):
        signer: Identity | None = sig.creator
        signed_header = sig.signature_header_bytes
        if not signed_header and sig.identifier_header_bytes and sig.consenter_id is not None:
            consenter = next(
                (c for c in (config.orderer.consenters if config.orderer else ()) if c.id == sig.consenter_id),
                None,
            )
            if consenter is not None:
                signer = Identity(consenter.msp_id, consenter.identity, b"")
            signed_header = sig.identifier_header_bytes
        if signer is None:
            return _failed(
                name,
                _p("fabric.orderer_signature_invalid", "orderer signature has no signer", f"signature {i}"),
            )
        key = cache.public_key(signer.certificate_pem)
        if key is None:
            return _failed(
                name, _p("fabric.orderer_signature_invalid", "orderer certificate unusable", f"signature {i}")
            )
        reason = ecdsa_verify(key, sig.signature, block.metadata.signature_value + signed_header + header_der)
        if reason:
            return _failed(
                name,
                _p(
                    "fabric.orderer_signature_invalid",
                    "orderer signature invalid",
                    f"block {block.number}, signature {i} by {signer.msp_id}: {reason}",
                ),
            )
        outcome = validate_identity(signer, config.msps, cache, at=at)
        if outcome.identity is None:
            assert outcome.problem is not None
            return (_error if outcome.status == "error" else _failed)(name, outcome.problem)
        if not _signer_role_ok(outcome.identity, "orderer", config):
            return _failed(
                name,
                _p(
                    "fabric.signer_not_orderer",
                    "block signed by a non-orderer identity",
                    f"signature {i} by {signer.msp_id} has roles {sorted(outcome.identity.roles)}",
                ),
            )
        signers[outcome.identity.fingerprint] = outcome.identity
    policy = evaluate_policy(config, _BLOCK_VALIDATION, list(signers.values()), cache)
    if policy.error:
        return _error(name, _p("fabric.policy_unevaluable", "BlockValidation cannot be evaluated", policy.error))
    if not policy.satisfied:
        return _failed(
            name,
            _p(
                "fabric.orderer_policy_unsatisfied",
                "block signatures do not satisfy BlockValidation",
                f"block {block.number}: {len(signers)} valid orderer signer(s)",
            ),
        )
    # The orderers signed which config block was in force; judged under another config (a config block between
    # the anchor and this block was not given), the signatures prove nothing about the real channel state.
    in_force = block.number if block.config is not None else state.config_block_number
    signed_last = signed_last_config(block)
    if signed_last is not None and signed_last != in_force:
        return _error(
            name,
            _p(
                "fabric.config_not_replayed",
                "the block was ordered under another config block",
                f"block {block.number} names config block #{signed_last} as in force; the replay is at "
                f"#{state.config_block_number}: give every config block from the anchor on",
            ),
        )
    return _passed(name)


def signed_last_config(block: Block) -> int | None:
    """The last-config index inside the orderer-signed metadata value (Fabric >= 1.4.2), ``None`` when absent."""
    if not block.metadata.signature_value:
        return None
    try:
        signed = common_pb2.OrdererBlockMetadata.FromString(block.metadata.signature_value)
    except DecodeError:
        return None
    return int(signed.last_config.index) if signed.HasField("last_config") else None


# ----------------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------------------
# transaction checks


def _implicit_org_policy(config: ChannelConfig, msp_id: str) -> ApplicationPolicy:
    # core/chaincode/lifecycle ImplicitCollectionEndorsementPolicyAsBytes: the org's Endorsement policy when
    # the
    # channel defines one, else "a member of the org".
    for org in config.application_orgs:
        if org.msp.msp_id == msp_id:
            path = f"/Channel/Application/{org.name}/Endorsement"
            if path in config.policies:
                return ApplicationPolicy(channel_policy_reference=path)
    return ApplicationPolicy(
        signature_policy=SignaturePolicy(NOutOf(1, (SignedBy(0),)), (Principal("role", msp_id, role="member"),))
    )


def _evaluate_application_policy(
    policy: ApplicationPolicy,
    config: ChannelConfig,
    signers: Sequence[ValidatedIdentity],
    cache: VerificationCache,
) -> PolicyOutcome:
    if policy.signature_policy is not None:
        return PolicyOutcome(evaluate_signature_policy(policy.signature_policy, signers, cache))
    return evaluate_policy(config, policy.channel_policy_reference, signers, cache)


def _policies_for_action(
    action: EndorsedAction, invoked: str, state: ChannelState
) -> tuple[list[tuple[str, ApplicationPolicy]], Problem | None]:
    """The policies the v20 validator applies to one action: (label, policy) pairs, or a problem (→ error)."""
    config = state.config
    needed: list[tuple[str, ApplicationPolicy]] = []

    def chaincode_policy(ns: str) -> tuple[ApplicationPolicy | None, Problem | None]:
        if ns == LIFECYCLE_NAMESPACE:
            return ApplicationPolicy(channel_policy_reference=_LIFECYCLE_ENDORSEMENT), None
        definition = state.chaincodes.get(ns)
        if definition is None or definition.endorsement_policy is None:
            return None, _p(
                "fabric.chaincode_definition_unknown",
                "chaincode definition not known",
                f"no committed _lifecycle definition of {ns!r} was replayed; verify from the block that committed it",
            )
        return definition.endorsement_policy, None

    checked_any = False
    for ns in action.rwsets:
        if not ns.has_writes:
            continue
        cc_needed = bool(ns.writes or ns.metadata_writes)
        for coll in ns.collections:
            if not (coll.hashed_writes or coll.metadata_write_count):
                continue
            coll_policy: ApplicationPolicy | None = None
            if coll.collection.startswith(IMPLICIT_COLLECTION_PREFIX):
                coll_policy = _implicit_org_policy(config, coll.collection[len(IMPLICIT_COLLECTION_PREFIX) :])
            else:
                collection = collection_of(state.chaincodes.get(ns.namespace), coll.collection)
                coll_policy = collection.endorsement_policy if collection else None
            if coll_policy is None:
                cc_needed = True
            else:
                needed.append((f"collection {ns.namespace}/{coll.collection}", coll_policy))
        if cc_needed:
            policy, problem = chaincode_policy(ns.namespace)
            if problem is not None:
                return needed, problem
            assert policy is not None
            needed.append((f"chaincode {ns.namespace}", policy))
        checked_any = True
    if not checked_any and invoked:
        # A read-only transaction is still validated against the invoked chaincode's policy.
        policy, problem = chaincode_policy(invoked)
        if problem is not None:
            return needed, problem
        assert policy is not None
        needed.append((f"chaincode {invoked}", policy))
    return needed, None


def check_transaction(
    tx: Transaction,
    state: ChannelState | None,
    cache: VerificationCache,
    *,
    block_number: int,
    at: datetime | None = None,
) -> tuple[Check, ...]:
    """The :data:`TRANSACTION_CHECKS` of one transaction of block ``block_number`` against ``state``. Pure.

    What :func:`check_block` runs per transaction, for callers that hold a single envelope (an evidence checker).
    """
    return _check_transaction(block_number, tx, state, cache, at)


def _check_transaction(
    block_number: int,
    tx: Transaction,
    state: ChannelState | None,
    cache: VerificationCache,
    at: datetime | None,
) -> tuple[Check, ...]:
    checks: dict[str, Check] = {}
    if tx.problem is not None:
        for n in TRANSACTION_CHECKS:
            checks[n] = _na(n)
        checks["creator_signature"] = _failed("creator_signature", tx.problem)
        return tuple(checks[n] for n in TRANSACTION_CHECKS)
    when = at or (tx.channel_header.timestamp if tx.channel_header else None)
    content = tx.content
    endorser_tx = isinstance(content, EndorserTransaction)
    genesis_config = isinstance(content, ConfigTransaction) and block_number == 0

    # -- creator signature
    # ------------------------------------------------------------------------------------
    creator_valid: ValidatedIdentity | None = None
    chain_problems: list[tuple[str, Problem]] = []
    if tx.creator is None or not tx.signature:
        checks["creator_signature"] = (
            _na("creator_signature")
            if genesis_config
            else _failed(
                "creator_signature",
                _p(
                    "fabric.creator_missing",
                    "transaction is not signed",
                    f"transaction {tx.index} has no creator or no signature",
                ),
            )
        )
    else:
        key = cache.public_key(tx.creator.certificate_pem)
        reason = "the creator certificate has no usable EC key" if key is None else None
        if key is not None:
            reason = ecdsa_verify(key, tx.signature, tx.payload_bytes)
        if reason:
            checks["creator_signature"] = _failed(
                "creator_signature",
                _p(
                    "fabric.creator_signature_invalid",
                    "creator signature invalid",
                    f"{tx.creator.msp_id}: {reason}",
                ),
            )
        elif state is None:
            checks["creator_signature"] = _passed("creator_signature")
        else:
            outcome = validate_identity(tx.creator, state.config.msps, cache, at=when)
            if outcome.identity is None:
                assert outcome.problem is not None
                chain_problems.append((outcome.status, outcome.problem))
                checks["creator_signature"] = _passed("creator_signature")
            else:
                creator_valid = outcome.identity
                checks["creator_signature"] = _passed("creator_signature")
                if endorser_tx:
                    writers = evaluate_policy(state.config, _WRITERS, [creator_valid], cache)
                    if writers.error:
                        checks["creator_signature"] = _error(
                            "creator_signature",
                            _p("fabric.policy_unevaluable", "Writers cannot be evaluated", writers.error),
                        )
                    elif not writers.satisfied:
                        checks["creator_signature"] = _failed(
                            "creator_signature",
                            _p(
                                "fabric.creator_not_writer",
                                "creator does not satisfy /Channel/Writers",
                                f"{tx.creator.msp_id} roles {sorted(creator_valid.roles)}",
                            ),
                        )

    # -- tx id
    # ------------------------------------------------------------------------------------------------
    header = tx.channel_header
    assert header is not None
    if not header.tx_id and not endorser_tx:
        checks["tx_id"] = _na("tx_id")
    else:
        computed = compute_tx_id(tx.nonce, tx.creator.raw if tx.creator else b"")
        checks["tx_id"] = (
            _passed("tx_id")
            if computed == header.tx_id
            else _failed(
                "tx_id",
                _p(
                    "fabric.tx_id_mismatch",
                    "transaction id mismatch",
                    f"header says {header.tx_id}, SHA-256(nonce ‖ creator) is {computed}",
                ),
            )
        )

    if not isinstance(content, EndorserTransaction):
        for n in ("endorsement_signatures", "proposal_hash", "endorsement_policy"):
            checks[n] = _na(n)
        checks["certificate_chain"] = _chain_check(chain_problems, tx.creator is not None and state is not None)
        if state is None and tx.creator is not None:
            checks["certificate_chain"] = _error(
                "certificate_chain", _p("fabric.no_channel_config", "no channel configuration", "")
            )
        return tuple(checks[n] for n in TRANSACTION_CHECKS)

    # -- endorsements
    # -----------------------------------------------------------------------------------------
    sig_problem: Problem | None = None
    hash_problem: Problem | None = None
    endorsers: dict[str, ValidatedIdentity] = {}
    total = 0
    for a, action in enumerate(content.actions):
        expected = hashlib.sha256(
            tx.channel_header_bytes + action.signature_header_bytes + action.chaincode_proposal_payload_bytes
        ).digest()
        if hash_problem is None and expected != action.proposal_hash:
            hash_problem = _p(
                "fabric.proposal_hash_mismatch",
                "proposal hash mismatch",
                f"action {a}: endorsed {action.proposal_hash.hex()}, proposal hashes to {expected.hex()}",
            )
        if hash_problem is None and (
            action.creator is None or tx.creator is None or action.creator.raw != tx.creator.raw
        ):
            hash_problem = _p(
                "fabric.action_creator_mismatch",
                "action creator differs from the envelope creator",
                f"action {a}",
            )
        for e, endorsement in enumerate(action.endorsements):
            total += 1
            key = cache.public_key(endorsement.endorser.certificate_pem)
            reason = "the endorser certificate has no usable EC key" if key is None else None
            if key is not None:
                reason = ecdsa_verify(
                    key,
                    endorsement.signature,
                    action.proposal_response_payload_bytes + endorsement.endorser.raw,
                )
            if reason:
                sig_problem = sig_problem or _p(
                    "fabric.endorsement_signature_invalid",
                    "endorsement signature invalid",
                    f"action {a}, endorsement {e} by {endorsement.endorser.msp_id}: {reason}",
                )
                continue
            if state is None:
                continue
            outcome = validate_identity(endorsement.endorser, state.config.msps, cache, at=when)
            if outcome.identity is None:
                assert outcome.problem is not None
                chain_problems.append((outcome.status, outcome.problem))
                continue
            if not _signer_role_ok(outcome.identity, "peer", state.config):
                chain_problems.append(
                    (
                        "failed",
                        _p(
                            "fabric.endorser_not_peer",
                            "endorsement not signed by a peer",
                            f"endorsement {e} by {endorsement.endorser.msp_id} has roles "
                            f"{sorted(outcome.identity.roles)}",
                        ),
                    )
                )
                continue
            endorsers[outcome.identity.fingerprint] = outcome.identity
    if total == 0:
        sig_problem = _p("fabric.no_endorsements", "transaction has no endorsements", f"transaction {tx.index}")
    checks["endorsement_signatures"] = (
        _failed("endorsement_signatures", sig_problem) if sig_problem else _passed("endorsement_signatures")
    )
    checks["proposal_hash"] = _failed("proposal_hash", hash_problem) if hash_problem else _passed("proposal_hash")
    if state is None:
        checks["certificate_chain"] = _error(
            "certificate_chain", _p("fabric.no_channel_config", "no channel configuration", "")
        )
        checks["endorsement_policy"] = _error(
            "endorsement_policy", _p("fabric.no_channel_config", "no channel configuration", "")
        )
        return tuple(checks[n] for n in TRANSACTION_CHECKS)
    checks["certificate_chain"] = _chain_check(chain_problems, True)

    # -- endorsement policy
    # -----------------------------------------------------------------------------------
    signer_list = list(endorsers.values())
    policy_check = _passed("endorsement_policy")
    for a, action in enumerate(content.actions):
        needed, problem = _policies_for_action(action, content.chaincode_name, state)
        if problem is not None:
            policy_check = _error("endorsement_policy", problem)
            break
        failed = False
        for label, policy in needed:
            verdict = _evaluate_application_policy(policy, state.config, signer_list, cache)
            if verdict.error:
                policy_check = _error(
                    "endorsement_policy",
                    _p(
                        "fabric.policy_unevaluable",
                        "endorsement policy cannot be evaluated",
                        f"{label}: {verdict.error}",
                    ),
                )
                failed = True
                break
            if not verdict.satisfied:
                policy_check = _failed(
                    "endorsement_policy",
                    _p(
                        "fabric.endorsement_policy_unsatisfied",
                        "endorsement policy not satisfied",
                        f"action {a}, {label}: endorsers {sorted({s.msp_id for s in signer_list})}",
                    ),
                )
                failed = True
                break
        if failed:
            break
    checks["endorsement_policy"] = policy_check
    return tuple(checks[n] for n in TRANSACTION_CHECKS)


def _chain_check(problems: list[tuple[str, Problem]], applicable: bool) -> Check:
    if not applicable:
        return _na("certificate_chain")
    for status, problem in problems:
        if status == "failed":
            return _failed("certificate_chain", problem)
    if problems:
        return _error("certificate_chain", problems[0][1])
    return _passed("certificate_chain")


def _summary(tx: Transaction) -> dict[str, Any]:
    content = tx.content
    out: dict[str, Any] = {
        "chaincode": "",
        "function": "",
        "endorser_msps": (),
        "writes": (),
        "private_writes": (),
        "event_name": "",
    }
    if isinstance(content, EndorserTransaction):
        writes: dict[str, list[str]] = {}
        private: dict[str, list[str]] = {}
        endorsers: list[str] = []
        event = ""
        for action in content.actions:
            for ns in action.rwsets:
                if ns.writes:
                    writes.setdefault(ns.namespace, []).extend(w.key for w in ns.writes)
                if ns.collections:
                    private.setdefault(ns.namespace, []).extend(c.collection for c in ns.collections)
            for e in action.endorsements:
                if e.endorser.msp_id not in endorsers:
                    endorsers.append(e.endorser.msp_id)
            if action.event is not None and not event:
                event = action.event.event_name
        out.update(
            chaincode=content.chaincode_name,
            function=content.function,
            endorser_msps=tuple(sorted(endorsers)),
            writes=tuple((ns, tuple(keys)) for ns, keys in writes.items()),
            private_writes=tuple((ns, tuple(c)) for ns, c in private.items()),
            event_name=event,
        )
    return out


def check_block(
    block: Block,
    state: ChannelState | None,
    cache: VerificationCache,
    *,
    attestations: Mapping[str, Sequence[SignedPeerResponse]] | None = None,
    attestation_min_orgs: int = 1,
    at: datetime | None = None,
) -> BlockResult:
    """Check one block and its transactions against ``state`` (the config in force before the block). Pure.

    ``at`` overrides the instant certificate validity is judged at (default: each transaction's recorded
    time; for
    the orderer signature, the latest transaction time in the block). ``attestations`` maps tx ids to signed
    peer
    responses that attest the recorded validation code.
    """
    block_checks = (
        _check_data_hash(block),
        _check_previous_hash(block, state),
        _check_orderer_signature(block, state, cache, at or _block_time(block)),
    )
    codes = block.metadata.validation_codes
    results = []
    for tx in block.transactions:
        checks = _check_transaction(block.number, tx, state, cache, at)
        code = validation_code_name(codes[tx.index]) if codes is not None and tx.index < len(codes) else None
        attestation = Attestation(False, None, (), ())
        if attestations and state is not None and tx.tx_id in attestations:
            attestation = check_validation_attestation(
                tx, attestations[tx.tx_id], state.config, cache, min_orgs=attestation_min_orgs, at=at
            )
        attested = attestation.attested and (code is None or attestation.validation_code == code)
        if attestation.attested and code is None:
            code = attestation.validation_code
        header = tx.channel_header
        results.append(
            TransactionResult(
                index=tx.index,
                tx_id=tx.tx_id,
                type=tx.type_name,
                channel_id=header.channel_id if header else "",
                timestamp=header.timestamp_text if header else "",
                creator_msp=tx.creator.msp_id if tx.creator else "",
                validation_code=code,
                validation_code_attested=attested,
                attested_by=attestation.organizations if attested else (),
                checks=checks,
                **_summary(tx),
            )
        )
    return BlockResult(
        number=block.number,
        channel_id=block.channel_id,
        ledger_id=state.ledger_id if state else None,
        block_hash=block.header.hash().hex(),
        data_hash=block.header.data_hash.hex(),
        previous_hash=block.header.previous_hash.hex(),
        config=block.config,
        checks=block_checks,
        transactions=tuple(results),
    )


def check_blocks(
    blocks: Sequence[Block],
    *,
    config_block: Block | None = None,
    cache: VerificationCache | None = None,
    attestations: Mapping[str, Sequence[SignedPeerResponse]] | None = None,
    attestation_min_orgs: int = 1,
    at: datetime | None = None,
) -> list[BlockResult]:
    """Check blocks in order, replaying configuration and chaincode definitions as they go.

    The trust anchor is ``config_block`` when given (raises :class:`FabricAnchorError` if it is not a config
    block or its data does not match its header's data hash), else the first sound config block. Without an
    anchor, checks that need the channel configuration report ``error``.
    """
    cache = cache or VerificationCache()
    state = ChannelState.from_config_block(config_block) if config_block is not None else None
    results = []
    for block in blocks:
        if state is None and block.config is not None:
            # A config block whose data does not match its header never becomes the anchor: its own checks fail
            # below and the blocks after it stay undecided.
            with contextlib.suppress(FabricAnchorError):
                state = ChannelState.from_config_block(block)
        result = check_block(
            block, state, cache, attestations=attestations, attestation_min_orgs=attestation_min_orgs, at=at
        )
        results.append(result)
        if state is not None:
            state = state.advance(block, result)
    return results
