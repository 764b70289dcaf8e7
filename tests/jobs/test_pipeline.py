"""The per-credential pipeline: freshness of ledger reads and status lists, witness mode and the effective issuer,
issuer permissions, required evidence, and the result cache keyed by (digest, policy, instant, generation)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from vcgate.adapters.sdk import CredentialMapping, apply_mapping
from vcgate.gateway import KeyPair, sign
from vcgate.gateway._jobs import VerificationEnvironment, run_entries
from vcgate.gateway._links import parse_entry
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, CREATED, World, plain_checkers


def _line(world: World, store: Store, row: dict[str, Any], **policy: Any) -> Any:
    (v,) = run_entries([row], store, world.policy(**policy), checked_at=CHECKED_AT, checkers=plain_checkers())
    return v.lines[0]


def test_a_ledger_not_read_within_the_bound_makes_lines_undetermined(
    world: World, rows: dict[str, dict[str, Any]], store: Store
) -> None:
    assert world.log_key is not None
    ledger = world.log_key.ledger_id
    store.observe(ledger, at=CHECKED_AT - timedelta(days=30), height=1)  # older than the 7-day bound
    line = _line(world, store, rows["authorized"])
    assert line.verdict == "undetermined"
    assert {r.code for r in line.reasons} == {"LEDGER_STALE"}
    assert {r.kind for r in line.reasons} == {"error"}
    assert line.reasons[0].clause == "trust.freshness.revocation"
    # The last read failed: the ledger is unreachable (not merely stale).
    store.observe(ledger, at=CHECKED_AT - timedelta(hours=2), error="connection refused")
    line = _line(world, store, rows["authorized"])
    assert line.verdict == "undetermined"
    assert {r.code for r in line.reasons} == {"LEDGER_UNREACHABLE"}
    # A per-ledger bound long enough makes the old read acceptable again.
    line = _line(
        world,
        store,
        rows["authorized"],
        freshness={"status": 604800, "revocation": 604800, "revocation_per_ledger": {ledger: 90 * 86400}},
    )
    assert line.verdict == "authorized"


def test_a_stale_status_list_makes_the_gs1_step_undetermined(
    world: World, rows: dict[str, dict[str, Any]], store: Store
) -> None:
    for url, doc in world.status_list_documents().items():
        store.put_document(url, json.dumps(doc).encode(), fetched_at=CHECKED_AT - timedelta(days=30))
    line = _line(world, store, rows["authorized"])
    assert line.verdict == "undetermined"
    assert [(r.code, r.step) for r in line.reasons] == [("STATUS_UNDECIDED", "gtin_owner")]


def test_issuer_permissions_and_required_evidence_are_policy_clauses(
    world: World, rows: dict[str, dict[str, Any]], store: Store
) -> None:
    line = _line(
        world,
        store,
        rows["authorized"],
        issuer_permissions={"CommercialInvoiceCredential": ["northwind"]},
    )
    assert [(r.code, r.clause) for r in line.reasons] == [("ISSUER_NOT_PERMITTED", "trust.issuer_permissions")]
    line = _line(world, store, rows["authorized"], required_evidence={"CommercialInvoiceCredential": ["ethereum"]})
    assert [(r.code, r.clause) for r in line.reasons] == [("EVIDENCE_KIND_NOT_ACCEPTED", "trust.required_evidence")]
    line = _line(world, store, rows["authorized"], anchors={})
    assert line.verdict == "undetermined"
    assert {r.code for r in line.reasons} == {"EVIDENCE_UNANCHORED"}


def test_witness_credentials_count_for_the_native_signer_not_the_witness(world: World, store: Store) -> None:
    """Witness mode: the gateway signs a partner's ledger record; linking compares the effective issuer (the party
    bound to the native signer), and the policy must accept the witness."""
    witness = KeyPair.generate()
    doc = json.loads(json.dumps(world.mappings["CommercialInvoiceCredential"].document))
    doc["id"] = "urn:vcgate:test:mapping:witness-invoice"
    doc["credential"]["issuer"] = {"mode": "witness"}
    mapping = CredentialMapping.from_json(doc)
    store.put_mapping(mapping)
    invoice = next(c for c in world.credentials.values() if c["credentialSubject"].get("invoiceNumber") == "INV-AUTH")
    raw = dict(invoice["evidence"][0]["rawRecord"])
    raw["subject"] = dict(raw["subject"], invoiceNumber="INV-WITNESS")
    source = world.record("summit", raw, at=CREATED, record_id="witness-1")
    signed = sign(apply_mapping(mapping, source, witness=witness.controller).to_json(), witness, created=CREATED)
    assert signed["issuer"] == witness.controller
    store.put_credential(signed)
    assert world.ledger is not None
    assert world.log_key is not None
    store.observe(world.log_key.ledger_id, at=CHECKED_AT - timedelta(hours=1), height=world.ledger.tree_size())
    row = {
        "entryNumber": "W-1",
        "importerOfRecord": "95-481237600",
        "entryDate": "2024-09-02",
        "invoiceNumber": "INV-WITNESS",
        "lines": [{"gtin": invoice["credentialSubject"]["itemsShipped"][0]["product"]["gtin"], "quantity": 5}],
    }
    refused = _line(world, store, row)
    assert [(r.code, r.clause) for r in refused.reasons] == [("WITNESS_NOT_ACCEPTED", "trust.witness_mode")]
    accepted = _line(world, store, row, witness_mode={"accept": True, "witnesses": [witness.controller]})
    assert accepted.verdict == "authorized", accepted.reasons
    env = VerificationEnvironment(
        store,
        world.policy(witness_mode={"accept": True, "witnesses": [witness.controller]}),
        checked_at=CHECKED_AT,
        checkers=plain_checkers(),
    )
    assert env.views([signed["id"]])[signed["id"]].effective_issuer == "summit"


def test_results_are_cached_by_digest_policy_instant_and_generation(
    world: World, rows: dict[str, dict[str, Any]], store: Store
) -> None:
    entry = parse_entry(rows["authorized"])
    policy = world.policy()
    first = VerificationEnvironment(store, policy, checked_at=CHECKED_AT, checkers=plain_checkers())
    v1 = first.verify([entry])[0].to_json()
    assert first.stats["pipeline_runs"] >= 4
    second = VerificationEnvironment(store, policy, checked_at=CHECKED_AT, checkers=plain_checkers())
    v2 = second.verify([entry])[0].to_json()
    assert (second.stats["pipeline_runs"], second.stats["cache_hits"]) == (0, first.stats["pipeline_runs"])
    assert v1 == v2
    # Another instant, or a store change (a revocation, a party), is another key.
    later = VerificationEnvironment(store, policy, checked_at=CHECKED_AT + timedelta(days=1), checkers=plain_checkers())
    later.verify([entry])
    assert later.stats["cache_hits"] == 0
    store.put_party(world.actors["acme"].party())  # unchanged: no new generation
    same = VerificationEnvironment(store, policy, checked_at=CHECKED_AT, checkers=plain_checkers())
    same.verify([entry])
    assert same.stats["pipeline_runs"] == 0
