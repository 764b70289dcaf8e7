"""Data model (VC 2.0): the shape of every translation the adapter under test produces."""

from __future__ import annotations

import re

from vcgate.adapters.sdk import EVIDENCE_TYPE, credential_id, parse_datetime
from vcgate.canonical_schema import CANONICAL_CONTEXT, VcgateError, validate
from vcgate.conformance_tests._adapter_harness import AdapterUnderTest
from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import Findings

_DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._%:-]*[A-Za-z0-9._%-]$")
#: VC 2.0 §4.9: validFrom/validUntil are xsd:dateTimeStamp (a zone is required).
_DATE_TIME_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _ledger_evidence(credential: dict[str, object]) -> dict[str, object] | None:
    items = credential.get("evidence")
    if not isinstance(items, list):
        return None
    found = [e for e in items if isinstance(e, dict) and EVIDENCE_TYPE in (e.get("type") or [])]
    return found[0] if len(found) == 1 else None


@conformance_case("DM-001")
def test_base_rules(adapter_under_test: AdapterUnderTest) -> None:
    """Base rules (context, type, id, issuer, subject, dates) hold; schema problems are SCH-001's business."""
    findings = Findings()
    for s in adapter_under_test.sample:
        for p in validate(s.credential):
            if p.code != "SCHEMA_VIOLATION":
                findings.add(f"{s.record.locator}: {p.code} at {p.pointer or '/'}: {p.detail}")
    findings.done()


@conformance_case("DM-002")
def test_canonical_context(adapter_under_test: AdapterUnderTest) -> None:
    """The @context is the canonical list: credentials/v2, traceability/v1, vcgate/v1, in that order."""
    findings = Findings()
    for s in adapter_under_test.sample:
        context = s.credential.get("@context")
        findings.check(
            context == list(CANONICAL_CONTEXT),
            f"{s.record.locator}: @context is {context!r}, expected {list(CANONICAL_CONTEXT)!r}",
        )
    findings.done()


@conformance_case("DM-003")
def test_derived_ids(adapter_under_test: AdapterUnderTest) -> None:
    """id = credential_id(ledger id, locator, mapping id, mapping digest), so one record under one mapping always
    gets one id."""
    findings = Findings()
    for s in adapter_under_test.sample:
        credential = s.credential
        evidence = _ledger_evidence(credential)
        if evidence is None:
            findings.add(f"{s.record.locator}: no single LedgerEvidence to derive the id from")
            continue
        try:
            expected = credential_id(
                s.record.ledger_id, s.record.locator, str(evidence.get("mappingId")), str(evidence.get("mappingDigest"))
            )
        except VcgateError as exc:
            findings.add(f"{s.record.locator}: cannot derive the id: {exc}")
            continue
        findings.check(
            credential.get("id") == expected,
            f"{s.record.locator}: id is {credential.get('id')!r}, the derivation gives {expected}",
        )
    findings.done()


@conformance_case("DM-004")
def test_validity_dates(adapter_under_test: AdapterUnderTest) -> None:
    """validFrom is present; both dates are dateTimeStamps; validUntil is not before validFrom; no VC 1.1 dates."""
    findings = Findings()
    for s in adapter_under_test.sample:
        c = s.credential
        where = s.record.locator
        for old in ("issuanceDate", "expirationDate"):
            findings.check(old not in c, f"{where}: VC 1.1 field {old} in a VC 2.0 credential")
        start = c.get("validFrom")
        if not findings.check(isinstance(start, str), f"{where}: validFrom is missing"):
            continue
        assert isinstance(start, str)
        if not findings.check(bool(_DATE_TIME_STAMP.match(start)), f"{where}: validFrom {start!r} has no zone"):
            continue
        end = c.get("validUntil")
        if end is None:
            continue
        if not isinstance(end, str) or not _DATE_TIME_STAMP.match(end):
            findings.add(f"{where}: validUntil {end!r} is not a dateTimeStamp")
        elif parse_datetime(end) < parse_datetime(start):
            findings.add(f"{where}: validUntil {end} is before validFrom {start}")
    findings.done()


@conformance_case("DM-005")
def test_issuer(adapter_under_test: AdapterUnderTest) -> None:
    """The issuer is a DID, and the evidence's issuance mode is the one the named mapping publishes."""
    findings = Findings()
    for s in adapter_under_test.sample:
        c = s.credential
        issuer = c.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
        findings.check(
            isinstance(issuer_id, str) and bool(_DID.match(issuer_id)),
            f"{s.record.locator}: issuer {issuer_id!r} is not a DID",
        )
        evidence = _ledger_evidence(c)
        if evidence is None:
            findings.add(f"{s.record.locator}: no single LedgerEvidence naming the issuance mode")
            continue
        info = adapter_under_test.mapping_info(str(evidence.get("mappingId")), str(evidence.get("mappingDigest")))
        if info is None:
            findings.add(f"{s.record.locator}: the evidence names a mapping describe() does not publish")
            continue
        findings.check(
            evidence.get("issuanceMode") == info.issuance_mode,
            f"{s.record.locator}: issuanceMode {evidence.get('issuanceMode')!r}, the mapping says {info.issuance_mode}",
        )
    findings.done()
