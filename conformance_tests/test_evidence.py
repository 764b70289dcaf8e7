"""Evidence: well-formed, verified offline against the pinned anchor, replayable from the published mapping, and
every tampering caught by the adapter's own evidence checker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vcgate.adapters.sdk import EVIDENCE_TYPE, LedgerEvidence, check_replay, format_datetime
from vcgate.canonical_schema import VcgateError
from vcgate.conformance_tests._adapter_harness import AdapterUnderTest, Sampled
from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import Findings, fail
from vcgate.conformance_tests._tamper import (
    tampered_heights,
    tampered_proof_material,
    tampered_records,
    with_evidence,
)


def _anchor(aut: AdapterUnderTest) -> dict[str, Any]:
    anchor = aut.settings.anchor
    if anchor is None:
        fail(
            "no trust anchor configured: add conformance.anchor (or anchorFile) to the adapter's configuration, "
            "in the shape its evidence checker expects"
        )
    return dict(anchor)


def _check(aut: AdapterUnderTest, credential: dict[str, Any], evidence: dict[str, Any]) -> tuple[str, str]:
    """(status, first problem) of the adapter's checker; an exception is itself a finding (checkers never raise)."""
    try:
        result = aut.adapter.evidence_checker().check(credential, evidence, _anchor(aut), at=aut.at)
    except Exception as exc:  # a checker must never raise on bad input; report what it raised
        return "raised", f"{type(exc).__name__}: {exc}"
    first = next((f"{p.code}: {p.detail}" for p in result.problems), "")
    return result.status, first


@conformance_case("EVD-001")
def test_evidence_well_formed(adapter_under_test: AdapterUnderTest) -> None:
    """Exactly one LedgerEvidence, parseable, about the record that was translated (ledger, locator, digest,
    height, time), naming a mapping describe() publishes; Translation.evidence is that same object."""
    findings = Findings()
    aut = adapter_under_test
    for s in aut.sample:
        where = s.record.locator
        c = s.credential
        items = [e for e in c.get("evidence") or [] if isinstance(e, dict) and EVIDENCE_TYPE in (e.get("type") or [])]
        if not findings.check(len(items) == 1, f"{where}: {len(items)} LedgerEvidence items, expected 1"):
            continue
        try:
            ev = LedgerEvidence.from_json(items[0])
        except VcgateError as exc:
            findings.add(f"{where}: malformed LedgerEvidence: {exc}")
            continue
        r = s.record
        expected = {
            "ledgerId": (ev.ledger_id, aut.info.ledger_id),
            "ledgerKind": (ev.ledger_kind, r.ledger_kind),
            "locator": (ev.locator, r.locator),
            "recordDigest": (ev.record_digest, r.record_digest()),
            "ledgerHeight": (ev.ledger_height, r.ledger_height),
            "ledgerTime": (ev.ledger_time, format_datetime(r.ledger_time)),
            "proofMaterial": (dict(ev.proof_material), dict(r.proof_material)),
            "nativeSigner": (dict(ev.native_signer), dict(r.native_signer)),
        }
        for name, (got, want) in expected.items():
            findings.check(got == want, f"{where}: evidence {name} is {got!r}, the record's is {want!r}")
        findings.check(
            aut.mapping_info(ev.mapping_id, ev.mapping_digest) is not None,
            f"{where}: evidence names mapping {ev.mapping_id} ({ev.mapping_digest}), which describe() does not list",
        )
        findings.check(
            dict(s.translation.evidence) == items[0], f"{where}: Translation.evidence differs from the credential's"
        )
    findings.done()


@conformance_case("EVD-002")
def test_evidence_verifies_against_anchor(adapter_under_test: AdapterUnderTest) -> None:
    """The adapter's offline checker says ``verified`` for every sampled translation, at ``conformance.at``."""
    findings = Findings()
    for s in adapter_under_test.sample:
        status, problem = _check(adapter_under_test, s.credential, dict(s.translation.evidence))
        findings.check(status == "verified", f"{s.record.locator}: evidence {status}: {problem}")
    findings.done()


@conformance_case("EVD-003")
def test_replay_rebuilds_the_credential(adapter_under_test: AdapterUnderTest) -> None:
    """``check_replay`` with the published mapping document (not the adapter's code) rebuilds everything but the
    proof: issuer, types, validity, status and subject."""
    findings = Findings()
    aut = adapter_under_test
    published = aut.published_mappings
    if not published:
        fail("no published mapping configured: list the mapping files under conformance.mappings")
    for s in aut.sample:
        ev = dict(s.translation.evidence)
        mapping = published.get((str(ev.get("mappingId")), str(ev.get("mappingDigest"))))
        if mapping is None:
            findings.add(
                f"{s.record.locator}: no published mapping has id {ev.get('mappingId')} and digest "
                f"{ev.get('mappingDigest')} (published: {', '.join(f'{i} {d}' for i, d in published)})"
            )
            continue
        record = None if "rawRecord" in ev else s.record.raw
        result = check_replay(s.credential, mapping, record=record)
        if result.status != "verified":
            problems = "; ".join(f"{p.code} {p.pointer}" for p in result.problems[:6])
            findings.add(f"{s.record.locator}: replay {result.status}: {problems}")
    findings.done()


def _tamper_case(aut: AdapterUnderTest, variants: Callable[[dict[str, Any]], list[tuple[str, dict[str, Any]]]]) -> None:
    findings = Findings()
    baseline: list[Sampled] = []
    for s in aut.sample:
        status, _ = _check(aut, s.credential, dict(s.translation.evidence))
        if status == "verified":
            baseline.append(s)
    if not baseline:
        fail("no sampled evidence verifies (see EVD-002), so tamper detection cannot be shown")
    tried = 0
    for s in baseline:
        for label, tampered in variants(dict(s.translation.evidence)):
            tried += 1
            status, _ = _check(aut, with_evidence(s.credential, tampered), tampered)
            findings.check(status in ("invalid", "error"), f"{s.record.locator}: {label}: checker says {status}")
    findings.check(tried > 0, "nothing to tamper with: the evidence carries no such data")
    findings.done()


@conformance_case("EVD-004")
def test_tampered_record_caught(adapter_under_test: AdapterUnderTest) -> None:
    """Record bytes flipped (with recordDigest left, and recomputed to match) are not verified."""
    _tamper_case(adapter_under_test, tampered_records)


@conformance_case("EVD-005")
def test_tampered_proof_material_caught(adapter_under_test: AdapterUnderTest) -> None:
    """Every scalar of proofMaterial, changed on its own, makes the evidence not verified: proof material the
    checker does not bind is a claim nobody checks."""
    _tamper_case(adapter_under_test, tampered_proof_material)


@conformance_case("EVD-006")
def test_tampered_height_caught(adapter_under_test: AdapterUnderTest) -> None:
    """ledgerHeight one up or down is not verified."""
    _tamper_case(adapter_under_test, tampered_heights)
