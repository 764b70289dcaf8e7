"""validate(): table-driven valid and invalid cases for every canonical schema and every base rule."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from vcgate.canonical_schema import (
    CREDENTIALS_V1_URL,
    CREDENTIALS_V2_URL,
    TRACEABILITY_V1_URL,
    VALIDATION_PROBLEM_CODES,
    VCGATE_CONTEXT_URL,
    Problem,
    known_credential_types,
    parse_date_time,
    schema_for,
    validate,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "credentials"
FILES = {
    "GS1CompanyPrefixLicenseCredential": "gs1-company-prefix-license.json",
    "GS1IdentificationKeyLicenseCredential": "gs1-identification-key-license.json",
    "IntellectualPropertyRightsCredential": "intellectual-property-rights.json",
    "IntellectualPropertyRightsLicenseCredential": "intellectual-property-rights-license.json",
    "CommercialInvoiceCredential": "commercial-invoice.json",
    "CBP3461EntryCredential": "cbp-3461-entry.json",
    "EntryNumberCredential": "entry-number.json",
    "MillTestReportCredential": "mill-test-report.json",
    "ProductRegistrationCredential": "product-registration.json",
    "LaceyActDeclarationCredential": "lacey-act-declaration.json",
}

Mutation = Callable[[dict[str, Any]], None]


def example(type_name: str) -> dict[str, Any]:
    if type_name == "VerificationReport":
        return verification_report()
    data: dict[str, Any] = json.loads((EXAMPLES / FILES[type_name]).read_text(encoding="utf-8"))
    return data


def verification_report() -> dict[str, Any]:
    return {
        "@context": [CREDENTIALS_V2_URL, TRACEABILITY_V1_URL, VCGATE_CONTEXT_URL],
        "id": "urn:uuid:2f0d7c1e-8a4b-4c3d-9e5f-6a7b8c9d0e11",
        "type": ["VerifiableCredential", "VerificationReport"],
        "issuer": "did:web:vcgate.cbp.example.gov",
        "validFrom": "2024-09-03T10:00:00Z",
        "credentialSubject": {
            "type": ["VerificationJobResult"],
            "jobId": "job-2024-09-03-0001",
            "policyDigest": "sha256:0b9d2c6f5e4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c",
            "effectiveAt": "2024-09-01T17:20:00Z",
            "checkedAt": "2024-09-03T09:59:30Z",
            "entries": [
                {
                    "entryNumber": "HB7-1048213-6",
                    "verdict": "authorized",
                    "lines": [
                        {
                            "line": 1,
                            "gtin": "00614141123452",
                            "quantity": 1200,
                            "verdict": "authorized",
                            "reasons": [],
                            "credentials": ["urn:uuid:3e5f7a9b-2c4d-4e6f-9a1b-7c8d9e0f1a44"],
                        }
                    ],
                }
            ],
            "ledgerHeights": {"eip155:1": 16372190},
        },
    }


def found(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.code, p.pointer) for p in problems]


def _set(path: str, value: Any) -> Mutation:
    def mutate(vc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = vc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(vc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = vc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(vc: dict[str, Any]) -> None:
        for m in mutations:
            m(vc)

    return mutate


V1_CONTEXT = [CREDENTIALS_V1_URL, TRACEABILITY_V1_URL, VCGATE_CONTEXT_URL]

# (case id, type, mutation) -> must stay valid.
VALID_CASES: list[tuple[str, str, Mutation]] = [
    *[(f"example-{t}", t, lambda vc: None) for t in [*FILES, "VerificationReport"]],
    (
        "gs1-prefix-issuer-object",
        "GS1CompanyPrefixLicenseCredential",
        _set("issuer", {"id": "did:web:gs1us.example.org", "name": "GS1 US"}),
    ),
    (
        "ipr-licence-issuer-as-did",
        "IntellectualPropertyRightsLicenseCredential",
        _set("issuer", "did:web:acme-apparel.example.com"),
    ),
    (
        "ipr-licence-without-optional-terms",
        "IntellectualPropertyRightsLicenseCredential",
        _both(*[_delete(f"credentialSubject/{k}") for k in ("licensor", "licenseTerm", "licensedProducts")]),
    ),
    (
        "invoice-single-evidence-object",
        "CommercialInvoiceCredential",
        lambda vc: vc.__setitem__("evidence", vc["evidence"][0]),
    ),
    (
        "vc11-issuance-and-expiration",
        "EntryNumberCredential",
        _both(
            _set("@context", V1_CONTEXT),
            _delete("validFrom"),
            _set("issuanceDate", "2024-09-01T17:20:00Z"),
            _set("expirationDate", "2025-09-01T17:20:00Z"),
        ),
    ),
    (
        "vc11-legacy-suite-context",
        "EntryNumberCredential",
        _both(
            _set("@context", [*V1_CONTEXT, "https://w3id.org/security/suites/ed25519-2020/v1"]),
            _delete("validFrom"),
            _set("issuanceDate", "2024-09-01T17:20:00Z"),
        ),
    ),
    (
        "two-context-form-without-vcgate",
        "EntryNumberCredential",
        _set("@context", [CREDENTIALS_V2_URL, TRACEABILITY_V1_URL]),
    ),
    (
        # order beyond the first entry is free (R3): a legacy proof-suite context before traceability/v1
        "vc11-suite-context-before-traceability",
        "EntryNumberCredential",
        _both(
            _set(
                "@context",
                [CREDENTIALS_V1_URL, "https://w3id.org/security/suites/ed25519-2020/v1", TRACEABILITY_V1_URL],
            ),
            _delete("validFrom"),
            _set("issuanceDate", "2024-09-01T17:20:00Z"),
        ),
    ),
    (
        "vcgate-context-before-traceability",
        "EntryNumberCredential",
        _set("@context", [CREDENTIALS_V2_URL, VCGATE_CONTEXT_URL, TRACEABILITY_V1_URL]),
    ),
    ("mill-test-report-without-evidence", "MillTestReportCredential", _delete("evidence")),
    (
        "entry-with-status-and-proof-array",
        "CBP3461EntryCredential",
        _both(
            _set("credentialStatus", {"type": "BitstringStatusListEntry", "id": "https://x.example/s#1"}),
            _set("proof", [{"type": "DataIntegrityProof"}, {"type": "DataIntegrityProof"}]),
        ),
    ),
    (
        "evidence-with-other-type-kept",
        "MillTestReportCredential",
        lambda vc: vc["evidence"].append({"type": ["DocumentVerification"], "id": "https://x.example/doc/1"}),
    ),
    (
        "offset-timezone-and-fraction",
        "EntryNumberCredential",
        _set("validFrom", "2024-09-01T10:20:00.123456789-07:00"),
    ),
    (
        "ledger-evidence-raw-record-without-digest-or-proof-material",
        "IntellectualPropertyRightsCredential",
        _both(_delete("evidence/0/recordDigest"), _delete("evidence/0/proofMaterial")),
    ),
    (
        "ledger-evidence-without-raw-record",
        "IntellectualPropertyRightsCredential",
        _delete("evidence/0/rawRecord"),
    ),
    (
        "ledger-evidence-rawrecord-null-free",
        "IntellectualPropertyRightsCredential",
        _delete("evidence/0/finality"),
    ),
    # product registration: the Fabric mapping's optional fields absent; upstream's issuer object and schema link
    (
        "product-registration-gtin-and-name-only",
        "ProductRegistrationCredential",
        _both(*(_delete(f"credentialSubject/{k}") for k in ("description", "sku", "batchNumber", "countryOfOrigin"))),
    ),
    (
        "product-registration-organization-issuer-and-credential-schema",
        "ProductRegistrationCredential",
        _both(
            _set("issuer", {"type": ["Organization"], "id": "did:web:vcgate.cbp.example.gov", "name": "CBP gateway"}),
            _set(
                "credentialSchema",
                {
                    "id": "https://w3id.org/traceability/openapi/components/schemas/credentials/"
                    "ProductRegistrationCredential.yml",
                    "type": "OpenApiSpecificationValidator2022",
                },
            ),
        ),
    ),
    (
        "product-registration-with-price",
        "ProductRegistrationCredential",
        _set("credentialSubject/productPrice", {"type": ["PriceSpecification"], "price": 98, "priceCurrency": "USD"}),
    ),
]


@pytest.mark.parametrize(("case", "type_name", "mutate"), VALID_CASES, ids=[c[0] for c in VALID_CASES])
def test_valid(case: str, type_name: str, mutate: Mutation) -> None:
    vc = example(type_name)
    mutate(vc)
    assert validate(vc) == []


S = "SCHEMA_VIOLATION"
# (case id, type, mutation, expected [(code, pointer)] in order).
INVALID_CASES: list[tuple[str, str, Mutation, list[tuple[str, str]]]] = [
    # GS1 company prefix licence
    (
        "gs1-prefix-missing-license-value",
        "GS1CompanyPrefixLicenseCredential",
        _delete("credentialSubject/licenseValue"),
        [(S, "/credentialSubject/licenseValue")],
    ),
    ("gs1-prefix-missing-id", "GS1CompanyPrefixLicenseCredential", _delete("id"), [(S, "/id")]),
    (
        "gs1-prefix-unpinned-gs1-context",
        "GS1CompanyPrefixLicenseCredential",
        _set("@context/1", "https://ref.gs1.org/gs1/vc/license-context/"),
        # no traceability/v1 left, and an entry outside the pinned set
        [(S, "/@context"), (S, "/@context/1")],
    ),
    # GS1 identification key licence
    (
        "gs1-key-missing-status",
        "GS1IdentificationKeyLicenseCredential",
        _delete("credentialStatus"),
        [(S, "/credentialStatus")],
    ),
    (
        "gs1-key-unknown-key-type",
        "GS1IdentificationKeyLicenseCredential",
        _set("credentialSubject/identificationKeyType", "EAN"),
        [(S, "/credentialSubject/identificationKeyType")],
    ),
    (
        "gs1-key-extra-property",
        "GS1IdentificationKeyLicenseCredential",
        _set("credentialSchema2", {}),
        [(S, "/credentialSchema2")],
    ),
    # IPR credential (and LedgerEvidence)
    (
        "ipr-unknown-right-type",
        "IntellectualPropertyRightsCredential",
        _set("credentialSubject/intellectualPropertyRightsType", "Trade secret"),
        [(S, "/credentialSubject/intellectualPropertyRightsType")],
    ),
    (
        "ledger-evidence-missing-mapping-digest",
        "IntellectualPropertyRightsCredential",
        _delete("evidence/0/mappingDigest"),
        [(S, "/evidence/0/mappingDigest")],
    ),
    (
        "ledger-evidence-bad-fabric-id",
        "IntellectualPropertyRightsCredential",
        _set("evidence/0/ledgerId", "fabric:mychannel"),
        [(S, "/evidence/0/ledgerId")],
    ),
    (
        "ledger-evidence-neither-record-nor-digest",
        "IntellectualPropertyRightsCredential",
        _both(_delete("evidence/0/recordDigest"), _delete("evidence/0/rawRecord")),
        [(S, "/evidence/0/recordDigest")],
    ),
    (
        "ledger-evidence-digest-not-sha256-hex",
        "IntellectualPropertyRightsCredential",
        _set("evidence/0/recordDigest", "sha256:ABC"),
        [(S, "/evidence/0/recordDigest")],
    ),
    (
        "ledger-evidence-unknown-issuance-mode",
        "IntellectualPropertyRightsCredential",
        _set("evidence/0/issuanceMode", "self"),
        [(S, "/evidence/0/issuanceMode")],
    ),
    (
        "ledger-evidence-missing-native-signer",
        "IntellectualPropertyRightsCredential",
        _delete("evidence/0/nativeSigner"),
        [(S, "/evidence/0/nativeSigner")],
    ),
    (
        "ledger-evidence-negative-height",
        "IntellectualPropertyRightsCredential",
        _set("evidence/0/ledgerHeight", -1),
        [(S, "/evidence/0/ledgerHeight")],
    ),
    (
        "ledger-evidence-unknown-field",
        "IntellectualPropertyRightsCredential",
        _set("evidence/0/blockNumber", 1),
        [(S, "/evidence/0/blockNumber")],
    ),
    (
        "ledger-evidence-bad-time",
        "IntellectualPropertyRightsCredential",
        _set("evidence/0/ledgerTime", "2023-01-10 00:00:11"),
        [(S, "/evidence/0/ledgerTime")],
    ),
    (
        "evidence-without-type",
        "IntellectualPropertyRightsCredential",
        _delete("evidence/0/type"),
        # the base rule (VC 2.0 §5.6: every evidence object has a type) reports it; the schema one is suppressed
        [("TYPED_OBJECT_INVALID", "/evidence/0")],
    ),
    (
        "evidence-empty-array",
        "IntellectualPropertyRightsCredential",
        _set("evidence", []),
        [(S, "/evidence")],
    ),
    # IPR licence
    (
        "licence-missing-licensee",
        "IntellectualPropertyRightsLicenseCredential",
        _delete("credentialSubject/licensee"),
        [(S, "/credentialSubject/licensee")],
    ),
    (
        "licence-missing-extends",
        "IntellectualPropertyRightsLicenseCredential",
        _delete("credentialSubject/extendsCredential"),
        [(S, "/credentialSubject/extendsCredential")],
    ),
    (
        "licence-licensee-without-id",
        "IntellectualPropertyRightsLicenseCredential",
        _delete("credentialSubject/licensee/id"),
        [(S, "/credentialSubject/licensee/id")],
    ),
    (
        "licence-territory-not-iso",
        "IntellectualPropertyRightsLicenseCredential",
        _set("credentialSubject/licenseTerritory", ["USA"]),
        [(S, "/credentialSubject/licenseTerritory/0")],
    ),
    (
        "licence-term-end-is-a-date",
        "IntellectualPropertyRightsLicenseCredential",
        _set("credentialSubject/licenseTerm/termEnd", "2026-12-31"),
        [(S, "/credentialSubject/licenseTerm/termEnd")],
    ),
    (
        "licence-products-empty",
        "IntellectualPropertyRightsLicenseCredential",
        _set("credentialSubject/licensedProducts", []),
        [(S, "/credentialSubject/licensedProducts")],
    ),
    (
        "licence-issuer-object-without-type",
        "IntellectualPropertyRightsLicenseCredential",
        _delete("issuer/type"),
        [(S, "/issuer/type")],
    ),
    (
        "licence-issuer-not-a-url",
        "IntellectualPropertyRightsLicenseCredential",
        _set("issuer", "Acme Outdoor Apparel"),
        [("ISSUER_INVALID", "/issuer")],
    ),
    # commercial invoice
    (
        "invoice-no-items",
        "CommercialInvoiceCredential",
        _set("credentialSubject/itemsShipped", []),
        [(S, "/credentialSubject/itemsShipped")],
    ),
    (
        "invoice-gtin-not-a-string",
        "CommercialInvoiceCredential",
        _set("credentialSubject/itemsShipped/0/product/gtin", 614141123452),
        [(S, "/credentialSubject/itemsShipped/0/product/gtin")],
    ),
    (
        "invoice-undeclared-top-level",
        "CommercialInvoiceCredential",
        _set("shipment", "x"),
        [(S, "/shipment")],
    ),
    (
        "invoice-date-not-a-date",
        "CommercialInvoiceCredential",
        _set("credentialSubject/invoiceDate", "15/08/2024"),
        [(S, "/credentialSubject/invoiceDate")],
    ),
    (
        "invoice-missing-total",
        "CommercialInvoiceCredential",
        _delete("credentialSubject/totalPaymentDue"),
        [(S, "/credentialSubject/totalPaymentDue")],
    ),
    # CBP 3461 entry
    (
        "entry-unknown-transport",
        "CBP3461EntryCredential",
        _set("credentialSubject/transportMode", "Teleport"),
        [(S, "/credentialSubject/transportMode")],
    ),
    (
        "entry-ior-type-unknown",
        "CBP3461EntryCredential",
        _set("credentialSubject/importerOfRecord/identifierType", "EIN"),
        [(S, "/credentialSubject/importerOfRecord/identifierType")],
    ),
    (
        "entry-missing-entry-number",
        "CBP3461EntryCredential",
        _delete("credentialSubject/entryNumber"),
        [(S, "/credentialSubject/entryNumber")],
    ),
    (
        "entry-related-resource-without-digest",
        "CBP3461EntryCredential",
        _delete("relatedResource/0/digestMultibase"),
        # the base rule (VC 2.0 §5.3: at least one digest) reports it; the schema one is suppressed
        [("RELATED_RESOURCE_INVALID", "/relatedResource/0")],
    ),
    # entry number
    (
        "entry-number-missing",
        "EntryNumberCredential",
        _delete("credentialSubject/entryNumber"),
        [(S, "/credentialSubject/entryNumber")],
    ),
    ("entry-number-missing-valid-from", "EntryNumberCredential", _delete("validFrom"), [(S, "/validFrom")]),
    (
        "entry-number-wrong-type-set",
        "EntryNumberCredential",
        _set("type", ["VerifiableCredential", "EntryNumberCredential", "EntryNumberCredential"]),
        [(S, "/type")],
    ),
    (
        "entry-number-unknown-context",
        "EntryNumberCredential",
        _set("@context", [CREDENTIALS_V2_URL, TRACEABILITY_V1_URL, "https://example.org/my-context"]),
        [(S, "/@context/2")],
    ),
    (
        "entry-number-without-traceability-context",
        "EntryNumberCredential",
        _set("@context", [CREDENTIALS_V2_URL, VCGATE_CONTEXT_URL]),
        [(S, "/@context")],
    ),
    (
        "entry-number-traceability-twice",
        "EntryNumberCredential",
        _set("@context", [CREDENTIALS_V2_URL, TRACEABILITY_V1_URL, VCGATE_CONTEXT_URL, TRACEABILITY_V1_URL]),
        [(S, "/@context")],
    ),
    # mill test report
    (
        "mtr-missing-carbon",
        "MillTestReportCredential",
        _delete("credentialSubject/inspections/0/chemicalComposition/c"),
        [(S, "/credentialSubject/inspections/0/chemicalComposition/c")],
    ),
    (
        "mtr-no-inspections",
        "MillTestReportCredential",
        _set("credentialSubject/inspections", []),
        [(S, "/credentialSubject/inspections")],
    ),
    (
        "mtr-missing-heat-number",
        "MillTestReportCredential",
        _delete("credentialSubject/inspections/0/heatNumber"),
        [(S, "/credentialSubject/inspections/0/heatNumber")],
    ),
    (
        "mtr-bad-transport",
        "MillTestReportCredential",
        _set("credentialSubject/meansOfTransport", "Air"),
        [(S, "/credentialSubject/meansOfTransport")],
    ),
    # product registration (upstream common/Product: no members beyond its own)
    (
        "product-unknown-subject-member",
        "ProductRegistrationCredential",
        _set("credentialSubject/licenseId", "ACME-MFG-LIC-2024-017"),
        [(S, "/credentialSubject/licenseId")],
    ),
    (
        "product-subject-without-type",
        "ProductRegistrationCredential",
        _delete("credentialSubject/type"),
        [(S, "/credentialSubject/type")],
    ),
    (
        "product-gtin-not-a-string",
        "ProductRegistrationCredential",
        _set("credentialSubject/gtin", 614141123452),
        [(S, "/credentialSubject/gtin")],
    ),
    (
        "product-manufacturer-raw-did-member",
        "ProductRegistrationCredential",
        _set("credentialSubject/manufacturer/did", "did:web:summit-garment.example.cn"),
        [(S, "/credentialSubject/manufacturer/did")],
    ),
    ("product-missing-id", "ProductRegistrationCredential", _delete("id"), [(S, "/id")]),
    # verification report
    (
        "report-unknown-verdict",
        "VerificationReport",
        _set("credentialSubject/entries/0/lines/0/verdict", "maybe"),
        [(S, "/credentialSubject/entries/0/lines/0/verdict")],
    ),
    (
        "report-missing-policy",
        "VerificationReport",
        _delete("credentialSubject/policyDigest"),
        [(S, "/credentialSubject/policyDigest")],
    ),
    (
        "report-bad-gtin",
        "VerificationReport",
        _set("credentialSubject/entries/0/lines/0/gtin", "ABC"),
        [(S, "/credentialSubject/entries/0/lines/0/gtin")],
    ),
    (
        "lacey-bad-hts",
        "LaceyActDeclarationCredential",
        _set("credentialSubject/htsNumber", "44-07"),
        [(S, "/credentialSubject/htsNumber")],
    ),
    # base rules take precedence over the schema at the same place: one mistake, one problem
    (
        "base-rule-suppresses-schema",
        "EntryNumberCredential",
        _set("validFrom", "yesterday"),
        [("DATETIME_INVALID", "/validFrom")],
    ),
]


@pytest.mark.parametrize(("case", "type_name", "mutate", "expected"), INVALID_CASES, ids=[c[0] for c in INVALID_CASES])
def test_invalid(case: str, type_name: str, mutate: Mutation, expected: list[tuple[str, str]]) -> None:
    vc = example(type_name)
    mutate(vc)
    problems = validate(vc)
    assert found(problems) == expected
    for problem in problems:
        assert problem.title == VALIDATION_PROBLEM_CODES[problem.code]
        assert problem.detail
        if problem.code == S:
            assert problem.extra["schema"] == type_name


def test_every_schema_has_valid_and_invalid_cases() -> None:
    types = set(known_credential_types())
    assert {c[1] for c in VALID_CASES} == types
    assert {c[1] for c in INVALID_CASES} == types


# --- base data-model rules on a credential of a type vcgate has no schema for
# -------------------------------------


def minimal() -> dict[str, Any]:
    return {
        "@context": [CREDENTIALS_V2_URL, "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:6a1c0b2e-8f1d-4c3e-b7a9-1d2e3f4a5b6c",
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "anything": "goes"},
    }


BASE_CASES: list[tuple[str, Mutation, list[tuple[str, str]]]] = [
    ("context-missing", _delete("@context"), [("CONTEXT_INVALID", "/@context")]),
    ("context-a-string", _set("@context", CREDENTIALS_V2_URL), [("CONTEXT_INVALID", "/@context")]),
    (
        "context-wrong-first",
        _set("@context", [TRACEABILITY_V1_URL, CREDENTIALS_V2_URL]),
        [("CONTEXT_INVALID", "/@context/0")],
    ),
    ("type-missing", _delete("type"), [("TYPE_INVALID", "/type")]),
    ("type-without-vc", _set("type", ["ExampleDegreeCredential"]), [("TYPE_INVALID", "/type")]),
    ("type-with-non-string", _set("type", ["VerifiableCredential", 7]), [("TYPE_INVALID", "/type")]),
    ("id-not-url", _set("id", "credential 42"), [("ID_INVALID", "/id")]),
    ("issuer-missing", _delete("issuer"), [("ISSUER_INVALID", "/issuer")]),
    ("issuer-object-without-id", _set("issuer", {"name": "Acme"}), [("ISSUER_INVALID", "/issuer/id")]),
    ("issuer-number", _set("issuer", 42), [("ISSUER_INVALID", "/issuer")]),
    ("issuer-plain-name", _set("issuer", "Acme Corp"), [("ISSUER_INVALID", "/issuer")]),
    ("subject-missing", _delete("credentialSubject"), [("CREDENTIAL_SUBJECT_MISSING", "/credentialSubject")]),
    (
        "subject-empty-array",
        _set("credentialSubject", []),
        [("CREDENTIAL_SUBJECT_INVALID", "/credentialSubject")],
    ),
    (
        "subject-string",
        _set("credentialSubject", "did:example:x"),
        [("CREDENTIAL_SUBJECT_INVALID", "/credentialSubject")],
    ),
    ("date-only", _set("validFrom", "2024-01-01"), [("DATETIME_INVALID", "/validFrom")]),
    ("no-timezone", _set("validFrom", "2024-01-01T00:00:00"), [("DATETIME_INVALID", "/validFrom")]),
    ("impossible-day", _set("validFrom", "2024-02-30T00:00:00Z"), [("DATETIME_INVALID", "/validFrom")]),
    (
        "offset-out-of-range",
        _set("validFrom", "2024-01-01T00:00:00+15:00"),
        [("DATETIME_INVALID", "/validFrom")],
    ),
    ("lowercase-z", _set("validFrom", "2024-01-01T00:00:00z"), [("DATETIME_INVALID", "/validFrom")]),
    ("date-not-string", _set("validUntil", 1735689600), [("DATETIME_INVALID", "/validUntil")]),
    (
        "ends-before-start",
        _set("validUntil", "2023-12-31T23:59:59Z"),
        [("VALIDITY_PERIOD_INVALID", "/validUntil")],
    ),
    (
        "ends-before-start-across-offsets",
        _set("validUntil", "2024-01-01T00:30:00+01:00"),
        [("VALIDITY_PERIOD_INVALID", "/validUntil")],
    ),
    (
        "v2-with-issuance-date",
        _set("issuanceDate", "2024-01-01T00:00:00Z"),
        [("DATA_MODEL_VERSION_MISMATCH", "/issuanceDate")],
    ),
    (
        "v1-without-issuance-date",
        _set("@context", [CREDENTIALS_V1_URL]),
        [("VALIDITY_START_MISSING", "/issuanceDate")],
    ),
    (
        "v1-expires-before-issued",
        _both(
            _set("@context", [CREDENTIALS_V1_URL]),
            _set("issuanceDate", "2024-01-02T00:00:00Z"),
            _set("expirationDate", "2024-01-01T00:00:00Z"),
        ),
        [("VALIDITY_PERIOD_INVALID", "/expirationDate")],
    ),
    (
        "several-at-once",
        _both(_delete("issuer"), _set("id", "x y"), _set("validFrom", "soon")),
        [("ID_INVALID", "/id"), ("ISSUER_INVALID", "/issuer"), ("DATETIME_INVALID", "/validFrom")],
    ),
]


@pytest.mark.parametrize(("case", "mutate", "expected"), BASE_CASES, ids=[c[0] for c in BASE_CASES])
def test_base_rule(case: str, mutate: Mutation, expected: list[tuple[str, str]]) -> None:
    vc = minimal()
    mutate(vc)
    assert found(validate(vc)) == expected


def test_unknown_type_gets_base_rules_only() -> None:
    vc = minimal()
    vc["somethingNoSchemaKnows"] = {"x": 1}
    assert validate(vc) == []


def test_valid_period_may_be_a_single_instant() -> None:
    vc = minimal()
    vc["validUntil"] = vc["validFrom"]
    assert validate(vc) == []


@pytest.mark.parametrize("value", [None, 42, "a string", ["a", "list"]])
def test_non_object_input_is_a_problem_not_an_exception(value: Any) -> None:
    assert found(validate(value)) == [("CREDENTIAL_NOT_OBJECT", "")]


def test_two_known_types_apply_both_schemas() -> None:
    vc = example("EntryNumberCredential")
    vc["type"].append("MillTestReportCredential")
    problems = validate(vc)
    # Rule R4 lets a credential carry more types, so the entry number schema is satisfied; the mill test
    # report
    # schema is applied too and wants its subject fields.
    assert {p.extra["schema"] for p in problems} == {"MillTestReportCredential"}
    assert ("SCHEMA_VIOLATION", "/credentialSubject/certificateNumber") in found(problems)
    assert ("SCHEMA_VIOLATION", "/credentialSubject/entryNumber") in found(problems)  # not allowed by the MTR
    assert ("SCHEMA_VIOLATION", "/type") not in found(problems)


def test_problem_renders_as_rfc9457() -> None:
    vc = example("EntryNumberCredential")
    del vc["credentialSubject"]["entryNumber"]
    (problem,) = validate(vc)
    rendered = problem.to_json()
    assert rendered["type"] == "https://w3id.org/vcgate/problems#SCHEMA_VIOLATION"
    assert rendered["pointer"] == "/credentialSubject/entryNumber"
    assert rendered["keyword"] == "required"


# --- the schema API
# ------------------------------------------------------------------------------------------------


def test_known_credential_types() -> None:
    assert known_credential_types() == (*FILES, "VerificationReport")


def test_schema_for_returns_an_independent_copy() -> None:
    schema = schema_for("EntryNumberCredential")
    assert schema is not None
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    schema["properties"].clear()
    again = schema_for("EntryNumberCredential")
    assert again is not None
    assert again["properties"]
    assert schema_for("NoSuchCredential") is None


@pytest.mark.parametrize(
    ("name", "pick"),
    [
        (
            "CBPImporterOfRecord",
            lambda: example("CBP3461EntryCredential")["credentialSubject"]["importerOfRecord"],
        ),
        ("LedgerEvidence", lambda: example("CommercialInvoiceCredential")["evidence"][0]),
    ],
)
def test_data_schemas(name: str, pick: Callable[[], dict[str, Any]]) -> None:
    schema = schema_for(name)
    assert schema is not None
    validator = Draft202012Validator(schema)
    good = pick()
    assert list(validator.iter_errors(good)) == []
    bad = copy.deepcopy(good)
    bad["type"] = ["SomethingElse"]
    errors = list(validator.iter_errors(bad))
    assert errors
    assert {e.absolute_path[0] for e in errors} == {"type"}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2024-05-01T00:00:00Z", True),
        ("2024-05-01T23:59:60Z", False),
        ("2024-05-01T12:00:00.5+05:30", True),
        ("2024-05-01T12:00:00-14:00", True),
        ("2024-05-01T12:00:00-14:01", False),
        ("2024-05-01T24:00:00Z", False),
        ("2024-5-01T00:00:00Z", False),
        ("2024-05-01t00:00:00Z", False),
    ],
)
def test_parse_date_time(text: str, ok: bool) -> None:
    assert (parse_date_time(text) is not None) is ok


def test_problem_codes_are_documented() -> None:
    doc = (ROOT / "docs" / "canonical-schemas.md").read_text(encoding="utf-8")
    table = {line.split("|")[1].strip().strip("`") for line in doc.splitlines() if line.startswith("| `")}
    assert set(VALIDATION_PROBLEM_CODES) <= table


@pytest.mark.parametrize(
    ("case", "type_name", "mutate"),
    [(c[0], c[1], c[2]) for c in VALID_CASES + [(i[0], i[1], i[2]) for i in INVALID_CASES]],
    ids=[c[0] for c in VALID_CASES] + [c[0] for c in INVALID_CASES],
)
def test_fast_prevalidator_agrees_with_jsonschema(case: str, type_name: str, mutate: Mutation) -> None:
    # validate() trusts jsonschema-rs's "valid" and only asks jsonschema for details when it says "invalid";
    # so the two must agree on every case.
    from vcgate.canonical_schema._schemas import compiled_validator, fast_validator

    vc = example(type_name)
    mutate(vc)
    for name in [type_name, *known_credential_types()]:
        if name in (vc.get("type") or []):
            python_ok = not list(compiled_validator(name).iter_errors(vc))
            assert fast_validator(name).is_valid(vc) is python_ok, name
