"""Canonical schema: translations validate against the canonical JSON Schema of their types."""

from __future__ import annotations

from vcgate.adapters.sdk import EVIDENCE_TYPE
from vcgate.canonical_schema import known_credential_types, validate
from vcgate.conformance_tests._adapter_harness import AdapterUnderTest
from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import Findings


@conformance_case("SCH-001")
def test_translations_validate(adapter_under_test: AdapterUnderTest) -> None:
    """``validate()`` reports nothing for any sampled translation."""
    findings = Findings()
    for s in adapter_under_test.sample:
        for p in validate(s.credential):
            findings.add(f"{s.record.locator}: {p.code} at {p.pointer or '/'}: {p.detail}")
    findings.done()


@conformance_case("SCH-002")
def test_published_types_have_schemas(adapter_under_test: AdapterUnderTest) -> None:
    """Each mapping's credential types include one that vcgate has a canonical schema for."""
    findings = Findings()
    known = set(known_credential_types())
    for m in adapter_under_test.info.mappings:
        specific = [t for t in m.types if t != "VerifiableCredential"]
        findings.check(
            bool(set(specific) & known),
            f"mapping {m.id} publishes types {list(m.types)}, none of which has a canonical schema "
            f"(known: {', '.join(sorted(known))})",
        )
    findings.done()


@conformance_case("SCH-003")
def test_types_match_mapping(adapter_under_test: AdapterUnderTest) -> None:
    """A translation's ``type`` is exactly the type list of the mapping its evidence names."""
    findings = Findings()
    for s in adapter_under_test.sample:
        c = s.credential
        evidence = [
            e for e in c.get("evidence") or [] if isinstance(e, dict) and EVIDENCE_TYPE in (e.get("type") or [])
        ]
        if len(evidence) != 1:
            findings.add(f"{s.record.locator}: no single LedgerEvidence naming a mapping")
            continue
        info = adapter_under_test.mapping_info(str(evidence[0].get("mappingId")), str(evidence[0].get("mappingDigest")))
        if info is None:
            findings.add(f"{s.record.locator}: the evidence names a mapping describe() does not publish")
            continue
        findings.check(
            c.get("type") == list(info.types),
            f"{s.record.locator}: type is {c.get('type')!r}, the mapping declares {list(info.types)!r}",
        )
    findings.done()
