"""The offline evidence checker: every way Fabric evidence can be wrong, and the real fixture network's records.

Credentials come from the adapter (over the in-process peers, or offline from the real own-network blocks); each
case changes one thing and names the check and problem code that must catch it.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.fabric import (
    EVIDENCE_CHECKS,
    FabricAdapter,
    FabricEvidenceChecker,
    PeerClient,
    SigningIdentity,
    TLSConfig,
    decode_block,
    decode_transaction,
)
from vcgate.adapters.fabric.testing import ProductLedger, TestPeer, graft_header, header_hash_of, product_value
from vcgate.adapters.sdk import EvidenceResult, format_datetime, load_adapter
from vcgate.canonical_schema import b64url, b64url_decode

from .conftest import AT, FIXTURES, HERE

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def credential(ledger: ProductLedger, peers: list[TestPeer], network_files: Path) -> dict[str, Any]:
    """The unsigned credential of the first product (block 2, tx 0), with two attestations and the block."""
    from .conftest import make_config

    adapter = load_adapter("fabric").create(make_config(ledger, peers, network_files))
    first = next(iter(adapter.records())).records[0]
    out = adapter.translate(first).to_json()
    adapter.close()  # type: ignore[attr-defined]
    return out


@pytest.fixture(scope="module")
def anchor(ledger: ProductLedger) -> dict[str, Any]:
    return {"genesisBlockHash": ledger.genesis_hash, "minAttestingOrganizations": 2}


def _check(credential: dict[str, Any], anchor: dict[str, Any]) -> EvidenceResult:
    return FabricEvidenceChecker().check(credential, credential["evidence"][0], anchor, at=AT)


def _statuses(result: EvidenceResult) -> dict[str, str]:
    return {c.name: c.status.value for c in result.checks}


def _edit(credential: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    c = copy.deepcopy(credential)
    ev = c["evidence"][0]
    return c, ev, ev["proofMaterial"]


def _set_raw(ev: dict[str, Any], raw: bytes) -> None:
    ev["rawRecord"] = b64url(raw)
    ev["recordDigest"] = "sha256:" + hashlib.sha256(raw).hexdigest()


def test_the_translated_evidence_verifies(credential: dict[str, Any], anchor: dict[str, Any]) -> None:
    result = _check(credential, anchor)
    assert result.status == "verified"
    assert [c.name for c in result.checks] == list(EVIDENCE_CHECKS)
    assert all(s == "passed" for s in _statuses(result).values())


def test_a_write_set_changed_after_endorsement_is_caught(
    credential: dict[str, Any], anchor: dict[str, Any], ledger: ProductLedger
) -> None:
    # The client flipped a byte of the written value after the peers endorsed it, then signed the envelope: the
    # creator signature holds, the endorsements no longer cover the bytes.
    c, ev, pm = _edit(credential)
    tampered = decode_transaction(0, ledger.tampered)
    pm["envelope"] = b64url(ledger.tampered)
    pm["txId"] = tampered.tx_id
    del pm["block"]
    written = tampered.content.actions[0].rwsets[0].writes[0].value  # type: ignore[union-attr]
    assert written != product_value("00614141000012", "Counterfeit Drill")
    _set_raw(ev, written)
    result = _check(c, anchor)
    assert result.status == "invalid"
    check = result.check("fabric.endorsement_signatures")
    assert check.status.value == "failed"
    assert check.problems[0].code == "fabric.endorsement_signature_invalid"
    assert result.check("fabric.creator_signature").status.value == "passed"


def test_a_raw_record_other_than_the_endorsed_value_fails(credential: dict[str, Any], anchor: dict[str, Any]) -> None:
    c, ev, _ = _edit(credential)
    _set_raw(ev, product_value("00614141000012", "Cordless Drill X900"))
    result = _check(c, anchor)
    assert result.status == "invalid"
    assert result.check("fabric.record").problems[0].code == "fabric.record_mismatch"
    assert result.check("fabric.record").problems[0].pointer == "/rawRecord"


def test_the_record_digest_must_be_the_endorsed_values(credential: dict[str, Any], anchor: dict[str, Any]) -> None:
    # A tampered credential: rawRecord still the endorsed bytes, recordDigest pointing at other content (what the
    # gateway keys replay and revocation by).
    c, ev, _ = _edit(credential)
    ev["recordDigest"] = "sha256:" + hashlib.sha256(product_value("00614141000012", "Counterfeit Drill")).hexdigest()
    result = _check(c, anchor)
    assert result.status == "invalid"
    check = result.check("fabric.record")
    assert check.problems[0].code == "fabric.record_mismatch"
    assert check.problems[0].pointer == "/recordDigest"
    # Without rawRecord the digest is still bound to the endorsed value.
    del ev["rawRecord"]
    assert _check(c, anchor).check("fabric.record").problems[0].pointer == "/recordDigest"


@pytest.mark.parametrize(
    ("field", "value", "pointer"),
    [
        ("ledgerHeight", 4, "/ledgerHeight"),
        ("ledgerTime", "2030-01-01T00:00:00Z", "/ledgerTime"),
        (
            "nativeSigner",
            {"kind": "fabric-msp", "mspId": "Org2MSP", "certificateFingerprint": "00" * 32},
            "/nativeSigner",
        ),
        ("locator", "2/1/products/kv/product~00614141000012", "/locator"),
    ],
)
def test_ledger_facts_must_match_the_envelope(
    credential: dict[str, Any], anchor: dict[str, Any], field: str, value: Any, pointer: str
) -> None:
    c, ev, _ = _edit(credential)
    ev[field] = value
    result = _check(c, anchor)
    assert result.check("fabric.record").status.value == "failed"
    assert result.check("fabric.record").problems[0].pointer == pointer


def test_no_pinned_anchor_is_an_error(credential: dict[str, Any]) -> None:
    result = _check(credential, {})
    assert result.status == "error"
    assert result.check("fabric.anchor").problems[0].code == "fabric.no_anchor"


def test_another_genesis_block_fails_the_anchor(credential: dict[str, Any]) -> None:
    result = _check(credential, {"genesisBlockHash": "ab" * 32})
    assert result.status == "invalid"
    assert result.check("fabric.anchor").problems[0].code == "fabric.anchor_mismatch"


#: A real genesis block (fabric-samples test network, two orgs Org1MSP/Org2MSP, as in the forged channel).
REAL_GENESIS = FIXTURES / "bcverifier-asset-transfer-basic-2.4.7" / "bcv_basic_block_0.block"


def _graft_under_real_genesis(credential: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The attack of issue 11: the whole test channel (its CAs, peers, endorsements and QSCC attestations) passed
    off as the real channel by putting the real genesis header on the forged genesis block."""
    real = REAL_GENESIS.read_bytes()
    real_hash = header_hash_of(real).hex()
    c, ev, pm = _edit(credential)
    grafted = graft_header(b64url_decode(pm["configBlocks"][0]), real)
    assert header_hash_of(grafted).hex() == real_hash
    pm["configBlocks"] = [b64url(grafted)]
    pm["configBlockHash"] = real_hash
    ev["ledgerId"] = "fabric:" + real_hash[:16]
    return c, {"genesisBlockHash": real_hash, "minAttestingOrganizations": 2}


