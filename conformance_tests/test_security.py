"""Security: what a translation must never contain (unpinned contexts, undefined terms, oversized input)."""

from __future__ import annotations

import json

from vcgate.canonical_schema import pinned_contexts
from vcgate.conformance_tests._adapter_harness import AdapterUnderTest
from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import Findings
from vcgate.gateway import CanonicalizationError, Policy, parse_json_strictly, undefined_terms


@conformance_case("SEC-001")
def test_only_pinned_contexts(adapter_under_test: AdapterUnderTest) -> None:
    """Every @context entry is the URL of a pinned context (no inline contexts, nothing to fetch)."""
    findings = Findings()
    pinned = pinned_contexts()
    for s in adapter_under_test.sample:
        context = s.credential.get("@context")
        entries = context if isinstance(context, list) else [context]
        for entry in entries:
            findings.check(
                isinstance(entry, str) and entry in pinned,
                f"{s.record.locator}: @context entry {entry!r} is not a pinned context",
            )
    findings.done()


@conformance_case("SEC-002")
def test_no_undefined_terms(adapter_under_test: AdapterUnderTest) -> None:
    """JSON-LD expansion under the pinned contexts drops nothing and maps nothing to ``issuer-dependent#``."""
    findings = Findings()
    for s in adapter_under_test.sample:
        try:
            terms = undefined_terms(s.credential)
        except CanonicalizationError as exc:
            findings.add(f"{s.record.locator}: cannot expand: {exc.code}: {exc}")
            continue
        findings.check(not terms, f"{s.record.locator}: undefined terms {', '.join(sorted(set(terms)))}")
    findings.done()


@conformance_case("SEC-003")
def test_within_verifier_limits(adapter_under_test: AdapterUnderTest) -> None:
    """Each translation fits the default policy's size and nesting limits, leaving room for the proof."""
    findings = Findings()
    policy = Policy.default()
    # A proof adds well under 2 KiB; a translation must leave that much room under the limit.
    budget = policy.max_credential_bytes - 2048
    for s in adapter_under_test.sample:
        data = json.dumps(s.credential).encode("utf-8")
        findings.check(len(data) <= budget, f"{s.record.locator}: {len(data)} bytes > {budget}")
        _, check = parse_json_strictly(data, max_bytes=budget, max_depth=policy.max_json_depth - 2)
        findings.check(
            check.status == "passed",
            f"{s.record.locator}: {check.problem.code if check.problem else check.status}",
        )
    findings.done()
