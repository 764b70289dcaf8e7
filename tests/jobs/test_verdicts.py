"""Every scenario gets the right verdict for the right reason, decided by the right clause.

The expected table is written here, independently of the world builder: the rows reach the verifier without
scenario labels (the world only returns them keyed by scenario so this table can look them up).
"""

from __future__ import annotations

from typing import Any

import pytest

from vcgate.gateway._jobs import run_entries
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, World, plain_checkers

# scenario -> (verdict, first reason code, reason kind, deciding clause)
EXPECTED = {
    "authorized": ("authorized", "AUTHORIZED", "pass", "rule:chain-complete"),
    "no_licence": ("not_authorized", "LICENCE_MISSING", "fail", "rule:licence.licensee-is-manufacturer"),
    "revoked_licence": ("not_authorized", "LICENCE_REVOKED", "fail", "rule:credential-verified"),
    "expired_licence": ("not_authorized", "LICENCE_EXPIRED", "fail", "rule:licence.valid-at-entry-date"),
    "licensee_not_manufacturer": (
        "not_authorized",
        "LICENSEE_NOT_MANUFACTURER",
        "fail",
        "rule:licence.licensee-is-manufacturer",
    ),
    "importer_mismatch": ("not_authorized", "IMPORTER_MISMATCH", "fail", "rule:invoice.buyer-is-importer"),
    "quantity_first": ("authorized", "AUTHORIZED", "pass", "rule:chain-complete"),
    "quantity_beyond_invoice": (
        "not_authorized",
        "QUANTITY_EXCEEDS_INVOICE",
        "fail",
        "rule:invoice.quantity-not-exceeded",
    ),
    "self_declared_owner": (
        "not_authorized",
        "IPR_OWNER_NOT_AUTHORITATIVE",
        "fail",
        "trust.roots_of_authority.ipr_ownership",
    ),
    "forged_signature": ("not_authorized", "PROOF_INVALID", "fail", "rule:credential-verified"),
    "tampered_evidence": ("not_authorized", "EVIDENCE_INVALID", "fail", "rule:credential-verified"),
    "unknown_gtin": ("not_authorized", "GTIN_UNKNOWN", "fail", "trust.roots_of_authority.gtin_ownership"),
    "revoked_gs1_licence": ("not_authorized", "CREDENTIAL_REVOKED", "fail", "rule:credential-verified"),
    "no_anchor": ("undetermined", "EVIDENCE_UNANCHORED", "error", "trust.anchors"),
    "missing_adapter": ("undetermined", "ADAPTER_MISSING", "error", "rule:credential-verified"),
}


@pytest.fixture
def verdicts(world: World, rows: dict[str, dict[str, Any]], store: Store) -> dict[str, dict[str, Any]]:
    names = list(rows)
    results = run_entries(
        [rows[n] for n in names], store, world.policy(), checked_at=CHECKED_AT, checkers=plain_checkers()
    )
    return {n: r.to_json() for n, r in zip(names, results, strict=True)}


def test_every_scenario_is_in_the_table(rows: dict[str, dict[str, Any]]) -> None:
    assert set(rows) == set(EXPECTED)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_verdict_reason_and_clause(scenario: str, verdicts: dict[str, dict[str, Any]]) -> None:
    verdict, code, kind, clause = EXPECTED[scenario]
    result = verdicts[scenario]
    line = result["lines"][0]
    assert (result["verdict"], line["verdict"]) == (verdict, verdict), line["reasonDetails"]
    assert line["reasons"][0] == code, line["reasonDetails"]
    assert line["reasonDetails"][0]["kind"] == kind
    assert line["clause"] == clause


def test_undetermined_lines_never_carry_a_failure(verdicts: dict[str, dict[str, Any]]) -> None:
    for name in ("no_anchor", "missing_adapter"):
        kinds = {r["kind"] for r in verdicts[name]["lines"][0]["reasonDetails"]}
        assert kinds == {"error"}, name


def test_authorized_line_names_every_credential_and_evidence_behind_the_chain(
    verdicts: dict[str, dict[str, Any]], world: World
) -> None:
    line = verdicts["authorized"]["lines"][0]
    steps = {s["step"]: s for s in line["steps"]}
    assert [s["step"] for s in line["steps"]] == ["importer", "gtin_owner", "ipr", "licence", "invoice", "quantity"]
    assert all(s["status"] == "passed" for s in line["steps"])
    types = {}
    for step in ("gtin_owner", "ipr", "licence", "invoice"):
        (cid,) = steps[step]["credentials"]
        types[step] = world.credentials[cid]["type"][1]
    assert types == {
        "gtin_owner": "GS1IdentificationKeyLicenseCredential",
        "ipr": "IntellectualPropertyRightsCredential",
        "licence": "IntellectualPropertyRightsLicenseCredential",
        "invoice": "CommercialInvoiceCredential",
    }
    assert world.log_key is not None
    ledger = world.log_key.ledger_id
    # GS1 licences carry no ledger evidence; the IPR credential, licence and invoice are plain-ledger records.
    assert steps["gtin_owner"]["evidence"] == []
    for step in ("ipr", "licence", "invoice"):
        (ev,) = steps[step]["evidence"]
        assert ev.startswith(ledger + "/entry/")
        assert steps[step]["ledgerHeights"][ledger] == int(ev.rsplit("/", 1)[1])
    assert line["ledgerHeights"][ledger] == max(
        int(steps[s]["evidence"][0].rsplit("/", 1)[1]) for s in ("ipr", "licence", "invoice")
    )
    summaries = {c["id"]: c for c in verdicts["authorized"]["credentials"]}
    assert summaries[steps["licence"]["credentials"][0]]["effectiveIssuer"] == "acme"
    assert summaries[steps["invoice"]["credentials"][0]]["effectiveIssuer"] == "summit"
    assert summaries[steps["gtin_owner"]["credentials"][0]]["effectiveIssuer"] == "gs1"