def test_a_fake_channel_grafted_under_the_real_genesis_header_is_refused(credential: dict[str, Any]) -> None:
    c, real_anchor = _graft_under_real_genesis(credential)
    result = _check(c, real_anchor)
    assert result.status == "invalid"
    anchor_check = result.check("fabric.anchor")
    assert anchor_check.status.value == "failed"
    assert anchor_check.problems[0].code == "fabric.genesis_data_mismatch"
    assert anchor_check.problems[0].pointer == "/proofMaterial/configBlocks/0"
    # Nothing of the forged channel is trusted after that.
    assert result.check("fabric.validation_code").status.value == "not_applicable"
    # The same graft through the anchor's configBlocks instead of the evidence's.
    _, _, pm = _edit(c)
    carried = pm.pop("configBlocks")
    c["evidence"][0]["proofMaterial"] = pm
    via_anchor = _check(c, {**real_anchor, "configBlocks": carried})
    assert via_anchor.check("fabric.anchor").problems[0].code == "fabric.genesis_data_mismatch"


def test_config_blocks_must_chain_by_previous_hash(credential: dict[str, Any], ledger: ProductLedger) -> None:
    # A config block #1 signed by the channel's own orderer but linked to another block #0: consecutive config
    # blocks must chain by header hash, not only by orderer signature.
    net = ledger.network
    genesis = ledger.blocks[0]
    unlinked = net.block(1, b"\x01" * 32, [net.config_envelope(sequence=1, signed=True)], last_config=1)
    c, _, pm = _edit(credential)
    pm["configBlocks"] = [b64url(genesis), b64url(unlinked)]
    pm["configBlockNumber"] = 1
    pm["configBlockHash"] = header_hash_of(unlinked).hex()
    anchor = {"genesisBlockHash": ledger.genesis_hash, "minAttestingOrganizations": 2}
    result = _check(c, anchor)
    assert result.status == "invalid"
    check = result.check("fabric.config_chain")
    assert check.problems[0].code == "fabric.config_chain_broken"
    assert "previous_hash failed" in check.problems[0].detail
    # Linked properly, the same config block is accepted: the check is about the link.
    linked = net.block(1, header_hash_of(genesis), [net.config_envelope(sequence=1, signed=True)], last_config=1)
    pm["configBlocks"] = [b64url(genesis), b64url(linked)]
    pm["configBlockHash"] = header_hash_of(linked).hex()
    assert _check(c, anchor).check("fabric.config_chain").status.value == "passed"


