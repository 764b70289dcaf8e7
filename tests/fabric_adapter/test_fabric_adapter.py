"""The Fabric adapter against two in-process peers over mutual TLS: sync, resume, invalid transactions, revocations,
signing with the issuing service and verification with the gateway's verifier, peers going down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._verdicts import sound_but_unanchored
from vcgate.adapters.fabric import FabricAdapter, FabricPeerError, decode_block
from vcgate.adapters.fabric.testing import ProductLedger, TestPeer, product_value
from vcgate.adapters.sdk import AdapterConfigError, Cursor, SourceRecord, TranslationError, check_replay, load_adapter
from vcgate.canonical_schema import InputError, b64url_decode
from vcgate.gateway import DidResolver, IssuingService, KeyPair, Policy, Verifier

from .conftest import AT, free_port, make_config

pytestmark = pytest.mark.server


def _all(adapter: FabricAdapter, since: Cursor | None = None) -> list[SourceRecord]:
    return [r for page in adapter.records(since) for r in page.records]


def test_sync_reads_every_valid_product_record_in_ledger_order(adapter: FabricAdapter, ledger: ProductLedger) -> None:
    records = _all(adapter)
    assert [(r.kind, r.locator) for r in records] == [
        ("record", "2/0/products/kv/product~00614141000012"),
        ("record", "2/1/products/kv/product~00614141000029"),
        ("revocation", "4/0/products/kv/product~00614141000012#supersedes"),
        ("record", "4/0/products/kv/product~00614141000012"),
        ("revocation", "4/1/products/kv/product~00614141000029"),
        ("record", "5/0/products/kv/product~00614141001000"),
        ("record", "5/1/products/kv/product~00614141001007"),
    ]
    first = records[0]
    assert first.ledger_id == ledger.ledger_id
    assert first.channel == "productchannel"
    assert first.raw == product_value("00614141000012", "Cordless Drill X200")  # the exact endorsed bytes
    assert first.native_signer["mspId"] == "Org1MSP"
    assert first.proof_material["validationCode"] == "VALID"
    assert len(first.proof_material["validationAttestations"]) == 2  # one signed answer per organisation's peer
    assert {e["mspId"] for e in first.proof_material["endorsers"]} == {"Org1MSP", "Org2MSP"}
    # The superseding write and the delete revoke the records they replace.
    assert records[2].supersedes == records[0].locator
    assert records[4].supersedes == records[1].locator


def test_invalid_transactions_are_not_translated_but_reported(adapter: FabricAdapter, ledger: ProductLedger) -> None:
    records = _all(adapter)
    assert not any(r.ledger_height == 3 for r in records)
    reasons = {s.tx_id: s.reason for s in adapter.skipped}
    policy_failure = next(iter(ledger.invalid))
    assert reasons[policy_failure] == "validation code ENDORSEMENT_POLICY_FAILURE"
    duplicate = next(s for s in adapter.skipped if s.block == 3 and s.tx_index == 1)
    assert duplicate.reason == "validation code DUPLICATE_TXID"
    assert duplicate.tx_id in ledger.valid  # the replayed id belongs to a block-2 product
    # The write to a key no mapping covers ("counter") is neither a record nor a skip.
    assert not any("counter" in r.locator for r in records)


def test_resume_from_a_cursor_after_stopping_midway(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    config = make_config(ledger, peers, network_files)
    everything = [r.locator for r in _all(load_adapter("fabric").create(config))]
    # A sync reads two pages, saves the second page's cursor as a token and stops (the generator is dropped).
    first = load_adapter("fabric").create(config)
    pages = first.records()
    seen = [r.locator for r in next(pages).records]
    second_page = next(pages)
    seen += [r.locator for r in second_page.records]
    token = second_page.next_cursor.encode()
    pages.close()
    first.close()
    # A new process resumes from the token.
    second = load_adapter("fabric").create(config)
    rest = [r.locator for r in _all(second, Cursor.decode(token))]
    second.close()
    assert len(seen) == 4
    assert seen == everything[:4]
    assert seen + rest == everything  # nothing skipped, nothing repeated
    assert _all(load_adapter("fabric").create(config), Cursor.decode(_last_cursor(config))) == []


def _last_cursor(config: dict[str, object]) -> str:
    pages = list(load_adapter("fabric").create(config).records())
    return pages[-1].next_cursor.encode()


def test_translations_sign_and_verify_end_to_end(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path, witness_key: KeyPair
) -> None:
    adapter = load_adapter("fabric").create(make_config(ledger, peers, network_files, witness=witness_key.controller))
    issuer = IssuingService.for_key(witness_key)
    verifier = Verifier(Policy.default(), DidResolver.offline())
    checker = adapter.evidence_checker()
    anchor = {"genesisBlockHash": ledger.genesis_hash, "minAttestingOrganizations": 2}
    records = [r for r in _all(adapter) if r.kind == "record"]
    signed = [issuer.issue(adapter.translate(r), created=AT) for r in records]
    assert len(signed) == 5
    for credential in signed:
        result = verifier.check(credential, at=AT)
        # Sound, but no anchor is pinned for the verifier: never verified (issue 11); the evidence checks below.
        assert sound_but_unanchored(result), [c for c in result.checks if c.status not in ("passed", "not_applicable")]
        evidence = checker.check(credential, credential["evidence"][0], anchor, at=AT)
        assert evidence.status == "verified", evidence.to_json()
        assert check_replay(credential, adapter.rules[0].mapping).status == "verified"
    subject = signed[0]["credentialSubject"]
    assert signed[0]["type"] == ["VerifiableCredential", "ProductRegistrationCredential"]
    assert subject["gtin"] == "00614141000012"
    assert subject["manufacturer"]["name"] == "Acme Manufacturing Co."
    assert signed[0]["issuer"] == witness_key.controller
    # Revocations name the credentials that were issued for the superseded records.
    revocations = [r for r in _all(adapter) if r.kind == "revocation"]
    assert [adapter.revoked_credential_id(r) for r in revocations] == [signed[0]["id"], signed[1]["id"]]
    with pytest.raises(TranslationError) as info:
        adapter.translate(revocations[0])
    assert info.value.code == "MAPPING_REVOCATION_RECORD"
    adapter.close()


def test_translation_is_deterministic_apart_from_peer_signatures(adapter: FabricAdapter) -> None:
    a = [adapter.translate(r).credential_id for r in _all(adapter) if r.kind == "record"]
    b = [adapter.translate(r).credential_id for r in _all(adapter) if r.kind == "record"]
    assert a == b
    assert len(set(a)) == 5


def test_chaincode_events_translate_through_an_event_rule(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    config = make_config(
        ledger,
        peers,
        network_files,
        mappings=[{"mapping": "product-registration", "chaincode": "products", "event": "ProductRegistered"}],
    )
    adapter = load_adapter("fabric").create(config)
    records = _all(adapter)
    assert [r.locator for r in records][:2] == [
        "2/0/products/event/ProductRegistered",
        "2/1/products/event/ProductRegistered",
    ]
    assert all(r.kind == "record" for r in records)
    assert len(records) == 5
    credential = adapter.translate(records[0]).to_json()
    assert credential["credentialSubject"]["name"] == "Cordless Drill X200"
    result = adapter.evidence_checker().check(
        credential, credential["evidence"][0], {"genesisBlockHash": ledger.genesis_hash}, at=AT
    )
    assert result.status == "verified"
    adapter.close()


def test_fetch_and_describe(adapter: FabricAdapter, ledger: ProductLedger) -> None:
    record = adapter.fetch("4/0/products/kv/product~00614141000012")
    assert json.loads(record.raw)["version"] == 2  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no Fabric record"):
        adapter.fetch("3/0/products/kv/product~00614141000036")  # the invalid transaction's write
    info = adapter.describe()
    assert info.ledger_id == ledger.ledger_id
    assert info.channel == "productchannel"
    assert [m.types[1] for m in info.mappings] == ["ProductRegistrationCredential"]
    health = adapter.health()
    assert health.status == "ok"
    assert health.ledger_height == len(ledger.blocks)


def test_one_peer_down_fails_over_and_degrades(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    config = make_config(ledger, peers, network_files, addresses=[dead, peers[1].address])
    adapter = load_adapter("fabric").create(config)
    records = _all(adapter)
    assert len(records) == 7  # Org2's peer delivered everything
    # Only Org2's peer could attest, so evidence needing two organisations is undecided, not verified.
    first = records[0]
    assert len(first.proof_material["validationAttestations"]) == 1
    credential = adapter.translate(first).to_json()
    result = adapter.evidence_checker().check(
        credential, credential["evidence"][0], {"genesisBlockHash": ledger.genesis_hash}, at=AT
    )
    assert result.status == "error"
    assert result.check("fabric.validation_code").problems[0].code == "fabric.validation_code_unattested"
    assert adapter.health().status == "degraded"
    adapter.close()


def test_all_peers_down_is_an_error_after_backoff(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path
) -> None:
    config = make_config(ledger, peers, network_files, addresses=[f"127.0.0.1:{free_port()}"] * 2)
    adapter = load_adapter("fabric").create(config)
    waits: list[float] = []
    adapter._sleep = waits.append
    with pytest.raises(FabricPeerError, match="no peer of channel productchannel delivered blocks from #0"):
        _all(adapter)
    assert waits == [0.01, 0.01]  # one retry per peer (attempts: 2) before failing over and giving up
    health = adapter.health()
    assert health.status == "down"
    assert "UNAVAILABLE" in health.detail
    adapter.close()


def test_a_wrong_genesis_pin_is_refused(ledger: ProductLedger, peers: list[TestPeer], network_files: Path) -> None:
    adapter = load_adapter("fabric").create(make_config(ledger, peers, network_files, genesisBlockHash="ab" * 32))
    with pytest.raises(FabricPeerError, match="this is another channel"):
        _all(adapter)
    adapter.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mappings": []}, "setting 'mappings' must list rules"),
        (
            {"mappings": [{"mapping": "nope", "chaincode": "products", "keys": "*"}]},
            "no built-in Fabric mapping 'nope'",
        ),
        ({"genesisBlockHash": "xyz"}, "64 hex characters"),
        ({"identity": {"mspId": "Org1MSP", "mspDir": "missing"}}, "exactly one signcerts"),
        ({"blockFiles": ["a.block"]}, "either 'peers'"),
    ],
)
def test_bad_configuration_names_the_setting(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path, change: dict[str, object], message: str
) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        load_adapter("fabric").create(make_config(ledger, peers, network_files, **change))


def test_b64url_round_trip_of_embedded_envelope(adapter: FabricAdapter, ledger: ProductLedger) -> None:
    record = _all(adapter)[0]
    envelope = b64url_decode(record.proof_material["envelope"])
    assert envelope == decode_block(ledger.blocks[2]).data[0]
