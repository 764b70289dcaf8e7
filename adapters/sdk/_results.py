"""Check results: every check a verification step ran, with its status and stable problem codes.

``check_*`` functions return these and never raise on bad input (STYLE.md rule 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from vcgate.canonical_schema import Problem

OverallStatus = Literal["verified", "invalid", "error"]


class CheckStatus(StrEnum):
    """The outcome of one check (ARCHITECTURE.md, "Verification pipeline")."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class Check:
    """One named check with its status and the problems behind a failure or error."""

    name: str
    status: CheckStatus
    problems: tuple[Problem, ...] = ()
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports and ``--json`` output."""
        out: dict[str, Any] = {"name": self.name, "status": self.status.value}
        if self.detail:
            out["detail"] = self.detail
        if self.problems:
            out["problems"] = [p.to_json() for p in self.problems]
        return out


def overall_status(checks: tuple[Check, ...]) -> OverallStatus:
    """``invalid`` if any check failed; else ``error`` if any errored or nothing passed; else ``verified``.

    A result in which no check passed cannot vouch for anything, so it is an ``error`` rather than
    ``verified``.
    """
    statuses = {c.status for c in checks}
    if CheckStatus.FAILED in statuses:
        return "invalid"
    if CheckStatus.ERROR in statuses or CheckStatus.PASSED not in statuses:
        return "error"
    return "verified"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A list of checks; ``status`` summarises them."""

    checks: tuple[Check, ...] = ()

    @property
    def status(self) -> OverallStatus:
        """Overall status; see :func:`overall_status`."""
        return overall_status(self.checks)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every problem of every check, in check order."""
        return tuple(p for c in self.checks for p in c.problems)

    def check(self, name: str) -> Check:
        """The check called ``name``; raises ``KeyError`` if it was not run."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports and ``--json`` output."""
        return {"status": self.status, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True, slots=True)
class EvidenceResult(CheckResult):
    """The result of checking one ``LedgerEvidence`` against its trust anchor."""


@dataclass(frozen=True, slots=True)
class ReplayResult(CheckResult):
    """The result of replaying a mapping over a credential's evidence.

    ``differences`` lists the JSON pointers (into the credential) where the credential differs from the
    replay.
    """

    differences: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """JSON form, with the differing pointers."""
        out = CheckResult.to_json(self)
        out["differences"] = list(self.differences)
        return out
