"""The example credentials in examples/credentials/: valid against their schemas, strict about terms, and
linked.

Strict terms (ARCHITECTURE.md, "Verification pipeline", stage 1): a term is undefined if JSON-LD expansion
drops it
or expands it under the credentials/v2 ``issuer-dependent#`` vocabulary. Both credentials/v2 and
traceability/v1
declare that ``@vocab``, so most undefined terms are not dropped but land there.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from pyld import jsonld

from vcgate.canonical_schema import CANONICAL_CONTEXT, document_loader, validate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "credentials"
ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"

EXPECTED_TYPES = {
    "gs1-company-prefix-license.json": "GS1CompanyPrefixLicenseCredential",
    "gs1-identification-key-license.json": "GS1IdentificationKeyLicenseCredential",
    "intellectual-property-rights.json": "IntellectualPropertyRightsCredential",
    "intellectual-property-rights-license.json": "IntellectualPropertyRightsLicenseCredential",
    "commercial-invoice.json": "CommercialInvoiceCredential",
    "cbp-3461-entry.json": "CBP3461EntryCredential",
    "entry-number.json": "EntryNumberCredential",
    "mill-test-report.json": "MillTestReportCredential",
    "product-registration.json": "ProductRegistrationCredential",
    "lacey-act-declaration.json": "LaceyActDeclarationCredential",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


# --- the strict-terms check
# -------------------------------------------------------------------------------------


def _count_compact_leaves(node: Any) -> int:
    """Scalars (and nulls) of a compacted document outside ``@context``."""
    if isinstance(node, dict):
        return sum(_count_compact_leaves(v) for k, v in node.items() if k != "@context")
    if isinstance(node, list):
        return sum(_count_compact_leaves(v) for v in node)
    return 1


def _count_expanded_leaves(node: Any) -> int:
    """Values of an expanded document: @id, each @type of a node, and the scalars of each @value (JSON
    literals
    counted inside). A value object's datatype @type is not a leaf of the compacted form, so it is skipped."""
    if isinstance(node, list):
        return sum(_count_expanded_leaves(v) for v in node)
    if not isinstance(node, dict):
        return 0
    if "@value" in node:
        return _count_compact_leaves(node["@value"])
    total = 0
    for key, value in node.items():
        if key == "@id":
            total += 1
        elif key == "@type":
            total += len(value) if isinstance(value, list) else 1
        else:
            total += _count_expanded_leaves(value)
    return total


def _expanded_iris(node: Any, out: set[str]) -> None:
    if isinstance(node, list):
        for v in node:
            _expanded_iris(v, out)
    elif isinstance(node, dict):
        if "@value" in node:
            return
        for key, value in node.items():
            if key == "@type":
                out.update(value if isinstance(value, list) else [value])
            elif not key.startswith("@"):
                out.add(key)
            _expanded_iris(value, out)


def undefined_terms(document: dict[str, Any]) -> list[str]:
    """Why ``document`` is not strict: issuer-dependent IRIs and a count of dropped values (empty: strict)."""
    expanded = jsonld.expand(document, {"documentLoader": document_loader()})
    found: list[str] = []
    iris: set[str] = set()
    _expanded_iris(expanded, iris)
    found += sorted(i for i in iris if i.startswith(ISSUER_DEPENDENT))
    lost = _count_compact_leaves(document) - _count_expanded_leaves(expanded)
    if lost:
        found.append(f"{lost} value(s) dropped by expansion")
    return found


# --- tests
# -------------------------------------------------------------------------------------------------------


def test_every_required_example_is_present() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(EXPECTED_TYPES)


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_example_is_canonical_and_valid(name: str) -> None:
    vc = load(name)
    assert vc["@context"] == list(CANONICAL_CONTEXT)
    assert vc["type"] == ["VerifiableCredential", EXPECTED_TYPES[name]]
    assert "proof" not in vc, "examples are unsigned"
    assert "validFrom" in vc
    assert vc["issuer"] if isinstance(vc["issuer"], str) else vc["issuer"]["id"]
    assert validate(vc) == []


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_example_uses_only_defined_terms(name: str) -> None:
    assert undefined_terms(load(name)) == []


def test_strict_check_catches_issuer_dependent_term() -> None:
    vc = load("commercial-invoice.json")
    # lineItemTotalPrice is in the upstream schema but not in the pinned traceability/v1 TradeLineItem
    # context.
    vc["credentialSubject"]["itemsShipped"][0]["lineItemTotalPrice"] = {
        "type": ["PriceSpecification"],
        "price": 1,
    }
    assert undefined_terms(vc) == [ISSUER_DEPENDENT + "lineItemTotalPrice"]


def test_strict_check_catches_undefined_term_inside_ledger_evidence() -> None:
    vc = load("intellectual-property-rights.json")
    vc["evidence"][0]["blockNumber"] = 16372108
    assert undefined_terms(vc) == [ISSUER_DEPENDENT + "blockNumber"]


