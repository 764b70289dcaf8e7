"""EAS licence attestations on a real node (anvil + the official EAS bytecode): read back, evidence built and checked
offline, forgeries caught with their specific codes, anchors (checkpoints, endpoint quorum, reorgs), revocation
proven from storage, and a node that is down."""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vcgate.adapters.ethereum import (
    CheckpointAnchor,
    DecodedEvent,
    EasReader,
    EasSchema,
    EthereumEvidence,
    EventAbi,
    JsonRpcClient,
    LedgerUnavailableError,
    build_log_evidence,
    check_eas_attestation,
    check_eas_revocation,
    check_evidence,
    decode_attestation_data,
    encode_attestation_data,
    fetch_events,
    keccak256,
    observe_header_quorum,
)

from .conftest import LICENCE_SCHEMA, ZERO_BYTES32, Deployment, load_artifact, start_anvil, stop_anvil

pytestmark = pytest.mark.server

CHAIN_ID = 31337
LATER = datetime(2100, 1, 1, tzinfo=UTC)


def licence_values(number: int, licensee: str) -> dict[str, Any]:
    return {
        "licenseId": f"LIC-2026-{number:04d}",
        "ipRightsUid": keccak256(b"trademark TMK 1234567"),
        "licensee": licensee,
        "gtins": ["00012345600012", f"0001234560{number:04d}"],
        "territory": "US",
        "validFrom": 1_767_225_600,
        "validUntil": 1_830_297_600,
    }


def attest(d: Deployment, schema_uid: bytes, values: dict[str, Any], *, mine: bool = True) -> bytes:
    data = encode_attestation_data(LICENCE_SCHEMA, values)
    request = (schema_uid, (d.manufacturer, 0, True, ZERO_BYTES32, data, 0))
    tx: bytes = d.eas.functions.attest(request).transact({"from": d.brand_owner, "gas": 1_000_000})
    if mine:
        d.w3.eth.wait_for_transaction_receipt(tx)
    return tx


@dataclass
class Licences:
    """Three licence attestations by the brand owner in one block among unrelated transfers, three blocks buried."""

    d: Deployment
    client: JsonRpcClient
    reader: EasReader
    schema: EasSchema
    events: list[DecodedEvent]
    block_number: int

    def checkpoint(self, number: int, depth: int = 0) -> CheckpointAnchor:
        block = self.d.w3.eth.get_block(number)
        return CheckpointAnchor.of(CHAIN_ID, {number: bytes(block["hash"])}, finality_depth=depth)


def make_licences(d: Deployment) -> Licences:
    schema = EasSchema(LICENCE_SCHEMA)
    assert d.register_schema(LICENCE_SCHEMA) == schema.uid
    # Several transactions in one block so that the transaction and receipt tries have real depth.
    d.node.rpc("evm_setAutomine", [False])
    for i in range(9):
        d.w3.eth.send_transaction({"from": d.other, "to": d.manufacturer, "value": i + 1})
    for number in (1, 2, 3):
        attest(d, schema.uid, licence_values(number, d.manufacturer), mine=False)
    for i in range(5):
        d.w3.eth.send_transaction({"from": d.other, "to": d.brand_owner, "value": i + 1})
    d.node.rpc("evm_mine")
    d.node.rpc("evm_setAutomine", [True])
    block_number = d.w3.eth.block_number
    assert len(d.w3.eth.get_block(block_number)["transactions"]) == 17
    d.node.rpc("anvil_mine", ["0x3"])
    client = JsonRpcClient(d.node.url)
    reader = EasReader(client, d.eas.address)
    events = reader.attested(schema_uid=schema.uid, attester=d.brand_owner)
    return Licences(d, client, reader, schema, events, block_number)


@pytest.fixture
def licences(deployment: Deployment) -> Licences:
    """Licences on a fresh node, for tests that change the chain."""
    return make_licences(deployment)


@pytest.fixture(scope="module")
def shared(shared_deployment: Deployment) -> Licences:
    """Licences on the module's node, for tests that only read."""
    return make_licences(shared_deployment)


