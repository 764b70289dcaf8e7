"""Errors raised while reading Fabric ledger data. Verification never raises; decoding does."""

from __future__ import annotations

from vcgate.canonical_schema import InputError, Problem


class FabricDecodeError(InputError):
    """Fabric ledger bytes could not be decoded (truncated, corrupt or not a Fabric structure).

    ``problem`` carries a stable code (``fabric.truncated``, ``fabric.corrupt_block``, ...) and names the
    offset or
    block where reading stopped.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.title}: {problem.detail}" if problem.detail else problem.title)
        self.problem = problem
