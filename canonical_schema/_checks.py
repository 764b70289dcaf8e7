"""Check results shared by every verifier in vcgate: the gateway's stages, every adapter's evidence checker, replay.

There is one check type (ADR 0010): a :class:`Check` has a stable ``name``, a :class:`CheckStatus`, the ``problems``
behind a failure or error (RFC 9457 details with stable codes), an optional human ``detail`` and, in the gateway's
pipeline, the ``stage`` that ran it. There is one overall rule (:func:`overall_status`) for any list of checks:

- ``invalid`` if any check failed (the input is wrong);
- else ``error`` if any check could not be decided (a node down, a DID unresolvable, no trust anchor) **or no check
  passed** (a result that proved nothing cannot vouch for anything: only ``not_applicable`` checks, or none);
- else ``verified``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from ._problems import Problem

OverallStatus = Literal["verified", "invalid", "error"]


class CheckStatus(StrEnum):
    """The outcome of one check (ARCHITECTURE.md, "Verification pipeline"). Compares equal to its string value."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"


def _problems(problem: Problem | Iterable[Problem]) -> tuple[Problem, ...]:
    return (problem,) if isinstance(problem, Problem) else tuple(problem)


@dataclass(frozen=True, slots=True)
class Check:
    """One named check and its outcome.

    ``problems`` says why a check failed or errored (a passed check may carry warnings there); ``detail`` is a short
    human note (e.g. why a check did not apply); ``stage`` names the pipeline stage that ran it (empty inside an
    adapter: the gateway files an adapter's checks under its ``evidence`` or ``replay`` stage).
    """

    name: str
    status: CheckStatus
    problems: tuple[Problem, ...] = ()
    detail: str = ""
    stage: str = ""

    def __post_init__(self) -> None:
        # Plain strings (JSON, old callers) become the enum; an unknown status raises ValueError here, not later.
        if type(self.status) is not CheckStatus:
            object.__setattr__(self, "status", CheckStatus(self.status))
        if type(self.problems) is not tuple:
            object.__setattr__(self, "problems", tuple(self.problems))

    @classmethod
    def passed(cls, name: str, stage: str = "", detail: str = "") -> Check:
        """A check that passed."""
        return cls(name, CheckStatus.PASSED, (), detail, stage)

    @classmethod
    def not_applicable(cls, name: str, stage: str = "", detail: str = "") -> Check:
        """A check that does not apply to this input (or was not reached)."""
        return cls(name, CheckStatus.NOT_APPLICABLE, (), detail, stage)

    @classmethod
    def failed(cls, name: str, problem: Problem | Iterable[Problem], stage: str = "", detail: str = "") -> Check:
        """A check that failed: the input is wrong. ``problem`` is one problem or several."""
        return cls(name, CheckStatus.FAILED, _problems(problem), detail, stage)

    @classmethod
    def errored(cls, name: str, problem: Problem | Iterable[Problem], stage: str = "", detail: str = "") -> Check:
        """A check that could not be decided. ``problem`` is one problem or several."""
        return cls(name, CheckStatus.ERROR, _problems(problem), detail, stage)

    @property
    def problem(self) -> Problem | None:
        """The first of :attr:`problems`, or ``None``."""
        return self.problems[0] if self.problems else None

    def to_json(self) -> dict[str, Any]:
        """JSON form: ``{name, status[, stage][, detail][, problems]}``; empty members are left out."""
        out: dict[str, Any] = {"name": self.name}
        if self.stage:
            out["stage"] = self.stage
        out["status"] = self.status.value
        if self.detail:
            out["detail"] = self.detail
        if self.problems:
            out["problems"] = [p.to_json() for p in self.problems]
        return out

    @classmethod
    def from_json(cls, value: Any) -> Check:
        """Parse :meth:`to_json` output (and the older ``problem`` member, one problem). Raises ``ValueError``."""
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            raise ValueError("a check is a JSON object with a name")
        items = value.get("problems")
        if items is None:
            items = [value["problem"]] if value.get("problem") else []
        if not isinstance(items, list):
            raise ValueError(f"check {value['name']!r}: problems must be an array")
        return cls(
            value["name"],
            CheckStatus(str(value.get("status"))),
            tuple(_problem_from_json(p) for p in items),
            str(value.get("detail", "")),
            str(value.get("stage", "")),
        )


_PROBLEM_MEMBERS = frozenset({"type", "code", "title", "detail", "pointer"})


def _problem_from_json(value: Any) -> Problem:
    if not isinstance(value, dict) or not isinstance(value.get("code"), str):
        raise ValueError("a problem is a JSON object with a code")
    extra = {k: v for k, v in value.items() if k not in _PROBLEM_MEMBERS}
    return Problem(
        value["code"], str(value.get("title", "")), str(value.get("detail", "")), str(value.get("pointer", "")), extra
    )


def overall_status(checks: Iterable[Check]) -> OverallStatus:
    """``invalid`` if any check failed; else ``error`` if any errored or none passed; else ``verified``."""
    statuses = {c.status for c in checks}
    if CheckStatus.FAILED in statuses:
        return "invalid"
    if CheckStatus.ERROR in statuses or CheckStatus.PASSED not in statuses:
        return "error"
    return "verified"


class CheckSummary:
    """Mixin for result objects that hold ``checks``: the overall status, ``verified`` and the problems."""

    checks: tuple[Check, ...]

    @property
    def status(self) -> OverallStatus:
        """``verified``, ``invalid`` (the input is wrong) or ``error`` (undecided); see :func:`overall_status`."""
        return overall_status(self.checks)

    @property
    def verified(self) -> bool:
        """True only when no check failed or errored and at least one passed."""
        return self.status == "verified"

    @property
    def problems(self) -> list[Problem]:
        """The problems of failed and errored checks, in order."""
        return [p for c in self.checks if c.status in (CheckStatus.FAILED, CheckStatus.ERROR) for p in c.problems]