def test_attestations_read_back(shared: Licences) -> None:
    assert len(shared.events) == 3
    for number, event in enumerate(shared.events, start=1):
        assert event.block_number == shared.block_number
        assert event.args["attester"] == shared.d.brand_owner
        assert bytes(event.args["schemaUID"]) == shared.schema.uid
        attestation = shared.reader.get_attestation(bytes(event.args["uid"]))
        assert attestation.attester == shared.d.brand_owner
        assert attestation.recipient == shared.d.manufacturer
        assert not attestation.revoked
        fields = decode_attestation_data(LICENCE_SCHEMA, attestation.data)
        expected = licence_values(number, shared.d.manufacturer)
        assert fields["licenseId"] == expected["licenseId"]
        assert fields["gtins"] == expected["gtins"]
        assert fields["ipRightsUid"] == "0x" + expected["ipRightsUid"].hex()
        assert fields["validUntil"] == expected["validUntil"]


def test_attestation_evidence_checks_offline(shared: Licences) -> None:
    event = shared.events[1]
    evidence = shared.reader.attestation_evidence(event, descendants=3)
    document = evidence.to_json()
    assert document["ledger"] == "eip155:31337"
    assert EthereumEvidence.from_json(document) == evidence  # byte-exact JSON round trip
    anchor = shared.checkpoint(shared.block_number + 3, depth=3)

    result = check_eas_attestation(document, anchor, at=LATER, eas_address=shared.d.eas.address, schema=shared.schema)
    assert result.status == "verified", result.problems
    assert {c.name for c in result.checks} >= {
        "header_hash", "anchor", "transaction_inclusion", "transaction_sender", "receipt_inclusion", "log_match",
        "account_proof", "storage_proof", "eas_contract", "eas_event", "eas_storage", "eas_schema",
    }  # fmt: skip
    assert all(c.status == "passed" for c in result.checks)
    assert result.attestation is not None
    assert result.attestation.uid == bytes(event.args["uid"])
    assert result.attestation.attester == shared.d.brand_owner
    assert result.fields is not None
    assert result.fields["licenseId"] == "LIC-2026-0002"
    assert result.transaction_sender == shared.d.brand_owner
    assert result.evidence.anchored_depth == 3
    assert result.evidence.observed_confirmations == 3
    assert result.evidence.ledger_time is not None

    # The same evidence against a checkpoint of its own block (depth 0) also anchors.
    assert check_evidence(evidence, shared.checkpoint(shared.block_number), at=LATER).status == "verified"


def _flip(hex_string: str, position: int) -> str:
    raw = bytearray(bytes.fromhex(hex_string[2:]))
    raw[position] ^= 0x01
    return "0x" + raw.hex()


def _forge_receipt_proof(doc: dict[str, Any]) -> None:
    doc["log"]["receiptProof"][-1] = _flip(doc["log"]["receiptProof"][-1], 40)


def _forge_header(doc: dict[str, Any]) -> None:
    doc["header"] = _flip(doc["header"], 100)


def _forge_log_data(doc: dict[str, Any]) -> None:
    doc["log"]["data"] = _flip(doc["log"]["data"], 31)


def _forge_sender(doc: dict[str, Any]) -> None:
    doc["log"]["from"] = "0x" + "ab" * 20


def _forge_transaction_proof(doc: dict[str, Any]) -> None:
    assert len(doc["log"]["transactionProof"]) > 1
    doc["log"]["transactionProof"] = doc["log"]["transactionProof"][:1]


def _forge_storage(doc: dict[str, Any]) -> None:
    doc["state"]["storage"][6]["value"] = hex(int(doc["state"]["storage"][6]["value"], 16) ^ 0x02)


def _forge_descendant(doc: dict[str, Any]) -> None:
    doc["descendantHeaders"][1] = _flip(doc["descendantHeaders"][1], 10)


def _forge_block_hash_syntax(doc: dict[str, Any]) -> None:
    doc["blockHash"] = "0xnothex"


