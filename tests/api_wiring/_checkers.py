"""The gateway's own evidence checkers for the tests' ledgers (``WiringSettings.checker_factory``): the example CSV
ledger's offline checker (the package is on sys.path in the test process) and the jobs world's plain-ledger checker.
The gateway never uses a remote adapter's advisory evidence check."""

from __future__ import annotations

from tests.jobs._world import PlainLedgerEvidenceChecker
from vcgate.adapters.sdk import EvidenceChecker


def gateway_checkers() -> dict[str, EvidenceChecker]:
    """``{"csv": …, "plain": …}``."""
    from vcgate_example_csv import CsvEvidenceChecker

    return {"csv": CsvEvidenceChecker(), "plain": PlainLedgerEvidenceChecker()}
