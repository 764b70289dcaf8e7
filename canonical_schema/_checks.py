"""Check results shared by every verifier in vcgate (proofs, evidence, policy).

A check has a stable ``name``, a ``status`` and, unless it passed or did not apply, a :class:`Problem`. The overall
status of a list of checks is ``invalid`` if any check failed (the input is wrong), else ``error`` if any check
could not be decided (a node down, a DID unresolvable, no trust anchor), else ``verified``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ._problems import Problem

CheckStatus = Literal["passed", "failed", "error", "not_applicable"]
OverallStatus = Literal["verified", "invalid", "error"]


@dataclass(frozen=True, slots=True)
class Check:
    """One named check and its outcome."""

    name: str
    status: CheckStatus
    stage: str = ""
    problem: Problem | None = None

    @classmethod
    def passed(cls, name: str, stage: str = "") -> Check:
        """A check that passed."""
        return cls(name, "passed", stage)

    @classmethod
    def not_applicable(cls, name: str, stage: str = "") -> Check:
        """A check that does not apply to this input."""
        return cls(name, "not_applicable", stage)

    @classmethod
    def failed(cls, name: str, problem: Problem, stage: str = "") -> Check:
        """A check that failed: the input is wrong."""
        return cls(name, "failed", stage, problem)

    @classmethod
    def errored(cls, name: str, problem: Problem, stage: str = "") -> Check:
        """A check that could not be decided."""
        return cls(name, "error", stage, problem)

    def to_json(self) -> dict[str, Any]:
        """JSON form: ``{name, stage, status[, problem]}``."""
        out: dict[str, Any] = {"name": self.name, "stage": self.stage, "status": self.status}
        if self.problem is not None:
            out["problem"] = self.problem.to_json()
        return out


def overall_status(checks: Iterable[Check]) -> OverallStatus:
    """``invalid`` if any check failed, else ``error`` if any errored, else ``verified``."""
    statuses = {c.status for c in checks}
    if "failed" in statuses:
        return "invalid"
    if "error" in statuses:
        return "error"
    return "verified"


class CheckSummary:
    """Mixin for result objects that hold ``checks``: the overall status, ``verified`` and the problems."""

    checks: tuple[Check, ...]

    @property
    def status(self) -> OverallStatus:
        """``verified``, ``invalid`` (the input is wrong) or ``error`` (could not decide); no checks is ``error``."""
        return overall_status(self.checks) if self.checks else "error"

    @property
    def verified(self) -> bool:
        """True only when every check passed or did not apply."""
        return self.status == "verified"

    @property
    def problems(self) -> list[Problem]:
        """The problems of failed and errored checks, in order."""
        return [c.problem for c in self.checks if c.problem is not None and c.status in ("failed", "error")]