@pytest.mark.parametrize(
    ("forge", "code", "pointer"),
    [
        (_forge_receipt_proof, "ethereum.receipt_proof_invalid", "/log/receiptProof"),
        (_forge_header, "ethereum.header_hash_mismatch", "/header"),
        (_forge_log_data, "ethereum.log_mismatch", "/log"),
        (_forge_sender, "ethereum.sender_mismatch", "/log/from"),
        (_forge_transaction_proof, "ethereum.transaction_proof_invalid", "/log/transactionProof"),
        (_forge_storage, "ethereum.storage_proof_invalid", "/state/storage/6"),
        (_forge_descendant, "ethereum.header_chain_broken", "/descendantHeaders/1"),
        (_forge_block_hash_syntax, "ethereum.evidence_malformed", "/blockHash"),
    ],
)
def test_forged_evidence_fails_with_its_code(
    shared: Licences, forge: Callable[[dict[str, Any]], None], code: str, pointer: str
) -> None:
    document = shared.reader.attestation_evidence(shared.events[0], descendants=3).to_json()
    forged = copy.deepcopy(document)
    forge(forged)
    result = check_evidence(forged, shared.checkpoint(shared.block_number + 3), at=LATER)
    assert result.status == "invalid"
    failed = [c.problem for c in result.checks if c.status == "failed"]
    assert [(p.code, p.pointer) for p in failed if p is not None] == [(code, pointer)]
    assert result.log is None
    assert not result.storage


def test_moved_transaction_index_fails_both_inclusion_proofs(shared: Licences) -> None:
    document = shared.reader.attestation_evidence(shared.events[0]).to_json()
    document["log"]["transactionIndex"] += 1
    result = check_evidence(document, shared.checkpoint(shared.block_number), at=LATER)
    assert [c.problem.code for c in result.checks if c.problem] == [
        "ethereum.transaction_proof_invalid",
        "ethereum.receipt_proof_invalid",
    ]


def test_rehashed_forged_header_is_not_on_the_anchored_chain(shared: Licences) -> None:
    # A forger who also recomputes blockHash gets past the hash check but not past the anchor.
    document = shared.reader.attestation_evidence(shared.events[0]).to_json()
    document["header"] = _flip(document["header"], 100)
    document["blockHash"] = "0x" + keccak256(bytes.fromhex(document["header"][2:])).hex()
    result = check_evidence(document, shared.checkpoint(shared.block_number), at=LATER)
    assert result.status == "invalid"
    codes = {c.problem.code for c in result.checks if c.problem}
    assert "ethereum.block_not_canonical" in codes


@pytest.mark.parametrize(
    ("anchor_of", "status", "code"),
    [
        (lambda lic: None, "error", "ethereum.no_anchor"),
        (
            lambda lic: CheckpointAnchor.of(1, {lic.block_number: lic.checkpoint(lic.block_number).checkpoints[0][1]}),
            "error",
            "ethereum.no_anchor",
        ),  # anchor for mainnet, evidence for 31337
        (lambda lic: lic.checkpoint(lic.block_number - 1), "error", "ethereum.no_anchor"),  # checkpoint below the block
        (lambda lic: lic.checkpoint(lic.block_number + 2, depth=6), "error", "ethereum.finality_insufficient"),
    ],
)
def test_evidence_reaching_no_anchor_is_an_error(
    shared: Licences, anchor_of: Callable[[Licences], CheckpointAnchor | None], status: str, code: str
) -> None:
    evidence = shared.reader.attestation_evidence(shared.events[0], descendants=2)
    result = check_evidence(evidence, anchor_of(shared), at=LATER)
    assert result.status == status
    assert [c.problem.code for c in result.checks if c.problem] == [code]
    assert result.log is None


def test_block_after_the_check_time_fails(shared: Licences) -> None:
    evidence = shared.reader.attestation_evidence(shared.events[0])
    result = check_evidence(evidence, shared.checkpoint(shared.block_number), at=datetime(2000, 1, 1, tzinfo=UTC))
    assert result.status == "invalid"
    assert [c.problem.code for c in result.checks if c.problem] == ["ethereum.block_after_check_time"]