def test_evidence_cannot_stop_its_config_chain_early(credential: dict[str, Any], ledger: ProductLedger) -> None:
    # The channel got config block #1 (it could have revoked a CA) and the transaction's block #2 was ordered under
    # it; evidence naming only the genesis config must not pass when the block it carries says otherwise.
    net = ledger.network
    genesis = ledger.blocks[0]
    config1 = net.block(1, header_hash_of(genesis), [net.config_envelope(sequence=1, signed=True)], last_config=1)
    original = decode_block(ledger.blocks[2])
    block2 = net.block(2, header_hash_of(config1), list(original.data), last_config=1)
    c, _, pm = _edit(credential)
    pm.update(block=b64url(block2), blockHeaderHash=header_hash_of(block2).hex())
    anchor = {"genesisBlockHash": ledger.genesis_hash, "minAttestingOrganizations": 2}
    rolled_back = _check(c, anchor)  # configBlocks = [genesis], configBlockNumber 0
    assert rolled_back.status == "invalid"
    check = rolled_back.check("fabric.block")
    assert check.problems[0].code == "fabric.config_block_mismatch"
    assert check.problems[0].pointer == "/proofMaterial/configBlockNumber"
    # The honest evidence carries the whole chain up to the config in force.
    pm.update(configBlocks=[b64url(genesis), b64url(config1)], configBlockNumber=1)
    pm["configBlockHash"] = header_hash_of(config1).hex()
    assert _check(c, anchor).status == "verified"


