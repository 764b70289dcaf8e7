"""The offline checker of Fabric ``LedgerEvidence``: from the evidence alone plus the policy's anchor.

The anchor (what the trust policy pins for a ``fabric:`` ledger id)::

    {"genesisBlockHash": "<64 hex>",               # required: the channel's genesis block header hash
     "minAttestingOrganizations": 2,                # peers of this many organisations must sign the code
     "configBlocks": ["<base64url block>", ...],    # optional: config blocks, when evidence does not carry them
     "unsafeAcceptRecordedValidationCode": false}   # unsafe: trust the unsigned TRANSACTIONS_FILTER byte

Checks, in order (each ``passed | failed | error | not_applicable`` with ``fabric.*`` problem codes):

1. ``fabric.evidence`` — the evidence and its ``proofMaterial`` are well formed and describe a Fabric record.
2. ``fabric.anchor`` — the first config block is block 0 and hashes to the pinned genesis hash; the evidence's ledger
   id is ``fabric:`` + its first 16 hex characters. No pinned hash → ``error`` (evidence that reaches no anchor is
   never verified).
3. ``fabric.config_chain`` — each later config block is orderer-signed under the config before it (Fabric's
   replay rule); the last is the config block the evidence names (``configBlockHash``): it holds the MSP roots.
4. ``fabric.chaincode_definition`` — the ``_lifecycle`` commit that set the chaincode's endorsement policy passes
   every transaction check under the channel's LifecycleEndorsement policy.
5. ``fabric.block`` — when the block travels in the evidence: its header hashes to ``blockHeaderHash``, its data
   hash covers the envelope at ``txIndex``, the orderers signed it, and the config block they signed as in force
   (``last_config``) is the one the evidence's config chain ends at.
6. The transaction checks of :func:`check_transaction` (``fabric.creator_signature``, ``fabric.tx_id``,
   ``fabric.certificate_chain``, ``fabric.endorsement_signatures``, ``fabric.proposal_hash``,
   ``fabric.endorsement_policy``): the endorsements over the exact ``proposal_response_payload`` bytes are what make
   the record authentic.
7. ``fabric.record`` — the raw record is exactly the endorsed write value (or event payload) the source names, the
   record digest is that value's SHA-256, and
   the locator, block number, channel, ledger time, native signer and endorser list match the envelope.
8. ``fabric.validation_code`` — the code is covered by no signature: it counts only when peers of
   ``minAttestingOrganizations`` organisations signed the same code for this envelope (``_attest.py``). Evidence
   from orderer-side blocks says ``NOT_RECORDED``; only the attestations can make it VALID (the unsafe switch
   needs a recorded VALID).

Pure: no I/O, no clock. ``at`` is the instant the attesting peers' certificates are judged at; endorsements and the
creator are judged at the transaction's own recorded time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vcgate.adapters.sdk import Check, CheckStatus, EvidenceResult, LedgerEvidence, format_datetime
from vcgate.adapters.sdk._records import raw_from_evidence
from vcgate.canonical_schema import InputError, Problem, b64url_decode

from ._attest import SignedPeerResponse, check_validation_attestation
from ._crypto import block_data_hash
from ._decode import decode_block, decode_transaction, validation_code_name
from ._errors import FabricDecodeError
from ._evidence import NOT_RECORDED, FabricProof
from ._lifecycle import LIFECYCLE_NAMESPACE, definitions_from_writes, merge_definitions
from ._model import Block, EndorserTransaction
from ._msp import VerificationCache, certificate_der
from ._verify import ChannelState, FabricAnchorError, check_block, check_transaction, signed_last_config

_log = logging.getLogger("vcgate.adapters.fabric")

#: Every check the evidence checker reports, in order.
EVIDENCE_CHECKS = (
    "fabric.evidence",
    "fabric.anchor",
    "fabric.config_chain",
    "fabric.chaincode_definition",
    "fabric.block",
    "fabric.creator_signature",
    "fabric.tx_id",
    "fabric.certificate_chain",
    "fabric.endorsement_signatures",
    "fabric.proposal_hash",
    "fabric.endorsement_policy",
    "fabric.record",
    "fabric.validation_code",
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _problem(code: str, title: str, detail: str = "", pointer: str = "") -> Problem:
    return Problem(code, title, detail, pointer)


def _from_fabric(name: str, check: Check) -> Check:
    # The block verifier's checks are the same type; the evidence checker files them under its ``fabric.*`` names
    # (the block verifier's ``stage`` is the gateway's business, not the adapter's).
    return dataclasses.replace(check, name=name, stage="")


class _Run:
    """Collects checks; whatever was not reached is reported ``not_applicable``."""

    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}

    def passed(self, name: str, detail: str = "") -> None:
        self.checks[name] = Check(name, CheckStatus.PASSED, (), detail)

    def failed(self, name: str, problem: Problem) -> None:
        self.checks[name] = Check(name, CheckStatus.FAILED, (problem,))

    def errored(self, name: str, problem: Problem) -> None:
        self.checks[name] = Check(name, CheckStatus.ERROR, (problem,))

    def na(self, name: str, detail: str = "") -> None:
        self.checks[name] = Check(name, CheckStatus.NOT_APPLICABLE, (), detail)

    def result(self) -> EvidenceResult:
        out = []
        for name in EVIDENCE_CHECKS:
            out.append(
                self.checks.get(name)
                or Check(name, CheckStatus.NOT_APPLICABLE, (), "not reached: an earlier check did not pass")
            )
        return EvidenceResult(tuple(out))


def _decode_blocks(encoded: Any, where: str) -> list[Block]:
    blocks = []
    for i, raw in enumerate(encoded):
        if isinstance(raw, str):
            raw = b64url_decode(raw)
        blocks.append(decode_block(raw, source=f"{where}[{i}]"))
    return blocks


class FabricEvidenceChecker:
    """Checks Fabric ``LedgerEvidence`` offline against an anchor (see the module documentation). Pure.

    One instance may be reused: certificate-chain and policy outcomes are cached (keyed by content, so a cache never
    changes a verdict).
    """

    def __init__(self, cache: VerificationCache | None = None) -> None:
        self._cache = cache or VerificationCache()

    def check(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        *,
        at: datetime,
    ) -> EvidenceResult:
        """Check ``evidence`` (an item of ``credential["evidence"]``) against ``anchor``. Never raises on bad input."""
        run = _Run()
        try:
            self._check(run, evidence, anchor, at)
        except (InputError, FabricDecodeError, FabricAnchorError) as exc:
            # Anything malformed that slipped past the per-step handling still becomes a result, not an exception.
            name = next((n for n in EVIDENCE_CHECKS if n not in run.checks), "fabric.evidence")
            run.failed(name, _problem("fabric.evidence_malformed", "evidence cannot be decoded", str(exc)))
        return run.result()

    # -- the steps -----------------------------------------------------------------------------------------------

    def _check(self, run: _Run, evidence: Mapping[str, Any], anchor: Mapping[str, Any], at: datetime) -> None:
        cache = self._cache
        # 1. shape
        try:
            ev = LedgerEvidence.from_json(evidence)
            if ev.ledger_kind != "fabric":
                raise InputError(f"ledger kind is {ev.ledger_kind!r}, not 'fabric'")
            proof = FabricProof.from_json(ev.proof_material)
            tx = decode_transaction(proof.tx_index, proof.envelope)
        except InputError as exc:
            run.failed("fabric.evidence", _problem("fabric.evidence_malformed", "malformed Fabric evidence", str(exc)))
            return
        if not isinstance(tx.content, EndorserTransaction):
            detail = tx.problem.detail if tx.problem else f"transaction type {tx.type_name}"
            run.failed("fabric.evidence", _problem("fabric.evidence_malformed", "not an endorser transaction", detail))
            return
        run.passed("fabric.evidence")

        # 2. anchor
        pinned = anchor.get("genesisBlockHash") if isinstance(anchor, Mapping) else None
        if not isinstance(pinned, str) or not _HEX64.match(pinned.lower()):
            run.errored(
                "fabric.anchor",
                _problem(
                    "fabric.no_anchor",
                    "no trust anchor for this channel",
                    "the policy pins no genesisBlockHash for this ledger id; evidence that reaches no anchor is "
                    "never verified",
                ),
            )
            return
        pinned = pinned.lower()
        encoded = list(proof.config_blocks) or list(anchor.get("configBlocks") or [])
        if not encoded:
            run.errored(
                "fabric.anchor",
                _problem(
                    "fabric.config_blocks_missing",
                    "config blocks unavailable",
                    "neither the evidence nor the anchor carries the channel's config blocks",
                ),
            )
            return
        try:
            configs = _decode_blocks(encoded, "configBlocks")
        except (InputError, FabricDecodeError) as exc:
            run.failed("fabric.anchor", _problem("fabric.evidence_malformed", "config block does not decode", str(exc)))
            return
        genesis = configs[0]
        genesis_hash = genesis.header.hash().hex()
        if genesis.number != 0 or genesis.config is None or genesis_hash != pinned:
            run.failed(
                "fabric.anchor",
                _problem(
                    "fabric.anchor_mismatch",
                    "the genesis block is not the pinned one",
                    f"first config block is #{genesis.number} with hash {genesis_hash}; the policy pins {pinned}",
                ),
            )
            return
        # The pinned hash covers the header only; the channel configuration (MSP roots, policies) is in the data,
        # which the header binds through data_hash. Without this a whole fake channel grafted under the real
        # genesis header would pass.
        computed = block_data_hash(genesis.data)
        if computed != genesis.header.data_hash or genesis.header.previous_hash:
            run.failed(
                "fabric.anchor",
                _problem(
                    "fabric.genesis_data_mismatch",
                    "the genesis block's data is not what its header commits to",
                    f"the pinned header's data hash is {genesis.header.data_hash.hex()}, the carried data hashes to "
                    f"{computed.hex()}"
                    + (" and the header links to a previous block" if genesis.header.previous_hash else ""),
                    "/proofMaterial/configBlocks/0",
                ),
            )
            return
        if ev.ledger_id != "fabric:" + pinned[:16]:
            run.failed(
                "fabric.anchor",
                _problem(
                    "fabric.ledger_id_mismatch",
                    "evidence names another ledger",
                    f"evidence ledger id {ev.ledger_id}, anchor fabric:{pinned[:16]}",
                    "/ledgerId",
                ),
            )
            return
        run.passed("fabric.anchor")

        # 3. config chain
        state = ChannelState.from_config_block(genesis)
        for block in configs[1:]:
            if block.config is None or block.number <= state.config_block_number:
                run.failed(
                    "fabric.config_chain",
                    _problem(
                        "fabric.config_chain_broken",
                        "config blocks out of order",
                        f"block #{block.number} is not a later config block",
                    ),
                )
                return
            # Data hash (the config is in the data), previous hash (when the blocks are consecutive: config blocks
            # usually are not, then the orderer signature over the header is the link) and the orderer signature.
            result = check_block(block, state, cache)
            if (
                result.check("orderer_signature").status != "passed"
                or result.check("data_hash").status != "passed"
                or result.check("previous_hash").status == "failed"
            ):
                bad = next(c for c in result.checks if c.status not in ("passed", "not_applicable"))
                run.failed(
                    "fabric.config_chain",
                    _problem(
                        "fabric.config_chain_broken",
                        "config block not signed under the previous config",
                        f"block #{block.number}: {bad.name} {bad.status}"
                        + (f" ({bad.problem.code}: {bad.problem.detail})" if bad.problem else ""),
                    ),
                )
                return
            state = state.advance(block, result)
        last = configs[-1]
        if last.header.hash().hex() != proof.config_block_hash or last.number != proof.config_block_number:
            run.failed(
                "fabric.config_chain",
                _problem(
                    "fabric.config_block_mismatch",
                    "config block in force differs",
                    f"evidence names config block #{proof.config_block_number} {proof.config_block_hash}; the chain "
                    f"ends at #{last.number} {last.header.hash().hex()}",
                    "/proofMaterial/configBlockHash",
                ),
            )
            return
        if last.number >= proof.block_number:
            run.failed(
                "fabric.config_chain",
                _problem(
                    "fabric.config_block_mismatch",
                    "config block after the transaction",
                    f"config block #{last.number} is not before block #{proof.block_number}",
                ),
            )
            return
        run.passed("fabric.config_chain", f"{len(configs)} config block(s) from the genesis block")

        # 4. chaincode definition
        definition = proof.chaincode_definition
        if definition is None:
            run.na("fabric.chaincode_definition", "no _lifecycle definition in the evidence")
        else:
            # The definition's own block and index are not in the evidence (nothing could bind them); the
            # block number only tells a genesis config transaction apart, which an endorser transaction is not.
            lifecycle_tx = decode_transaction(0, definition.envelope)
            checks = check_transaction(lifecycle_tx, state, cache, block_number=proof.block_number)
            bad_checks = [c for c in checks if c.status in ("failed", "error")]
            content = lifecycle_tx.content
            if bad_checks or not isinstance(content, EndorserTransaction):
                first = bad_checks[0] if bad_checks else None
                run.failed(
                    "fabric.chaincode_definition",
                    _problem(
                        "fabric.chaincode_definition_invalid",
                        "the chaincode definition does not verify",
                        f"{first.name}: {first.problem.detail if first.problem else first.status}"
                        if first
                        else "not an endorser transaction",
                        "/proofMaterial/chaincodeDefinition",
                    ),
                )
                return
            writes = [
                w for a in content.actions for ns in a.rwsets if ns.namespace == LIFECYCLE_NAMESPACE for w in ns.writes
            ]
            try:
                # Where it was committed is unknown offline; ``committed_at`` is not consulted by the checks.
                new = definitions_from_writes(writes, (-1, -1))
            except FabricDecodeError as exc:
                run.failed("fabric.chaincode_definition", exc.problem)
                return
            if proof.namespace not in new:
                run.failed(
                    "fabric.chaincode_definition",
                    _problem(
                        "fabric.chaincode_definition_invalid",
                        "the definition is for another chaincode",
                        f"defines {sorted(new)}, the record is in {proof.namespace}",
                    ),
                )
                return
            state = dataclasses.replace(state, chaincodes=merge_definitions(state.chaincodes, new))
            run.passed("fabric.chaincode_definition", f"{proof.namespace} sequence {new[proof.namespace].sequence}")

        # 5. the block, when carried
        if proof.block is None:
            run.na("fabric.block", "the evidence does not carry the block")
        else:
            self._check_block(run, proof, state)
            if run.checks["fabric.block"].status != CheckStatus.PASSED:
                return

        # 6. the transaction
        for check in check_transaction(tx, state, cache, block_number=proof.block_number):
            run.checks["fabric." + check.name] = _from_fabric("fabric." + check.name, check)

        # 7. the record and the ledger facts
        self._check_record(run, ev, proof, tx)

        # 8. the validation code
        self._check_validation(run, proof, tx, state, anchor, at)

    def _check_block(self, run: _Run, proof: FabricProof, state: ChannelState) -> None:
        assert proof.block is not None
        try:
            block = decode_block(proof.block, source="proofMaterial/block")
        except FabricDecodeError as exc:
            run.failed("fabric.block", exc.problem)
            return
        header_hash = block.header.hash().hex()
        problem = None
        if header_hash != proof.block_header_hash or block.number != proof.block_number:
            problem = f"block #{block.number} hashes to {header_hash}, evidence names #{proof.block_number} " + (
                proof.block_header_hash
            )
        elif block_data_hash(block.data) != block.header.data_hash or block.header.data_hash.hex() != proof.data_hash:
            problem = "the block's data hash does not cover its data"
        elif proof.tx_index >= len(block.data) or block.data[proof.tx_index] != proof.envelope:
            problem = f"the envelope is not transaction {proof.tx_index} of block #{block.number}"
        if problem:
            run.failed(
                "fabric.block", _problem("fabric.block_inclusion", "transaction not in the named block", problem)
            )
            return
        # The orderers sign which config block was in force (OrdererBlockMetadata.last_config, Fabric >= 1.4.2):
        # evidence that stops its config chain early (before a CA revocation, say) is caught here.
        last_config = signed_last_config(block)
        if last_config is not None and last_config != proof.config_block_number:
            run.failed(
                "fabric.block",
                _problem(
                    "fabric.config_block_mismatch",
                    "the config in force differs from the block's",
                    f"block #{block.number} was ordered under config block #{last_config}; the evidence's config "
                    f"chain ends at #{proof.config_block_number}",
                    "/proofMaterial/configBlockNumber",
                ),
            )
            return
        # Only the block-level checks: the transaction itself is checked below from the envelope.
        result = check_block(dataclasses.replace(block, transactions=()), state, self._cache)
        signature = result.check("orderer_signature")
        if signature.status != "passed":
            run.checks["fabric.block"] = Check(
                "fabric.block",
                CheckStatus(signature.status) if signature.status != "not_applicable" else CheckStatus.ERROR,
                (signature.problem,) if signature.problem else (),
            )
            return
        run.passed("fabric.block", f"block #{block.number}: data hash, orderer signature, config in force")

    def _check_record(self, run: _Run, ev: LedgerEvidence, proof: FabricProof, tx: Any) -> None:
        content: EndorserTransaction = tx.content
        header = tx.channel_header
        mismatches: list[tuple[str, str]] = []
        if ev.locator != proof.locator:
            mismatches.append(("/locator", f"locator {ev.locator} does not match the proof material ({proof.locator})"))
        if ev.ledger_height != proof.block_number:
            mismatches.append(("/ledgerHeight", f"ledger height {ev.ledger_height} is not block {proof.block_number}"))
        if tx.tx_id != proof.tx_id:
            mismatches.append(("/proofMaterial/txId", f"the envelope's tx id is {tx.tx_id}"))
        if header is None or header.channel_id != proof.channel or (ev.channel or proof.channel) != proof.channel:
            mismatches.append(("/channel", "the channel differs from the envelope's"))
        if header is not None and header.timestamp is not None and ev.ledger_time != format_datetime(header.timestamp):
            mismatches.append(("/ledgerTime", f"ledger time {ev.ledger_time} is not the transaction's timestamp"))
        creator = tx.creator
        signer = dict(ev.native_signer)
        creator_fp = ""
        if creator is not None:
            der = certificate_der(creator.certificate_pem, self._cache)
            creator_fp = hashlib.sha256(der).hexdigest() if der else ""
        if (
            creator is None
            or signer.get("kind") != "fabric-msp"
            or signer.get("mspId") != creator.msp_id
            or signer.get("certificateFingerprint") != creator_fp
        ):
            mismatches.append(("/nativeSigner", "the native signer is not the transaction's creator"))
        endorsers = []
        for action in content.actions:
            for e in action.endorsements:
                der = certificate_der(e.endorser.certificate_pem, self._cache)
                fp = hashlib.sha256(der).hexdigest() if der else ""
                endorsers.append((e.endorser.msp_id, fp))
        if [(e.msp_id, e.certificate_fingerprint) for e in proof.endorsers] != endorsers:
            mismatches.append(("/proofMaterial/endorsers", "the endorser list differs from the envelope's"))
        # The raw record must be exactly what the endorsers signed.
        try:
            raw = raw_from_evidence(ev.raw_record, ev.record_media_type) if ev.raw_record is not None else None
        except InputError as exc:
            mismatches.append(("/rawRecord", str(exc)))
            raw = None
        endorsed = _endorsed_bytes(content, proof)
        if endorsed is None:
            mismatches.append(("/proofMaterial/source", f"the envelope has no {proof.source_kind} {proof.name!r}"))
        else:
            if raw is not None and (not isinstance(raw, bytes) or raw != endorsed):
                mismatches.append(("/rawRecord", "the raw record is not the endorsed value"))
            # recordDigest is what the rest of the gateway keys and compares records by: it must be the digest
            # of the endorsed bytes whether or not rawRecord travels (as the plain-ledger checker ties them).
            if ev.record_digest != "sha256:" + hashlib.sha256(endorsed).hexdigest():
                mismatches.append(("/recordDigest", "the record digest is not the endorsed value's"))
        if mismatches:
            pointer = mismatches[0][0]
            run.failed(
                "fabric.record",
                _problem(
                    "fabric.record_mismatch",
                    "evidence does not match the endorsed transaction",
                    "; ".join(d for _, d in mismatches),
                    pointer,
                ),
            )
        else:
            run.passed("fabric.record")

    def _check_validation(
        self,
        run: _Run,
        proof: FabricProof,
        tx: Any,
        state: ChannelState,
        anchor: Mapping[str, Any],
        at: datetime,
    ) -> None:
        need = anchor.get("minAttestingOrganizations", 2)
        if isinstance(need, bool) or not isinstance(need, int) or need < 1:
            run.errored(
                "fabric.validation_code",
                _problem("fabric.anchor_invalid", "bad anchor", "minAttestingOrganizations must be an integer ≥ 1"),
            )
            return
        responses = []
        problems = []
        for i, data in enumerate(proof.attestations):
            try:
                responses.append(SignedPeerResponse.from_proposal_response(data))
            except (FabricDecodeError, InputError) as exc:
                problems.append(f"attestation {i}: {exc}")
        attestation = check_validation_attestation(tx, responses, state.config, self._cache, min_orgs=need, at=at)
        problems.extend(f"{p.code}: {p.detail}" for p in attestation.problems)
        if attestation.validation_code is not None and attestation.validation_code != "VALID":
            run.failed(
                "fabric.validation_code",
                _problem(
                    "fabric.transaction_invalid",
                    "peers attest the transaction is invalid",
                    f"{', '.join(attestation.organizations) or 'peers'} signed {attestation.validation_code}",
                ),
            )
            return
        if attestation.attested:
            # NOT_RECORDED: the block carried no code (orderer-side); the attestation is what shows it VALID.
            if proof.validation_code not in ("VALID", NOT_RECORDED):
                run.failed(
                    "fabric.validation_code",
                    _problem(
                        "fabric.record_mismatch", "validation code differs", f"evidence says {proof.validation_code}"
                    ),
                )
                return
            run.passed("fabric.validation_code", f"VALID, signed by peers of {', '.join(attestation.organizations)}")
            return
        if anchor.get("unsafeAcceptRecordedValidationCode") is True:
            # STYLE.md 5: an unsafe shortcut, logged every time it runs.
            _log.warning(
                "unsafeAcceptRecordedValidationCode: accepting the unsigned recorded validation code %s of %s",
                proof.validation_code,
                proof.tx_id,
            )
            recorded = _recorded_code(proof)
            # A carried block must itself record VALID: an orderer-side block (no TRANSACTIONS_FILTER) records
            # nothing, and an MVCC loser in it looks exactly like the winner.
            if proof.validation_code == "VALID" and recorded == ("VALID" if proof.block is not None else None):
                run.passed("fabric.validation_code", "UNSAFE: recorded code accepted without attestation")
            else:
                run.failed(
                    "fabric.validation_code",
                    _problem(
                        "fabric.validation_code_unrecorded" if recorded is None else "fabric.transaction_invalid",
                        "no VALID code recorded",
                        f"the evidence says {proof.validation_code}; the carried block records "
                        f"{recorded or 'no code (an orderer-side block)'}",
                    ),
                )
            return
        orgs = ", ".join(attestation.organizations) or "none"
        run.errored(
            "fabric.validation_code",
            _problem(
                "fabric.validation_code_unattested",
                "validation code not attested",
                f"signed peer responses from {need} organisation(s) are needed; valid ones came from {orgs}"
                + (f" ({'; '.join(problems)})" if problems else ""),
            ),
        )


def _endorsed_bytes(content: EndorserTransaction, proof: FabricProof) -> bytes | None:
    for action in content.actions:
        if proof.source_kind == "event":
            event = action.event
            if event is not None and event.event_name == proof.name and event.chaincode_id == proof.namespace:
                return event.payload
            continue
        for ns in action.rwsets:
            if ns.namespace != proof.namespace:
                continue
            for w in ns.writes:
                if w.key == proof.name and not w.is_delete:
                    return w.value
    return None


def _recorded_code(proof: FabricProof) -> str | None:
    if proof.block is None:
        return None
    try:
        block = decode_block(proof.block)
    except FabricDecodeError:
        return None
    codes = block.metadata.validation_codes
    if codes is None or proof.tx_index >= len(codes):
        return None
    return validation_code_name(codes[proof.tx_index])
