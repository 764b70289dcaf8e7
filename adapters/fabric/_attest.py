"""Attestation of a transaction's validation code by signed peer responses.

The TRANSACTIONS_FILTER byte in block metadata is written by each peer after ordering and is covered by no
signature, so on its own it is only "as recorded". A peer answering QSCC ``GetTransactionByID`` returns a
``peer.ProcessedTransaction{transactionEnvelope, validationCode}`` inside a ``peer.ProposalResponse`` that it
signs
like an endorsement (over ``proposal_response_payload ‖ endorser``). Responses from peers of enough
organisations
that agree on the code make it *attested*. Fetching them is the live client's job; this module only checks
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf.message import DecodeError

from vcgate.canonical_schema import Problem

from ._crypto import ecdsa_verify
from ._decode import decode_identity, validation_code_name
from ._errors import FabricDecodeError
from ._model import ChannelConfig, Identity, Transaction
from ._msp import VerificationCache, validate_identity


@dataclass(frozen=True, slots=True)
class SignedPeerResponse:
    """A peer's signed answer to QSCC ``GetTransactionByID`` (the parts of a ``peer.ProposalResponse``
    we check)."""

    endorser: Identity
    proposal_response_payload: bytes
    signature: bytes

    @classmethod
    def from_proposal_response(cls, data: bytes) -> SignedPeerResponse:
        """Decode a serialized ``peer.ProposalResponse`` (raises :class:`FabricDecodeError`)."""
        try:
            pr = proposal_response_pb2.ProposalResponse.FromString(data)
        except DecodeError as exc:
            raise FabricDecodeError(
                Problem("fabric.bad_peer_response", "malformed peer response", f"ProposalResponse: {exc}")
            ) from None
        return cls(decode_identity(pr.endorsement.endorser), bytes(pr.payload), bytes(pr.endorsement.signature))


@dataclass(frozen=True, slots=True)
class Attestation:
    """Outcome: ``attested`` when peers of at least ``min_orgs`` organisations signed the same code."""

    attested: bool
    validation_code: str | None
    organizations: tuple[str, ...]
    problems: tuple[Problem, ...]


def _one(
    tx: Transaction,
    response: SignedPeerResponse,
    config: ChannelConfig,
    cache: VerificationCache,
    at: datetime | None,
) -> tuple[str | None, Problem | None]:
    who = response.endorser.msp_id
    key = cache.public_key(response.endorser.certificate_pem)
    if key is None:
        return None, Problem("fabric.bad_peer_response", "peer response unverifiable", f"{who}: no EC key")
    reason = ecdsa_verify(key, response.signature, response.proposal_response_payload + response.endorser.raw)
    if reason:
        return None, Problem("fabric.peer_response_signature", "peer response signature invalid", f"{who}: {reason}")
    outcome = validate_identity(response.endorser, config.msps, cache, at=at)
    if outcome.identity is None:
        return None, outcome.problem
    msp = config.msps[who]
    if msp.node_ous.enabled and "peer" not in outcome.identity.roles:
        return None, Problem("fabric.attester_not_peer", "response not signed by a peer", f"{who}: not a peer")
    try:
        prp = proposal_response_pb2.ProposalResponsePayload.FromString(response.proposal_response_payload)
        action = proposal_pb2.ChaincodeAction.FromString(prp.extension)
        processed = transaction_pb2.ProcessedTransaction.FromString(action.response.payload)
    except DecodeError as exc:
        return None, Problem("fabric.bad_peer_response", "malformed peer response", f"{who}: {exc}")
    if action.response.status != 200:
        return None, Problem(
            "fabric.bad_peer_response", "peer response is an error", f"{who}: {action.response.message}"
        )
    env = processed.transactionEnvelope
    if bytes(env.payload) != tx.payload_bytes or bytes(env.signature) != tx.signature:
        return None, Problem(
            "fabric.attestation_mismatch", "peer attested another transaction", f"{who}: envelope differs"
        )
    return validation_code_name(processed.validationCode), None


def check_validation_attestation(
    tx: Transaction,
    responses: Sequence[SignedPeerResponse],
    config: ChannelConfig,
    cache: VerificationCache,
    *,
    min_orgs: int = 1,
    at: datetime | None = None,
) -> Attestation:
    """Check signed peer responses for ``tx``; attested when ≥ ``min_orgs`` organisations agree on one
    code."""
    by_code: dict[str, set[str]] = {}
    problems: list[Problem] = []
    for response in responses:
        code, problem = _one(tx, response, config, cache, at)
        if problem is not None:
            problems.append(problem)
        elif code is not None:
            by_code.setdefault(code, set()).add(response.endorser.msp_id)
    if len(by_code) > 1:
        problems.append(
            Problem("fabric.attestation_conflict", "peers disagree on the validation code", str(sorted(by_code)))
        )
        return Attestation(False, None, (), tuple(problems))
    if not by_code:
        return Attestation(False, None, (), tuple(problems))
    code, orgs = next(iter(by_code.items()))
    return Attestation(len(orgs) >= min_orgs, code, tuple(sorted(orgs)), tuple(problems))