def test_endpoint_quorum_anchor(shared: Licences) -> None:
    # A second, independent node: an anvil forked from the first at its head agrees on every block up to the fork.
    fork = start_anvil("--fork-url", shared.d.node.url)
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead_port = sock.getsockname()[1]
        clients = [
            shared.client,
            JsonRpcClient(fork.url),
            JsonRpcClient(f"http://127.0.0.1:{dead_port}", retries=0),
        ]
        evidence = shared.reader.attestation_evidence(shared.events[2])
        quorum = observe_header_quorum(clients, evidence.block_number, chain_id=CHAIN_ID, quorum=2, finality_depth=3)
        assert [r.error is None for r in quorum.reports] == [True, True, False]
        assert check_evidence(evidence, quorum, at=LATER).status == "verified"

        three = observe_header_quorum(clients, evidence.block_number, chain_id=CHAIN_ID, quorum=3, finality_depth=3)
        result = check_evidence(evidence, three, at=LATER)
        assert result.status == "error"
        assert [c.problem.code for c in result.checks if c.problem] == ["ethereum.quorum_not_reached"]

        deep = observe_header_quorum(clients, evidence.block_number, chain_id=CHAIN_ID, quorum=2, finality_depth=50)
        result = check_evidence(evidence, deep, at=LATER)
        assert [c.problem.code for c in result.checks if c.problem] == ["ethereum.finality_insufficient"]
    finally:
        stop_anvil(fork)


def test_revocation_is_proven_from_storage(licences: Licences) -> None:
    d = licences.d
    revoked_uid = bytes(licences.events[0].args["uid"])
    kept_uid = bytes(licences.events[1].args["uid"])
    tx = d.eas.functions.revoke((licences.schema.uid, (revoked_uid, 0))).transact({"from": d.brand_owner})
    receipt = d.w3.eth.wait_for_transaction_receipt(tx)
    revoked_at = d.w3.eth.get_block(receipt["blockNumber"])["timestamp"]

    assert [bytes(e.args["uid"]) for e in licences.reader.revoked()] == [revoked_uid]
    assert licences.reader.get_attestation(revoked_uid).revocation_time == revoked_at

    for uid, expected in ((revoked_uid, revoked_at), (kept_uid, 0)):
        evidence = licences.reader.revocation_evidence(uid).to_json()
        anchor = licences.checkpoint(evidence["blockNumber"])
        result = check_eas_revocation(evidence, anchor, at=LATER, eas_address=d.eas.address, uid=uid)
        assert result.status == "verified", result.problems
        assert result.revoked is (expected != 0)
        assert result.revocation_time == expected

    # The attestation's own evidence (older block) still shows it unrevoked at that block: both hold, at their times.
    before = licences.reader.attestation_evidence(licences.events[0])
    result = check_eas_attestation(
        before, licences.checkpoint(licences.block_number), at=LATER, eas_address=d.eas.address
    )
    assert result.status == "verified"
    assert result.attestation is not None
    assert result.attestation.revocation_time == 0

    # Revocation evidence for an attestation that does not exist is refused.
    unknown = licences.reader.revocation_evidence(b"\x42" * 32).to_json()
    result = check_eas_revocation(
        unknown, licences.checkpoint(unknown["blockNumber"]), at=LATER, eas_address=d.eas.address, uid=b"\x42" * 32
    )
    assert result.status == "invalid"
    assert [c.problem.code for c in result.checks if c.problem] == ["eas.storage_mismatch"]


def test_evidence_of_another_contract_is_not_eas(shared: Licences) -> None:
    evidence = shared.reader.attestation_evidence(shared.events[0])
    result = check_eas_attestation(
        evidence, shared.checkpoint(shared.block_number), at=LATER, eas_address=shared.d.did_registry.address
    )
    assert result.status == "invalid"
    assert [c.problem.code for c in result.checks if c.problem] == ["eas.wrong_contract"]
    wrong_schema = EasSchema("string somethingElse")
    result = check_eas_attestation(
        evidence, shared.checkpoint(shared.block_number), at=LATER, eas_address=shared.d.eas.address,
        schema=wrong_schema,
    )  # fmt: skip
    assert [c.problem.code for c in result.checks if c.problem] == ["eas.schema_mismatch"]