def test_validation_code_needs_signed_attestations(
    credential: dict[str, Any], anchor: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    c, _, pm = _edit(credential)
    pm["validationAttestations"] = pm["validationAttestations"][:1]
    result = _check(c, anchor)
    assert result.status == "error"
    assert result.check("fabric.validation_code").problems[0].code == "fabric.validation_code_unattested"
    assert _check(c, {**anchor, "minAttestingOrganizations": 1}).status == "verified"
    assert _check(credential, {**anchor, "minAttestingOrganizations": 3}).status == "error"
    pm["validationAttestations"] = []
    with caplog.at_level(logging.WARNING, logger="vcgate.adapters.fabric"):
        unsafe = _check(c, {**anchor, "unsafeAcceptRecordedValidationCode": True})
    assert unsafe.status == "verified"
    assert "UNSAFE" in unsafe.check("fabric.validation_code").detail
    assert "unsafeAcceptRecordedValidationCode" in caplog.text


def test_config_blocks_may_come_from_the_anchor(credential: dict[str, Any], anchor: dict[str, Any]) -> None:
    c, _, pm = _edit(credential)
    blocks = pm.pop("configBlocks")
    missing = _check(c, anchor)
    assert missing.status == "error"
    assert missing.check("fabric.anchor").problems[0].code == "fabric.config_blocks_missing"
    assert _check(c, {**anchor, "configBlocks": blocks}).status == "verified"


def test_the_block_is_optional_but_checked_when_present(
    credential: dict[str, Any], anchor: dict[str, Any], ledger: ProductLedger
) -> None:
    c, _, pm = _edit(credential)
    del pm["block"]
    result = _check(c, anchor)
    assert result.status == "verified"
    assert result.check("fabric.block").status.value == "not_applicable"
    pm["block"] = b64url(ledger.blocks[4])  # another block: the envelope is not in it
    result = _check(c, anchor)
    assert result.status == "invalid"
    assert result.check("fabric.block").problems[0].code == "fabric.block_inclusion"


def test_without_the_chaincode_definition_the_policy_is_undecided(
    credential: dict[str, Any], anchor: dict[str, Any]
) -> None:
    c, _, pm = _edit(credential)
    del pm["chaincodeDefinition"]
    result = _check(c, anchor)
    assert result.status == "error"
    assert result.check("fabric.endorsement_policy").problems[0].code == "fabric.chaincode_definition_unknown"


def test_malformed_evidence_fails_without_raising(credential: dict[str, Any], anchor: dict[str, Any]) -> None:
    c, _, pm = _edit(credential)
    del pm["txId"]
    result = _check(c, anchor)
    assert result.status == "invalid"
    assert result.check("fabric.evidence").problems[0].code == "fabric.evidence_malformed"
    c, _, pm = _edit(credential)
    pm["envelope"] = b64url(b"\x0a\x05junk")
    assert _check(c, anchor).check("fabric.evidence").status.value == "failed"
    assert FabricEvidenceChecker().check({}, {"type": "nonsense"}, anchor, at=AT).status == "invalid"


def test_the_transaction_that_failed_its_policy_cannot_pass_as_valid(
    credential: dict[str, Any],
    anchor: dict[str, Any],
    ledger: ProductLedger,
    peers: list[TestPeer],
    network_files: Path,
) -> None:
    # Forge evidence for the transaction endorsed by Org1 only, with honest signed answers from both peers.
    block3 = decode_block(ledger.blocks[3])
    bad = block3.transactions[0]
    identity = SigningIdentity.from_msp_dir(network_files / "msp", "Org1MSP")
    answers = []
    for peer in peers:
        tls = TLSConfig.from_files(
            network_files / f"{peer.msp_id}-tlsca.pem",
            client_certificate=network_files / "client-tls.pem",
            client_key=network_files / "client-tls.key",
        )
        with PeerClient(peer.address, ledger.network.channel, identity, tls) as client:
            answers.append(b64url(client.signed_transaction_by_id(bad.tx_id)))
    c, ev, pm = _edit(credential)
    pm.update(
        envelope=b64url(bad.envelope_bytes),
        txId=bad.tx_id,
        blockNumber=3,
        blockHeaderHash=block3.header.hash().hex(),
        dataHash=block3.header.data_hash.hex(),
        block=b64url(ledger.blocks[3]),
        validationAttestations=answers,
        source={"kind": "write", "namespace": "products", "key": "product~00614141000036"},
        endorsers=pm["endorsers"][:1],
    )
    ev["locator"] = "3/0/products/kv/product~00614141000036"
    ev["ledgerHeight"] = 3
    assert bad.channel_header is not None
    assert bad.channel_header.timestamp is not None
    ev["ledgerTime"] = format_datetime(bad.channel_header.timestamp)
    _set_raw(ev, product_value("00614141000036", "Angle Grinder G5"))
    result = _check(c, anchor)
    assert result.status == "invalid"
    assert result.check("fabric.endorsement_policy").problems[0].code == "fabric.endorsement_policy_unsatisfied"
    assert result.check("fabric.validation_code").problems[0].code == "fabric.transaction_invalid"
    assert "ENDORSEMENT_POLICY_FAILURE" in result.check("fabric.validation_code").problems[0].detail
    assert result.check("fabric.record").status.value == "passed"  # the forgery is consistent; the checks catch it


# -- the real own-network fixture (Fabric 2.5.16, one org, the `records` chaincode) -----------------------------------


@pytest.fixture(scope="module")
def fixture_adapter() -> FabricAdapter:
    folder = FIXTURES / "own-network" / "from-peer"
    genesis = decode_block((folder / "mychannel_block_0.block").read_bytes())
    adapter = load_adapter("fabric").create(
        {
            "configDir": str(HERE),
            "channel": "mychannel",
            "genesisBlockHash": genesis.header.hash().hex(),
            "blockFiles": [str(folder / f"mychannel_block_{n}.block") for n in range(6)],
            "mappings": [{"mapping": "mappings/ledger-record.yaml", "chaincode": "records", "keys": "rec-*"}],
            "witness": "did:web:cbp.example",
        }
    )
    assert isinstance(adapter, FabricAdapter)
    return adapter


def test_real_fixture_records_translate_and_check_offline(fixture_adapter: FabricAdapter) -> None:
    records = [r for page in fixture_adapter.records() for r in page.records]
    assert [r.locator for r in records] == [
        "3/0/records/kv/rec-001",
        "4/0/records/kv/rec-002",
        "5/0/records/kv/rec-003",
    ]
    assert fixture_adapter.skipped == []
    assert fixture_adapter.health().ledger_height == 6
    credentials = [fixture_adapter.translate(r).to_json() for r in records]
    assert [c["credentialSubject"]["name"] for c in credentials] == ["ShipmentRecord", "LabResult", "Invoice"]
    genesis_hash = fixture_adapter.genesis_block_hash
    checker = fixture_adapter.evidence_checker()
    for credential in credentials:
        evidence = credential["evidence"][0]
        assert evidence["ledgerId"] == "fabric:" + str(genesis_hash)[:16]
        assert evidence["nativeSigner"]["mspId"] == "Org1MSP"
        # No peer to ask: the unsigned code is all there is, so by default the evidence is undecided ...
        strict = checker.check(credential, evidence, {"genesisBlockHash": genesis_hash}, at=AT)
        assert strict.status == "error"
        assert strict.check("fabric.validation_code").problems[0].code == "fabric.validation_code_unattested"
        # ... while everything signed checks out on real Fabric bytes: orderer signature, endorsement policy, chains.
        for name in ("fabric.block", "fabric.endorsement_policy", "fabric.certificate_chain", "fabric.record"):
            assert strict.check(name).status.value == "passed", (name, strict.to_json())
        unsafe = {"genesisBlockHash": genesis_hash, "unsafeAcceptRecordedValidationCode": True}
        assert checker.check(credential, evidence, unsafe, at=AT).status == "verified"


def test_real_fixture_record_altered_is_caught(fixture_adapter: FabricAdapter) -> None:
    record = next(iter(fixture_adapter.records())).records[0]
    credential = fixture_adapter.translate(record).to_json()
    c, ev, pm = _edit(credential)
    envelope = bytearray(b64url_decode(pm["envelope"]))
    at = envelope.rfind(b"Rotterdam")  # the last occurrence is in the endorsed write set (the first: the args)
    envelope[at] ^= 0x01  # "Rotterdam" → "Sotterdam" inside the endorsed write set
    pm["envelope"] = b64url(bytes(envelope))
    del pm["block"]
    _set_raw(ev, b64url_decode(ev["rawRecord"]).replace(b"Rotterdam", b"Sotterdam"))
    result = FabricEvidenceChecker().check(
        c,
        ev,
        {"genesisBlockHash": fixture_adapter.genesis_block_hash, "unsafeAcceptRecordedValidationCode": True},
        at=AT,
    )
    assert result.status == "invalid"
    assert result.check("fabric.endorsement_signatures").status.value == "failed"
    assert result.check("fabric.creator_signature").problems[0].code == "fabric.creator_signature_invalid"
