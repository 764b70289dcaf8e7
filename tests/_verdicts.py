"""Shared test helper: a credential that is sound in every stage that needs no ledger provider, but whose ledger
evidence reaches no pinned anchor, so the one verifier calls it ``error``, never ``verified`` (issue 11)."""

from __future__ import annotations

from vcgate.gateway import VerificationResult

#: Stages whose errors come only from missing providers when no anchor, registry, mapping or ledger read is given.
LEDGER_STAGES = frozenset({"evidence", "binding", "replay", "status"})


def sound_but_unanchored(result: VerificationResult) -> bool:
    """Every check passed or did not apply, except errors of the ledger stages, among them EVIDENCE_UNANCHORED."""
    bad = [c for c in result.checks if c.status not in ("passed", "not_applicable")]
    codes = {c.problem.code for c in bad if c.problem}
    return (
        result.status == "error"
        and all(c.status == "error" and c.stage in LEDGER_STAGES for c in bad)
        and "EVIDENCE_UNANCHORED" in codes
    )
