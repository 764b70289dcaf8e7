"""The gRPC client against the in-process peers: Deliver, Gateway (QSCC, ChaincodeEvents), signed attestations,
mutual TLS and the TLS binding, MSP-folder identities, retries."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from vcgate.adapters.fabric import (
    FabricConfigError,
    FabricPeerError,
    PeerClient,
    RetryPolicy,
    SignedPeerResponse,
    SigningIdentity,
    TLSConfig,
    VerificationCache,
    check_validation_attestation,
    decode_block,
    decode_transaction,
    with_retry,
)
from vcgate.adapters.fabric.testing import ProductLedger, TestOrg, TestPeer, header_hash_of, issue_tls

from .conftest import free_port

pytestmark = pytest.mark.server

_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _client(peer: TestPeer, files: Path, *, mutual: bool = True, address: str | None = None) -> PeerClient:
    identity = SigningIdentity.from_msp_dir(files / "msp", "Org1MSP")
    tls = TLSConfig.from_files(
        files / f"{peer.msp_id}-tlsca.pem",
        client_certificate=files / "client-tls.pem" if mutual else None,
        client_key=files / "client-tls.key" if mutual else None,
    )
    return PeerClient(address or peer.address, peer.network.channel, identity, tls, timeout=5)


def test_deliver_streams_blocks_with_validation_codes_from_any_number(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    with _client(peers[0], network_files) as client:
        everything = list(client.deliver(0))
        assert everything == ledger.blocks
        assert decode_block(everything[3]).metadata.validation_codes == (10, 9)
        tail = list(client.deliver(4))
        assert [decode_block(b).number for b in tail] == [4, 5]
        assert list(client.deliver(len(ledger.blocks))) == []  # nothing past the newest block
        assert list(client.deliver(1, 2)) == ledger.blocks[1:3]
    assert ("Deliver", 4) in peers[0].requests


def test_qscc_through_the_gateway(ledger: ProductLedger, peers: list[TestPeer], network_files: Path) -> None:
    with _client(peers[1], network_files) as client:
        info = client.chain_info()
        assert info.height == len(ledger.blocks)
        assert info.current_block_hash == header_hash_of(ledger.blocks[-1])
        assert client.block_by_number(2) == ledger.blocks[2]
        invalid_tx = next(iter(ledger.invalid))
        processed = client.transaction_by_id(invalid_tx)
        assert processed.validationCode == 10
        assert decode_transaction(0, processed.transactionEnvelope.SerializeToString()).tx_id == invalid_tx
        with pytest.raises(FabricPeerError, match="NOT_FOUND"):
            client.block_by_number(99)


def test_chaincode_events_resume_after_a_transaction(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    with _client(peers[0], network_files) as client:
        events = list(client.chaincode_events("products"))
        # Only VALID transactions' events: blocks 2, 4 and 5 (block 3 holds the invalid ones).
        assert {e.block_number for e in events} == {2, 4, 5}
        assert all(e.event_name == "ProductRegistered" for e in events)
        assert len(events) == 5
        resumed = list(client.chaincode_events("products", start_block=2, after_transaction_id=events[0].tx_id))
        assert resumed == events[1:]


def test_signed_transaction_by_id_attests_the_validation_code(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    valid_tx = next(iter(ledger.valid))
    invalid_tx = next(iter(ledger.invalid))
    config = decode_block(ledger.blocks[0]).config
    assert config is not None
    responses = {}
    for peer in peers:
        with _client(peer, network_files) as client:
            responses[peer.msp_id] = [
                SignedPeerResponse.from_proposal_response(client.signed_transaction_by_id(t))
                for t in (valid_tx, invalid_tx)
            ]
    block2 = decode_block(ledger.blocks[2])
    tx = next(t for t in block2.transactions if t.tx_id == valid_tx)
    cache = VerificationCache()
    outcome = check_validation_attestation(
        tx, [responses["Org1MSP"][0], responses["Org2MSP"][0]], config, cache, min_orgs=2
    )
    assert outcome.attested
    assert outcome.validation_code == "VALID"
    assert outcome.organizations == ("Org1MSP", "Org2MSP")
    bad = decode_block(ledger.blocks[3]).transactions[0]
    outcome = check_validation_attestation(bad, [responses["Org1MSP"][1]], config, cache)
    assert outcome.validation_code == "ENDORSEMENT_POLICY_FAILURE"
    # A response for another transaction attests nothing about this one.
    outcome = check_validation_attestation(tx, [responses["Org2MSP"][1]], config, cache)
    assert not outcome.attested
    assert [p.code for p in outcome.problems] == ["fabric.attestation_mismatch"]


def test_mutual_tls_is_required(peers: list[TestPeer], network_files: Path) -> None:
    with _client(peers[0], network_files, mutual=False) as client, pytest.raises(FabricPeerError) as info:
        list(client.deliver(0))
    assert info.value.transient  # the handshake fails: UNAVAILABLE


def test_deliver_refuses_an_envelope_bound_to_another_tls_certificate(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    other = issue_tls(ledger.network.orgs["Org1MSP"], "someone-else", server=False)
    identity = SigningIdentity.from_msp_dir(network_files / "msp", "Org1MSP")
    honest = TLSConfig.from_files(
        network_files / "Org1MSP-tlsca.pem",
        client_certificate=network_files / "client-tls.pem",
        client_key=network_files / "client-tls.key",
    )

    class Rebound(TLSConfig):
        @property
        def client_cert_hash(self) -> bytes:  # the hash of a certificate this connection does not use
            return TLSConfig(other.ca_pem, other.certificate_pem, other.key_pem).client_cert_hash

    rebound = Rebound(honest.root_certificates, honest.client_certificate, honest.client_key)
    with (
        PeerClient(peers[0].address, ledger.network.channel, identity, rebound, timeout=5) as client,
        pytest.raises(FabricPeerError, match="FORBIDDEN"),
    ):
        list(client.deliver(0))


def test_a_peer_that_is_down_is_an_error_not_a_crash(peers: list[TestPeer], network_files: Path) -> None:
    with _client(peers[0], network_files, address=f"127.0.0.1:{free_port()}") as client:
        with pytest.raises(FabricPeerError) as info:
            list(client.deliver(0))
        assert info.value.transient
        with pytest.raises(FabricPeerError):
            client.chain_info()


def test_with_retry_backs_off_then_gives_up() -> None:
    waits: list[float] = []
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise FabricPeerError("down", transient=True)
        return "up"

    assert (
        with_retry(flaky, RetryPolicy(attempts=3, initial_delay=0.5, max_delay=0.8), what="t", sleep=waits.append)
        == "up"
    )
    assert waits == [0.5, 0.8]
    waits.clear()
    with pytest.raises(FabricPeerError):
        with_retry(
            lambda: (_ for _ in ()).throw(FabricPeerError("x", transient=True)),
            RetryPolicy(attempts=2, initial_delay=0.1),
            what="t",
            sleep=waits.append,
        )
    assert waits == [0.1]
    with pytest.raises(FabricPeerError):  # a refusal is not retried
        with_retry(lambda: (_ for _ in ()).throw(FabricPeerError("no")), RetryPolicy(), what="t", sleep=waits.append)
    assert waits == [0.1]


def test_msp_folder_identity_signs_low_s(network_files: Path, tmp_path: Path) -> None:
    identity = SigningIdentity.from_msp_dir(network_files / "msp", "Org1MSP")
    for i in range(20):
        _, s = decode_dss_signature(identity.sign(b"message %d" % i))
        assert s <= _N // 2
    (tmp_path / "signcerts").mkdir()
    with pytest.raises(FabricConfigError, match="exactly one signcerts"):
        SigningIdentity.from_msp_dir(tmp_path, "Org1MSP")
    other_key = (network_files / "client-tls.key").read_bytes()
    with pytest.raises(FabricConfigError, match="does not belong"):
        SigningIdentity.from_pem("Org1MSP", identity.certificate_pem, other_key)


def test_deliver_refuses_an_identity_outside_the_channel(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    stranger = TestOrg.create("Org1MSP").issue("client", "mallory")  # same MSP id, another CA
    key_pem = stranger.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    identity = SigningIdentity.from_pem("Org1MSP", stranger.certificate_pem, key_pem)
    tls = TLSConfig.from_files(
        network_files / "Org1MSP-tlsca.pem",
        client_certificate=network_files / "client-tls.pem",
        client_key=network_files / "client-tls.key",
    )
    with PeerClient(peers[0].address, ledger.network.channel, identity, tls, timeout=5) as client:
        with pytest.raises(FabricPeerError, match="FORBIDDEN"):
            list(client.deliver(0))
        with pytest.raises(FabricPeerError, match="PERMISSION_DENIED"):
            client.chain_info()
