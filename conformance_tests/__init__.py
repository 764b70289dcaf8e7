"""The vcgate conformance suite (a pytest plugin), run against any adapter or VC-API endpoint.

Run it with ``vcgate conformance run --target adapter:NAME --config FILE --report DIR`` (or a VC-API base URL,
or ``verifier:vcgate``), or from Python::

    from vcgate.conformance_tests import run_conformance
    run = run_conformance("adapter:csv-ledger", config="config.yaml", report_dir="out")
    run.passed, run.report.failed_ids

Cases have stable ids (``ADP-003``), listed by :func:`catalogue` and in docs/conformance.md. Reports: JSON,
JUnit XML and a self-contained HTML page. See docs/conformance.md.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._cases import GROUPS, CaseInfo, TargetKind, catalogue
    from ._report import REPORT_FILES, CaseResult, RunReport
    from ._runner import ConformanceRun, pytest_arguments, run_conformance, suite_directory
    from ._targets import ConformanceConfigError, Settings, Target, parse_target
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "GROUPS",
    "REPORT_FILES",
    "CaseInfo",
    "CaseResult",
    "ConformanceConfigError",
    "ConformanceRun",
    "RunReport",
    "Settings",
    "Target",
    "TargetKind",
    "catalogue",
    "parse_target",
    "pytest_arguments",
    "run_conformance",
    "suite_directory",
]
