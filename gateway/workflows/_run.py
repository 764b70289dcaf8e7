"""One entry through a workflow: a table of step kinds (``check``, ``choose``, ``reconcile``) and the verdict rule.

Every step records a structured result (name, status, reason code, clause, credential and evidence ids, ledger
heights, the deciding rule and its duration) that reports and pages render as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .._links import (
    ERROR_CODES,
    RULE_CREDENTIAL,
    CredentialView,
    EntryVerdict,
    LineVerdict,
    Reason,
    Step,
    StepStatus,
    Verdict,
    combine,
)
from ._engine import (
    EXPRESSION_ERROR,
    UNIT_ERROR,
    ClaimLedger,
    ExpressionFailedError,
    WorkflowEntry,
    convert_units,
)
from ._model import Outcome, Quantity
from ._model import Step as StepSpec

if TYPE_CHECKING:
    from ._engine import WorkflowSession

# A semantic failure of one candidate: (code, clause, detail, status, rule).
_Failure = tuple[str, str, str, StepStatus, str]


def run_entry(
    session: WorkflowSession,
    entry: WorkflowEntry,
    checked_at: datetime,
    claims: ClaimLedger,
    policy: str,
    policy_digest: str,
) -> EntryVerdict:
    wf = session.workflow
    scope: dict[str, Any] = {"entry": dict(entry.fields), "at": entry.date, "territory": session.territory}
    for s in wf.steps:
        if s.kind == "choose":
            scope[s.bind or s.name] = None
    shared: list[Step] = []
    for s in wf.steps:
        if s.scope == "entry":
            shared.extend(_run_step(session, s, scope, claims))
    lines = [_run_line(session, entry, ln, dict(scope), shared, claims) for ln in entry.lines]
    used = {c for ln in lines for c in ln.credentials}
    views = [session.graph.views[c] for c in sorted(used) if c in session.graph.views]
    return EntryVerdict(
        entry_key=entry.key,
        entry_number=entry.number,
        verdict=combine(ln.verdict for ln in lines),
        lines=tuple(lines),
        policy=policy,
        policy_digest=policy_digest,
        effective_at=entry.date,
        checked_at=checked_at,
        credentials=tuple(views),
        workflow=wf.name,
        workflow_version=wf.version,
        workflow_digest=wf.digest,
    )


def _run_line(
    session: WorkflowSession,
    entry: WorkflowEntry,
    line: Mapping[str, Any],
    scope: dict[str, Any],
    shared: list[Step],
    claims: ClaimLedger,
) -> LineVerdict:
    wf = session.workflow
    scope["line"] = dict(line)
    steps = list(shared)
    for s in wf.steps:
        if s.scope == "line":
            steps.extend(_run_step(session, s, scope, claims))
    failed = [s for s in steps if s.status == "failed"]
    errored = [s for s in steps if s.status == "error"]
    verdict: Verdict
    if failed:
        verdict = "not_authorized"
        reasons = tuple(Reason(s.code, "fail", s.name, s.clause, s.detail) for s in failed)
        reasons += tuple(Reason(s.code, "error", s.name, s.clause, s.detail) for s in errored)
    elif errored:
        verdict = "undetermined"
        reasons = tuple(Reason(s.code, "error", s.name, s.clause, s.detail) for s in errored)
    else:
        verdict = "authorized"
        ok = wf.authorized
        reasons = (Reason(ok.reason, "pass", "chain", ok.clause, session.text(ok.detail, scope)),)
    quantity = line.get(wf.line_quantity)
    return LineVerdict(
        int(line.get("line", 0)),
        str(line.get(wf.line_key, "")),
        quantity if isinstance(quantity, (int, float)) and not isinstance(quantity, bool) else 0,
        verdict,
        reasons,
        tuple(steps),
    )


def _run_step(session: WorkflowSession, spec: StepSpec, scope: dict[str, Any], claims: ClaimLedger) -> list[Step]:
    start = session.timer()
    try:
        for name, expr in spec.lets:
            scope[name] = session.evaluate(expr, scope)
        if spec.when is not None and not session.holds(spec.when, scope):
            if spec.kind == "choose":
                scope[spec.bind or spec.name] = None
            if spec.skipped is None:
                return []
            step = Step(
                spec.name, "skipped", spec.skipped.reason, spec.skipped.clause, session.text(spec.skipped.detail, scope)
            )
        else:
            step = _KINDS[spec.kind](session, spec, scope, claims)
    except ExpressionFailedError as exc:
        if spec.kind == "choose":
            scope[spec.bind or spec.name] = None
        step = Step(spec.name, "error", EXPRESSION_ERROR, f"workflow:{session.workflow.name}/{spec.name}", exc.detail)
    if spec.record == "on_failure" and step.status == "passed":
        return []
    return [replace(step, duration_us=(session.timer() - start) // 1000)]


def _outcome_step(
    session: WorkflowSession, spec: StepSpec, outcome: Outcome, status: StepStatus, scope: Mapping[str, Any]
) -> Step:
    return Step(spec.name, status, outcome.reason, outcome.clause, session.text(outcome.detail, scope))


def _step_credentials(session: WorkflowSession, spec: StepSpec, scope: Mapping[str, Any]) -> list[CredentialView]:
    if spec.credentials is None:
        return []
    ids = session.evaluate(spec.credentials, scope)
    ids = ids if isinstance(ids, list) else [ids]
    return [session.graph.views[i] for i in ids if isinstance(i, str) and i in session.graph.views]


# -- check ------------------------------------------------------------------------------------------------------


def _check(session: WorkflowSession, spec: StepSpec, scope: dict[str, Any], claims: ClaimLedger) -> Step:
    del claims
    ids, ev, hs = _refs(_step_credentials(session, spec, scope))
    for rule in spec.rules:
        failure = _rule_failure(session, rule.checks, rule.name, scope)
        if failure is not None:
            code, clause, detail, status, name = failure
            return Step(spec.name, status, code, clause, detail, ids, ev, hs, rule=name)
    passed = spec.passed or Outcome("OK", "", None)
    return Step(spec.name, "passed", passed.reason, passed.clause, session.text(passed.detail, scope), ids, ev, hs)


def _rule_failure(
    session: WorkflowSession, checks: Sequence[Any], rule: str, scope: Mapping[str, Any]
) -> _Failure | None:
    for c in checks:
        try:
            ok = session.holds(c.expr, scope)
        except ExpressionFailedError as exc:
            return EXPRESSION_ERROR, c.clause, exc.detail, "error", rule
        if not ok:
            status: StepStatus = "error" if c.failure == "undetermined" else "failed"
            return c.reason, c.clause, session.text(c.detail, scope), status, rule
    return None


# -- choose -----------------------------------------------------------------------------------------------------


def _order(v: CredentialView) -> tuple[str, str]:
    # Prefer the most recently recorded credential, then the id: deterministic whatever the store order.
    t = v.ledger_time
    return ("" if t is None else t.isoformat()), v.id


def _choose(session: WorkflowSession, spec: StepSpec, scope: dict[str, Any], claims: ClaimLedger) -> Step:
    """Pick the candidate that satisfies every rule and is verified (docs/workflows.md, "choose").

    When none does: a candidate whose content would satisfy but that is ``error`` makes the step ``error`` (it might
    be the good one); else one whose content would satisfy but that is ``invalid`` decides with its credential failure
    (forged proof, tampered evidence, revoked); else the verified candidate closest to passing decides with its first
    failing rule.
    """
    del claims
    bind = spec.bind or spec.name
    scope[bind] = None
    assert spec.candidates is not None
    assert spec.missing is not None
    found = session.evaluate(spec.candidates, scope)
    ids = {c["id"] if isinstance(c, Mapping) else c for c in (found if isinstance(found, list) else [])}
    views = [session.graph.views[i] for i in ids if isinstance(i, str) and i in session.graph.views]
    if spec.where is not None:
        views = [v for v in views if session.holds(spec.where, dict(scope, it=session.view(v.id)))]
    ordered = sorted(views, key=_order, reverse=True)
    if not ordered:
        status: StepStatus = "error" if spec.missing.failure == "undetermined" else "failed"
        return _outcome_step(session, spec, spec.missing, status, scope)
    failures: dict[str, list[_Failure]] = {}
    for v in ordered:
        it = dict(scope, it=session.view(v.id))
        failures[v.id] = [f for r in spec.rules if (f := _rule_failure(session, r.checks, r.name, it)) is not None]
    step, chosen = _decide(spec.name, ordered, failures)
    if step.code in spec.rename:
        step = replace(step, code=spec.rename[step.code])
    if chosen is not None and step.status == "passed":
        scope[bind] = session.view(chosen.id)
    return step


def _decide(
    name: str, ordered: list[CredentialView], failures: Mapping[str, list[_Failure]]
) -> tuple[Step, CredentialView | None]:
    for v in ordered:
        if v.status == "verified" and not failures[v.id]:
            return Step(name, "passed", "OK", RULE_CREDENTIAL, "", *_refs([v])), v
    for wanted in ("error", "invalid"):
        for v in ordered:
            if v.status == wanted and not failures[v.id]:
                code = v.failure or ("CREDENTIAL_UNDECIDED" if wanted == "error" else "CREDENTIAL_INVALID")
                status: StepStatus = "error" if code in ERROR_CODES else "failed"
                return Step(name, status, code, failure_clause(v), v.failure_detail, *_refs([v])), v
    best = min((v for v in ordered if v.status == "verified"), key=lambda v: len(failures[v.id]), default=None)
    if best is None:
        best = min(ordered, key=lambda v: len(failures[v.id]))
        if best.status != "verified" and best.failure:
            st: StepStatus = "error" if best.failure in ERROR_CODES else "failed"
            return Step(name, st, best.failure, failure_clause(best), best.failure_detail, *_refs([best])), best
    code, clause, detail, status2, rule = failures[best.id][0]
    return Step(name, status2, code, clause, detail, *_refs([best]), rule=rule), None


def failure_clause(v: CredentialView) -> str:
    """The clause behind a credential-level failure: the trust clause for anchor/permission problems, else the rule
    that every credential a workflow relies on must verify."""
    return _FAILURE_CLAUSES.get(v.failure or "", RULE_CREDENTIAL)


_FAILURE_CLAUSES = {
    "EVIDENCE_UNANCHORED": "trust.anchors",
    "LEDGER_STALE": "trust.freshness.revocation",
    "LEDGER_UNREACHABLE": "trust.freshness.revocation",
    "STATUS_UNDECIDED": "trust.freshness.status",
    "ISSUER_NOT_PERMITTED": "trust.issuer_permissions",
    "EVIDENCE_KIND_NOT_ACCEPTED": "trust.required_evidence",
    "WITNESS_NOT_ACCEPTED": "trust.witness_mode",
}


def _refs(views: Sequence[CredentialView]) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, int]]:
    ids: list[str] = []
    ev: list[str] = []
    heights: dict[str, int] = {}
    for v in views:
        ids.append(v.id)
        for e in v.evidence:
            ev.append(e.id)
            heights[e.ledger_id] = max(heights.get(e.ledger_id, e.ledger_height), e.ledger_height)
    return tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(ev)), heights


# -- reconcile --------------------------------------------------------------------------------------------------


def _amount(session: WorkflowSession, q: Quantity, scope: Mapping[str, Any]) -> tuple[Decimal, str | None]:
    value = session.evaluate(q.expr, scope)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionFailedError(q.expr, f"an amount must be a number, not {type(value).__name__}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ExpressionFailedError(q.expr, f"{value!r} is not a number") from None
    if not amount.is_finite():
        raise ExpressionFailedError(q.expr, f"{value!r} is not a finite number")
    unit = q.unit
    if q.unit_expr is not None:
        u = session.evaluate(q.unit_expr, scope)
        unit = u if isinstance(u, str) and u else None
    return amount, unit


def _number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def _reconcile(session: WorkflowSession, spec: StepSpec, scope: dict[str, Any], claims: ClaimLedger) -> Step:
    assert spec.claimed is not None
    assert spec.against is not None
    assert spec.exceeded is not None
    ids, ev, hs = _refs(_step_credentials(session, spec, scope))
    claimed, claimed_unit = _amount(session, spec.claimed, scope)
    available, unit = _amount(session, spec.against, scope)
    if claimed_unit and unit and claimed_unit != unit:
        try:
            claimed = convert_units(claimed, claimed_unit, unit)
        except ValueError as exc:
            clause = spec.exceeded.clause
            return Step(spec.name, "error", UNIT_ERROR, clause, str(exc), ids, ev, hs)
    tolerance = spec.tolerance_absolute + spec.tolerance_relative * abs(available)
    if spec.mode == "cumulative":
        key = (spec.name, *_key(session, spec, scope))
        book = claims.setdefault(key, {})
        before = sum((q for who, q in book.items() if _counts(session, spec, scope, who)), Decimal(0))
        total = before + claimed
        mine = _claimant(session, spec, scope)
        book[mine] = book.get(mine, Decimal(0)) + claimed
        over = total > available + tolerance
    else:
        before, total = Decimal(0), claimed
        over = abs(claimed - available) > tolerance
    numbers = {
        "claimed": _number(claimed),
        "available": _number(available),
        "before": _number(before),
        "total": _number(total),
        "unit": unit or claimed_unit or "",
    }
    local = dict(scope, **numbers)
    if over:
        status: StepStatus = "error" if spec.exceeded.failure == "undetermined" else "failed"
        o = spec.exceeded
        return Step(spec.name, status, o.reason, o.clause, session.text(o.detail, local), ids, ev, hs)
    passed = spec.passed or Outcome("OK", spec.exceeded.clause, None)
    return Step(spec.name, "passed", passed.reason, passed.clause, session.text(passed.detail, local), ids, ev, hs)


def _claimant(session: WorkflowSession, spec: StepSpec, scope: Mapping[str, Any]) -> str | None:
    if spec.claimant is None:
        return None
    who = session.evaluate(spec.claimant, scope)
    return who if isinstance(who, str) else None


def _counts(session: WorkflowSession, spec: StepSpec, scope: Mapping[str, Any], who: str | None) -> bool:
    # Which earlier claims count against this one (``counts``: e.g. only the invoice buyer's own claims).
    if spec.counts is None:
        return True
    return session.holds(spec.counts, dict(scope, claimant=who))


def _key(session: WorkflowSession, spec: StepSpec, scope: Mapping[str, Any]) -> tuple[str, ...]:
    if spec.key is None:
        return ()
    value = session.evaluate(spec.key, scope)
    items = value if isinstance(value, list) else [value]
    return tuple("" if v is None else str(v) for v in items)


_KINDS: dict[str, Callable[..., Step]] = {"check": _check, "choose": _choose, "reconcile": _reconcile}