def test_reorg_unanchors_evidence_of_the_old_chain(deployment: Deployment) -> None:
    d = deployment
    schema = EasSchema(LICENCE_SCHEMA)
    d.register_schema(LICENCE_SCHEMA)
    snapshot = d.node.rpc("evm_snapshot")
    client = JsonRpcClient(d.node.url)
    reader = EasReader(client, d.eas.address)

    attest(d, schema.uid, licence_values(1, d.manufacturer))
    (old_event,) = reader.attested()
    old_evidence = reader.attestation_evidence(old_event)
    old_checkpoint = CheckpointAnchor.of(CHAIN_ID, {old_evidence.block_number: old_evidence.block_hash})
    assert check_evidence(old_evidence, old_checkpoint, at=LATER).status == "verified"

    # Reorg: back to before the attestation, then a different block at the same height.
    assert d.node.rpc("evm_revert", [snapshot]) is True
    d.node.rpc("evm_increaseTime", [7])
    attest(d, schema.uid, licence_values(2, d.other))
    (new_event,) = reader.attested()
    new_evidence = reader.attestation_evidence(new_event)
    assert new_evidence.block_number == old_evidence.block_number
    assert new_evidence.block_hash != old_evidence.block_hash

    new_checkpoint = CheckpointAnchor.of(CHAIN_ID, {new_evidence.block_number: new_evidence.block_hash})
    for evidence, anchor in ((old_evidence, new_checkpoint), (new_evidence, old_checkpoint)):
        result = check_evidence(evidence, anchor, at=LATER)
        assert result.status == "invalid"
        assert [c.problem.code for c in result.checks if c.problem] == ["ethereum.block_not_canonical"]
    # The node itself, asked now, no longer has the old block at that height.
    quorum = observe_header_quorum([client], old_evidence.block_number, chain_id=CHAIN_ID, quorum=1, finality_depth=0)
    assert [c.problem.code for c in check_evidence(old_evidence, quorum, at=LATER).checks if c.problem] == [
        "ethereum.block_not_canonical"
    ]
    assert check_evidence(new_evidence, quorum, at=LATER).status == "verified"


def test_node_down_raises_ledger_unavailable(deployment: Deployment) -> None:
    address = deployment.eas.address
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = JsonRpcClient(f"http://127.0.0.1:{port}", retries=1, sleep=lambda _: None)
    with pytest.raises(LedgerUnavailableError):
        EasReader(dead, address).attested()
    with pytest.raises(LedgerUnavailableError):
        build_log_evidence(dead, "0x" + "00" * 32, 0)
    # An unreachable endpoint in a quorum does not crash the observation; it just does not vote.
    quorum = observe_header_quorum([dead], 1, chain_id=CHAIN_ID, quorum=1, finality_depth=0)
    assert quorum.reports[0].error is not None
    assert "unavailable" in quorum.reports[0].error


def test_generic_contract_events(deployment: Deployment) -> None:
    d = deployment
    uid = d.register_schema("string note", revocable=False)
    registered = EventAbi.find(load_artifact("SchemaRegistry")["abi"], "Registered")
    (event,) = fetch_events(
        JsonRpcClient(d.node.url), d.schema_registry.address, registered, from_block=0, to_block="latest"
    )
    assert event.name == "Registered"
    assert bytes(event.args["uid"]) == uid
    assert event.args["registerer"] == d.brand_owner
    assert event.args["schema"][3] == "string note"
    assert event.args["schema"][2] is False
    assert registered.signature == "Registered(bytes32,address,(bytes32,address,bool,string))"


def test_observed_time_is_ledger_time(shared: Licences) -> None:
    evidence = shared.reader.attestation_evidence(shared.events[0])
    result = check_evidence(evidence, shared.checkpoint(shared.block_number), at=LATER)
    block = shared.d.w3.eth.get_block(shared.block_number)
    assert result.ledger_time == datetime.fromtimestamp(block["timestamp"], UTC)
    assert result.ledger_time is not None
    assert result.ledger_time < datetime.now(UTC) + timedelta(days=1)
