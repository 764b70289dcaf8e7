"""The one check type and the one overall-status rule (ADR 0010)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcgate.adapters import sdk
from vcgate.canonical_schema import Check, CheckStatus, CheckSummary, Problem, overall_status

PROBLEM = Problem("X_WRONG", "Wrong", "detail", "/a")


def _check(status: CheckStatus, i: int) -> Check:
    problems = (PROBLEM,) if status in (CheckStatus.FAILED, CheckStatus.ERROR) else ()
    return Check(f"c{i}", status, problems)


@given(st.lists(st.sampled_from(list(CheckStatus)), max_size=12))
def test_overall_status_is_the_one_rule(statuses: list[CheckStatus]) -> None:
    checks = [_check(s, i) for i, s in enumerate(statuses)]
    overall = overall_status(checks)
    if CheckStatus.FAILED in statuses:
        assert overall == "invalid"
    elif CheckStatus.ERROR in statuses or CheckStatus.PASSED not in statuses:
        assert overall == "error"
    else:
        assert overall == "verified"
    # Order never matters, and the SDK's result containers use the same rule.
    assert overall_status(reversed(checks)) == overall
    assert sdk.EvidenceResult(tuple(checks)).status == overall


@pytest.mark.parametrize(
    ("statuses", "overall"),
    [
        ((), "error"),  # nothing checked proves nothing
        ((CheckStatus.NOT_APPLICABLE, CheckStatus.NOT_APPLICABLE), "error"),
        ((CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE), "verified"),
        ((CheckStatus.PASSED, CheckStatus.ERROR), "error"),
        ((CheckStatus.ERROR, CheckStatus.FAILED, CheckStatus.PASSED), "invalid"),
    ],
)
def test_overall_status_examples(statuses: tuple[CheckStatus, ...], overall: str) -> None:
    assert overall_status(_check(s, i) for i, s in enumerate(statuses)) == overall


def test_sdk_reexports_the_canonical_type() -> None:
    assert sdk.Check is Check
    assert sdk.CheckStatus is CheckStatus
    assert sdk.overall_status is overall_status


def test_strings_become_the_enum_and_unknown_statuses_are_refused() -> None:
    c = Check("x", "failed", [PROBLEM])  # type: ignore[arg-type]  # what JSON-fed callers pass
    assert c.status is CheckStatus.FAILED
    assert c.problems == (PROBLEM,)
    assert c.status == "failed"
    with pytest.raises(ValueError, match="maybe"):
        Check("x", "maybe")  # type: ignore[arg-type]


def test_constructors_and_json_round_trip() -> None:
    two = Problem("Y_WRONG", "Also wrong")
    c = Check.failed("evidence.anchor", (PROBLEM, two), "evidence", detail="two reasons")
    assert c.problem == PROBLEM
    assert c.to_json() == {
        "name": "evidence.anchor",
        "stage": "evidence",
        "status": "failed",
        "detail": "two reasons",
        "problems": [PROBLEM.to_json(), two.to_json()],
    }
    assert Check.from_json(c.to_json()) == c
    # Empty members are left out: an adapter's check (no stage) keeps the remote protocol's shape.
    assert Check.not_applicable("x").to_json() == {"name": "x", "status": "not_applicable"}
    assert Check.passed("p", "proof").problem is None


def test_from_json_reads_results_cached_before_adr_0010() -> None:
    old = {"name": "signature", "stage": "proof", "status": "error", "problem": PROBLEM.to_json()}
    assert Check.from_json(old) == Check.errored("signature", PROBLEM, "proof")
    with pytest.raises(ValueError, match="problems must be an array"):
        Check.from_json({"name": "x", "status": "passed", "problems": {}})


def test_summary_lists_problems_of_failed_and_errored_checks_only() -> None:
    class Result(CheckSummary):
        def __init__(self, checks: tuple[Check, ...]) -> None:
            self.checks = checks

    warning = Check("strict_terms", CheckStatus.PASSED, (Problem("W", "warning"),), stage="data_model")
    result = Result((warning, Check.errored("a", PROBLEM), Check.failed("b", PROBLEM)))
    assert result.problems == [PROBLEM, PROBLEM]
    assert result.status == "invalid"
    assert not result.verified
    assert Result((warning,)).verified
