"""The verifier against blocks built and signed by a test MSP: each check passes on sound input and fails
with its
stable problem code on the matching defect."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from fabric_protos.common import common_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.adapters.fabric import (
    BlockResult,
    SignedPeerResponse,
    TransactionResult,
    VerificationCache,
    check_blocks,
    decode_block,
)
from vcgate.adapters.fabric._crypto import is_low_s
from vcgate.adapters.fabric.testing import TestNetwork, TestOrg, build_chain, header_hash_of, peer_response

_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _run(network: TestNetwork, envelopes: list[bytes], **kwargs: object) -> tuple[list[BlockResult], TransactionResult]:
    """Genesis, commit of ``records`` (MAJORITY of both orgs), then one block with ``envelopes``."""
    blocks = build_chain(network, transactions=0, per_block=1)
    blocks.append(network.block(len(blocks), header_hash_of(blocks[-1]), envelopes, **kwargs))  # type: ignore[arg-type]
    results = check_blocks([decode_block(b) for b in blocks])
    return results, results[-1].transactions[0]


def _put(network: TestNetwork, **kwargs: object) -> bytes:
    args: dict[str, object] = {
        "client": network.clients["Org1MSP"],
        "endorsers": [network.peers["Org1MSP"], network.peers["Org2MSP"]],
        "chaincode": "records",
        "function": "PutRecord",
        "writes": {"rec-1": b'{"id":"rec-1","weight":42}'},
    }
    args.update(kwargs)
    return network.endorser_envelope(**args)  # type: ignore[arg-type]


def _code(tx: TransactionResult, name: str) -> str | None:
    check = tx.check(name)
    return check.problem.code if check.problem else None


def test_sound_chain_verifies_everything(network: TestNetwork) -> None:
    results, tx = _run(network, [_put(network, event=("RecordStored", b"{}"))])
    assert [r.status for r in results] == ["verified"] * 3
    assert all(c.status == "passed" for c in tx.checks)
    assert tx.event_name == "RecordStored"
    assert tx.writes == (("records", ("rec-1",)),)
    assert results[0].ledger_id == "fabric:" + results[0].block_hash[:16]
    assert results[-1].check("previous_hash").status == "passed"


def test_write_set_changed_after_endorsement_fails_endorsement_signatures(network: TestNetwork) -> None:
    _, tx = _run(network, [_put(network, tamper="writes")])
    assert tx.check("endorsement_signatures").status == "failed"
    assert _code(tx, "endorsement_signatures") == "fabric.endorsement_signature_invalid"
    assert tx.check("creator_signature").status == "passed"  # the client signed the altered payload


@settings(max_examples=12, deadline=None)
@given(st.integers(min_value=0, max_value=25))
def test_any_flipped_write_byte_breaks_every_endorsement(index: int) -> None:
    network = _NETWORK
    envelope = _put(network, tamper="writes", tamper_index=index)
    block = decode_block(network.block(2, b"\x00" * 32, [envelope]))
    (result,) = check_blocks([block], config_block=_GENESIS)
    tx = result.transactions[0]
    assert _code(tx, "endorsement_signatures") == "fabric.endorsement_signature_invalid"


_NETWORK = TestNetwork.create()
_GENESIS = decode_block(_NETWORK.genesis_block())


def test_payload_changed_after_client_signed_fails_creator_signature(network: TestNetwork) -> None:
    _, tx = _run(network, [_put(network, tamper="payload")])
    assert _code(tx, "creator_signature") == "fabric.creator_signature_invalid"


def test_high_s_creator_signature_is_refused(network: TestNetwork) -> None:
    env = common_pb2.Envelope.FromString(_put(network))
    r, s = decode_dss_signature(env.signature)
    high = encode_dss_signature(r, _N - s)
    assert is_low_s(env.signature, "secp256r1")
    assert not is_low_s(high, "secp256r1")
    env.signature = high
    _, tx = _run(network, [env.SerializeToString()])
    check = tx.check("creator_signature")
    assert check.status == "failed"
    assert check.problem is not None
    assert check.problem.code == "fabric.creator_signature_invalid"
    assert "high S" in check.problem.detail


def test_tx_id_not_derived_from_nonce_and_creator(network: TestNetwork) -> None:
    _, tx = _run(network, [_put(network, tx_id="ab" * 32)])
    assert _code(tx, "tx_id") == "fabric.tx_id_mismatch"


def test_one_org_does_not_meet_majority_endorsement(network: TestNetwork) -> None:
    _, tx = _run(network, [_put(network, endorsers=[network.peers["Org1MSP"]])])
    assert tx.check("endorsement_signatures").status == "passed"
    assert _code(tx, "endorsement_policy") == "fabric.endorsement_policy_unsatisfied"


def test_same_endorser_twice_counts_once(network: TestNetwork) -> None:
    peer = network.peers["Org1MSP"]
    _, tx = _run(network, [_put(network, endorsers=[peer, peer])])
    assert _code(tx, "endorsement_policy") == "fabric.endorsement_policy_unsatisfied"


def test_client_cannot_endorse(network: TestNetwork) -> None:
    _, tx = _run(network, [_put(network, endorsers=[network.peers["Org1MSP"], network.clients["Org2MSP"]])])
    assert _code(tx, "certificate_chain") == "fabric.endorser_not_peer"
    assert tx.check("endorsement_policy").status == "failed"


def test_certificate_from_a_foreign_ca_does_not_chain(network: TestNetwork) -> None:
    impostor = TestOrg.create("Org2MSP").issue("peer", "peer0.org2msp")  # same MSP id, another CA
    _, tx = _run(network, [_put(network, endorsers=[network.peers["Org1MSP"], impostor])])
    assert _code(tx, "certificate_chain") == "fabric.certificate_chain"
    assert tx.check("endorsement_policy").status == "failed"


def test_revoked_endorser_certificate() -> None:
    network = TestNetwork.create()
    peer = network.peers["Org2MSP"]
    from cryptography import x509

    network.orgs["Org2MSP"].revoked.append(x509.load_pem_x509_certificate(peer.certificate_pem).serial_number)
    _, tx = _run(network, [_put(network)])
    assert _code(tx, "certificate_chain") == "fabric.certificate_revoked"


def test_block_signed_by_a_peer_is_refused(network: TestNetwork) -> None:
    results, _ = _run(network, [_put(network)], signer=network.peers["Org1MSP"])
    check = results[-1].check("orderer_signature")
    assert check.status == "failed"
    assert check.problem is not None
    assert check.problem.code == "fabric.signer_not_orderer"


def test_unsigned_block_after_genesis(network: TestNetwork) -> None:
    results, _ = _run(network, [_put(network)], sign=False)
    assert results[-1].check("orderer_signature").problem.code == "fabric.orderer_signature_missing"  # type: ignore[union-attr]


def test_broken_hash_chain(network: TestNetwork) -> None:
    blocks = build_chain(network, transactions=0, per_block=1)
    blocks.append(network.block(2, b"\x11" * 32, [_put(network)]))
    results = check_blocks([decode_block(b) for b in blocks])
    assert results[-1].check("previous_hash").problem.code == "fabric.previous_hash_mismatch"  # type: ignore[union-attr]


def test_recorded_validation_code_is_not_attested_without_peer_responses(network: TestNetwork) -> None:
    _, tx = _run(network, [_put(network)], validation_codes=[11])
    assert tx.validation_code == "MVCC_READ_CONFLICT"
    assert not tx.validation_code_attested


def test_signed_peer_responses_attest_the_validation_code(network: TestNetwork) -> None:
    envelope = _put(network)
    blocks = [decode_block(b) for b in build_chain(network, transactions=0, per_block=1)]
    blocks.append(decode_block(network.block(2, blocks[-1].header.hash(), [envelope])))
    tx_id = blocks[-1].transactions[0].tx_id
    responses = [
        SignedPeerResponse.from_proposal_response(peer_response(network.peers[m], envelope, 0))
        for m in ("Org1MSP", "Org2MSP")
    ]
    tx = check_blocks(blocks, attestations={tx_id: responses}, attestation_min_orgs=2)[-1].transactions[0]
    assert tx.validation_code == "VALID"
    assert tx.validation_code_attested
    assert tx.attested_by == ("Org1MSP", "Org2MSP")
    # One organisation is not enough when two are required; a client's signature attests nothing.
    tx = check_blocks(blocks, attestations={tx_id: responses[:1]}, attestation_min_orgs=2)[-1].transactions[0]
    assert not tx.validation_code_attested
    bad = [SignedPeerResponse.from_proposal_response(peer_response(network.clients["Org2MSP"], envelope, 0))]
    tx = check_blocks(blocks, attestations={tx_id: [responses[0], *bad]}, attestation_min_orgs=2)[-1].transactions[0]
    assert not tx.validation_code_attested
    # Peers reporting another code than the block records: not attested.
    other = [
        SignedPeerResponse.from_proposal_response(peer_response(network.peers[m], envelope, 11))
        for m in ("Org1MSP", "Org2MSP")
    ]
    tx = check_blocks(blocks, attestations={tx_id: other}, attestation_min_orgs=2)[-1].transactions[0]
    assert tx.validation_code == "VALID"
    assert not tx.validation_code_attested


def test_certificate_chain_results_are_cached_per_certificate(network: TestNetwork) -> None:
    cache = VerificationCache()
    blocks = [decode_block(b) for b in build_chain(network, transactions=6, per_block=3)]
    assert {r.status for r in check_blocks(blocks, cache=cache)} == {"verified"}
    # one orderer, one client, two peers: four chains validated, whatever the number of transactions
    assert len(cache.chains) == 4
