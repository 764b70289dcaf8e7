"""The vector cases: vcgate's verifier passes every one; a verifier with a lax policy fails exactly the cases its
laxness lets through (so the vectors can fail)."""

from __future__ import annotations

from vcgate.conformance_tests import catalogue
from vcgate.conformance_tests._vc_api import LibraryVerifier, VerifyOutcome
from vcgate.conformance_tests._vectors import VectorCase, judge, vector_cases
from vcgate.gateway import Policy

from .conftest import run


def test_vcgate_verifier_passes_every_vector() -> None:
    result = run("verifier:vcgate")
    assert result.exit_code == 0
    assert result.report is not None
    assert result.passed
    assert {c.id for c in result.report.cases} == {i for i, c in catalogue().items() if c.applies_to("verifier")}
    assert len(result.report.cases) == 36


def test_lax_policy_fails_exactly_the_cases_it_lets_through() -> None:
    raw = dict(Policy.default().raw)
    raw.update(
        name="lax",
        unsafe_skip_schema=True,  # no data-model rules and no JSON Schemas
        undefined_terms_allowed={"VerifiableCredential": ["undefinedTermForConformance"]},
    )
    lax = LibraryVerifier(Policy.from_mapping(raw))
    failed = {v.id for v in vector_cases() if judge(v, lax.verify_bytes(v.document_bytes())) is not None}
    assert failed == {"DM-103", "DM-104", "DM-105", "DM-106", "DM-107", "DM-108", "DM-109", "SCH-101", "SEC-103"}


def _vector(case_id: str) -> VectorCase:
    return next(v for v in vector_cases() if v.id == case_id)


def test_judge_of_http_answers() -> None:
    invalid = _vector("SEC-103")
    assert judge(invalid, VerifyOutcome("invalid", frozenset({"UNDEFINED_TERM"}), "", 400)) is None
    # A foreign endpoint without vcgate's codes is judged on verdict and status only.
    assert judge(invalid, VerifyOutcome("invalid", frozenset(), "", 400)) is None
    assert judge(invalid, VerifyOutcome("invalid", frozenset({"SIGNATURE_INVALID"}), "", 400)) == (
        "rejected, but not for the stated reason: expected one of ['UNDEFINED_TERM'], got invalid ()"
    )
    assert judge(invalid, VerifyOutcome("verified", frozenset(), "", 200)) == ("HTTP 200, expected [400]: verified ()")
    assert judge(invalid, VerifyOutcome("error", frozenset(), "", 503)) == "HTTP 503, expected [400]: error ()"
    oversized = _vector("SEC-102")
    assert judge(oversized, VerifyOutcome("invalid", frozenset({"REQUEST_TOO_LARGE"}), "", 413)) is None
    w3c = _vector("PRF-101")
    assert judge(w3c, VerifyOutcome("invalid", frozenset({"ISSUER_KEY_MISMATCH"}), "", 400)) is None
    assert judge(w3c, VerifyOutcome("invalid", frozenset({"SIGNATURE_INVALID"}), "", 400)) is not None
    assert judge(w3c, VerifyOutcome("invalid", frozenset(), "", 400)) is not None
    valid = _vector("DM-102")
    assert judge(valid, VerifyOutcome("verified", frozenset(), "", 200)) is None
    assert judge(valid, VerifyOutcome("invalid", frozenset({"X"}), "", 400)) == ("HTTP 400, expected [200]: invalid ()")


def test_undefined_term_fails_on_the_rdfc_fast_path_too() -> None:
    """SEC-103 is refused the first time (PyLD) and after the fast path compiled its shape (second sighting on)."""
    from vcgate.gateway.verification._rdfc_fast import fast_stats

    vector = _vector("SEC-103")
    verifier = LibraryVerifier()
    answered = fast_stats().answered
    for _ in range(3):
        outcome = verifier.verify_bytes(vector.document_bytes())
        assert outcome.verdict == "invalid"
        assert "UNDEFINED_TERM" in outcome.codes
        assert outcome.proof_verified  # the signature is sound: only the strict-terms check refuses it
    assert fast_stats().answered > answered  # the compiled path answered at least once
