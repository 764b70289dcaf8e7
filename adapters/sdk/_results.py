"""Check results: every check a verification step ran, with its status and stable problem codes.

:class:`~vcgate.canonical_schema.Check` and :func:`~vcgate.canonical_schema.overall_status` are the one check type
and rule of vcgate (adapter API version 2, ADR 0010); this module adds the result containers adapters return.

``check_*`` functions return these and never raise on bad input (STYLE.md rule 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vcgate.canonical_schema import Check, CheckStatus, OverallStatus, Problem, overall_status

# The check type, its statuses and the overall rule are canonical_schema's (ADR 0010); re-exported for adapter authors.
__all__ = [
    "Check",
    "CheckResult",
    "CheckStatus",
    "EvidenceResult",
    "OverallStatus",
    "ReplayResult",
    "overall_status",
]


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