def test_strict_check_catches_dropped_values() -> None:
    vc = load("entry-number.json")
    vc["credentialSubject"]["@comment"] = "keyword-like keys are dropped by JSON-LD"
    vc["validUntil"] = None
    assert undefined_terms(vc) == ["2 value(s) dropped by expansion"]


def test_at_least_two_examples_carry_ledger_evidence() -> None:
    ledgers = {}
    for name in EXPECTED_TYPES:
        for item in load(name).get("evidence", []):
            if "LedgerEvidence" in item["type"]:
                ledgers[name] = item["ledgerId"]
    assert len(ledgers) >= 2
    assert {i.split(":")[0] for i in ledgers.values()} >= {"eip155", "fabric", "plain"}


def test_record_digest_matches_raw_record() -> None:
    # adapters.sdk: recordDigest is sha256:<hex> of the RFC 8785 form of a JSON raw record.
    checked = 0
    for name in EXPECTED_TYPES:
        for item in load(name).get("evidence", []):
            if "rawRecord" in item:
                digest = "sha256:" + hashlib.sha256(rfc8785.dumps(item["rawRecord"])).hexdigest()
                assert item["recordDigest"] == digest
                checked += 1
    assert checked >= 2


# --- the chain links up
# -------------------------------------------------------------------------------------------


def _gtin_ok(gtin: str) -> bool:
    digits = [int(c) for c in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def test_ipr_chain_is_consistent() -> None:
    prefix = load("gs1-company-prefix-license.json")
    key = load("gs1-identification-key-license.json")
    ipr = load("intellectual-property-rights.json")
    licence = load("intellectual-property-rights-license.json")
    invoice = load("commercial-invoice.json")
    brand = prefix["credentialSubject"]["id"]

    # GTIN -> brand owner (GS1): the key licence extends the prefix licence and the GTIN carries the prefix.
    assert key["credentialSubject"]["extendsCredential"] == prefix["id"]
    gtin = key["credentialSubject"]["licenseValue"]
    assert _gtin_ok(gtin)
    assert gtin.lstrip("0").startswith(prefix["credentialSubject"]["licenseValue"].lstrip("0"))
    assert key["credentialSubject"]["id"] == brand
    # brand owner -> IPR -> licence to the manufacturer.
    assert ipr["credentialSubject"]["intellectualPropertyRightsOwner"]["id"] == brand
    assert ipr["credentialSubject"]["intellectualPropertyRightsProduct"]["gtin"] == gtin
    assert licence["issuer"]["id"] == brand
    assert licence["credentialSubject"]["extendsCredential"] == ipr["id"]
    assert licence["credentialSubject"]["recordationNumber"] == ipr["credentialSubject"]["recordationNumber"]
    manufacturer = licence["credentialSubject"]["licensee"]["id"]
    # invoice: seller = licensee, every line's GTIN licensed and well-formed.
    subject = invoice["credentialSubject"]
    assert invoice["issuer"]["id"] == subject["seller"]["id"] == manufacturer
    licensed = {p["gtin"] for p in licence["credentialSubject"]["licensedProducts"]}
    lines = subject["itemsShipped"]
    assert {line["product"]["gtin"] for line in lines} <= licensed
    assert all(_gtin_ok(g) for g in licensed)
    assert "US" in licence["credentialSubject"]["licenseTerritory"]


def _digest_multibase(document: dict[str, Any]) -> str:
    multihash = b"\x12\x20" + hashlib.sha256(rfc8785.dumps(document)).digest()
    return "u" + base64.urlsafe_b64encode(multihash).decode().rstrip("=")


@pytest.mark.parametrize("name", ["cbp-3461-entry.json", "entry-number.json"])
def test_entry_references_the_invoice_by_id_and_digest(name: str) -> None:
    invoice = load("commercial-invoice.json")
    entry = load(name)
    assert entry["relatedResource"] == [{"id": invoice["id"], "digestMultibase": _digest_multibase(invoice)}]


def test_entry_importer_is_the_invoice_buyer() -> None:
    invoice = load("commercial-invoice.json")
    entry = load("cbp-3461-entry.json")
    numbers = load("entry-number.json")
    assert entry["credentialSubject"]["importer"]["id"] == invoice["credentialSubject"]["buyer"]["id"]
    assert entry["credentialSubject"]["entryNumber"] == numbers["credentialSubject"]["entryNumber"]
    shipped = sum(line["itemCount"] for line in invoice["credentialSubject"]["itemsShipped"])
    assert sum(line["itemCount"] for line in entry["credentialSubject"]["lineItems"]) == shipped


def test_product_registration_is_the_licensees_licensed_product() -> None:
    licence = load("intellectual-property-rights-license.json")["credentialSubject"]
    product = load("product-registration.json")["credentialSubject"]
    assert product["manufacturer"]["id"] == licence["licensee"]["id"]
    assert product["gtin"] in {p["gtin"] for p in licence["licensedProducts"]}
    assert _gtin_ok(product["gtin"])
