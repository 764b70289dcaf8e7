"""The pytest plugin that runs the conformance suite against one target and writes the reports.

Load it with ``-p vcgate.conformance_tests.plugin`` (the suite's own ``pytest.ini`` does) and give a target::

    pytest -p vcgate.conformance_tests.plugin <path of vcgate/conformance_tests> \\
        --target adapter:csv-ledger --target-config sample/config.yaml --report-dir out/

``vcgate conformance run`` does exactly this. Every test in the suite carries a ``conformance`` mark with its case
id; cases that do not apply to the target's kind are deselected; cases the target opts out of (``optOut`` in its
configuration) become strict xfails with the declared reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

from ._adapter_harness import AdapterUnderTest
from ._cases import CaseInfo, case_order, catalogue
from ._reference_peer import (
    UNAVAILABLE,
    ReferencePeer,
    ReferencePeerError,
    default_peer_script,
    peer_available,
    shared_peer,
)
from ._report import CaseResult, Outcome, RunReport, merge_outcome, ordered
from ._targets import ConformanceConfigError, Target, parse_target
from ._vc_api import LibraryVerifier, VcApiClient, VerifierUnderTest

TARGET_KEY = pytest.StashKey[Target]()
STATE_KEY = pytest.StashKey["_RunState"]()
MARK = "conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's command-line options."""
    group = parser.getgroup("vcgate-conformance", "vcgate conformance suite")
    group.addoption("--target", help="adapter:NAME | http(s)://VC-API base URL | verifier:vcgate")
    group.addoption("--target-config", help="the target's configuration file (YAML/JSON with a conformance: section)")
    group.addoption("--token", help="bearer token for a VC-API target (overrides conformance.token)")
    group.addoption("--client-id", help="OAuth2 client id for POST /oauth2/token (overrides conformance.clientId)")
    group.addoption("--client-secret", help="OAuth2 client secret (overrides conformance.clientSecret)")
    group.addoption("--reference-peer", help="path of vc-peer.mjs (the reference library peer) for PRF-003")
    group.addoption("--report-dir", help="write conformance.json, conformance-junit.xml and conformance.html here")


class _RunState:
    """Per-session bookkeeping: each selected item's case, outcomes as they arrive, session errors."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.started = datetime.now(UTC)
        self.cases_by_nodeid: dict[str, CaseInfo] = {}
        self.opted_out: dict[str, str] = {}
        self.outcomes: dict[str, tuple[Outcome, str, float]] = {}
        self.errors: list[str] = []
        self.report: RunReport | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Register the mark; parse the target (a bad target is a usage error, exit 4)."""
    config.addinivalue_line("markers", f"{MARK}(case_id): the conformance case a test implements")
    spec = config.getoption("--target")
    if spec is None:
        raise pytest.UsageError("the conformance suite needs --target adapter:NAME | http(s)://… | verifier:vcgate")
    try:
        target = parse_target(spec, config.getoption("--target-config"))
        overrides: dict[str, Any] = {}
        for option, name in (("--token", "token"), ("--client-id", "client_id"), ("--client-secret", "client_secret")):
            value = config.getoption(option)
            if value:
                overrides[name] = value
        peer = config.getoption("--reference-peer")
        if peer:
            overrides["reference_peer"] = Path(peer)
        if overrides:
            target = dataclasses.replace(target, settings=dataclasses.replace(target.settings, **overrides))
        if target.kind == "adapter":
            AdapterUnderTest(target)  # fail fast (usage error) when the adapter is not installed or broken
        cases = catalogue()
        foreign = sorted(c for c in target.settings.opt_out if not cases[c].applies_to(target.kind))
        if foreign:
            raise ConformanceConfigError(
                f"conformance.optOut names {', '.join(foreign)}, which do not apply to {target.kind} targets"
            )
    except ConformanceConfigError as exc:
        raise pytest.UsageError(f"conformance target: {exc}") from None
    config.stash[TARGET_KEY] = target
    state = _RunState(target)
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(_Reporter(config, state), "vcgate-conformance-reporter")


def _case_of(item: pytest.Item) -> CaseInfo:
    mark = item.get_closest_marker(MARK)
    if mark is None or not mark.args:
        raise pytest.UsageError(f"{item.nodeid} has no conformance case id (@conformance_case)")
    case_id = str(mark.args[0])
    info = catalogue().get(case_id)
    if info is None:
        raise pytest.UsageError(f"{item.nodeid} names case {case_id}, which is not in the catalogue")
    return info


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the cases for the target's kind, apply opt-outs, order by case id."""
    state = config.stash[STATE_KEY]
    target = state.target
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    seen: dict[str, str] = {}
    for item in items:
        info = _case_of(item)
        if info.id in seen:
            raise pytest.UsageError(f"case {info.id} is implemented twice ({seen[info.id]} and {item.nodeid})")
        seen[info.id] = item.nodeid
        if not info.applies_to(target.kind):
            dropped.append(item)
            continue
        state.cases_by_nodeid[item.nodeid] = info
        reason = target.settings.opt_out.get(info.id)
        if reason is not None:
            state.opted_out[item.nodeid] = reason
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"opted out: {reason}"))
        keep.append(item)
    keep.sort(key=lambda i: case_order(state.cases_by_nodeid[i.nodeid].id))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, str):
        return longrepr
    if isinstance(longrepr, tuple):  # (path, line, message) of a skip
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        message = str(crash.message)
        # pytest.fail(reason) reports "Failed: reason"; the reason alone is what a report reader needs.
        return message[len("Failed: ") :] if message.startswith("Failed: ") else message
    return str(longrepr)


class _Reporter:
    """Folds each test phase into its case's outcome and writes the reports at the end of the session."""

    def __init__(self, config: pytest.Config, state: _RunState) -> None:
        self.config = config
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold one phase (setup, call, teardown) into the case's outcome: any failure wins."""
        state = self.state
        info = state.cases_by_nodeid.get(report.nodeid)
        if info is None:
            return
        opted = state.opted_out.get(report.nodeid)
        outcome: Outcome | None = None
        reason = ""
        if report.when == "call":
            if report.passed:
                outcome = "passed"
            elif report.skipped and hasattr(report, "wasxfail"):
                outcome, reason = "opted-out", opted or str(report.wasxfail)
            elif report.failed and opted is not None and "XPASS" in _reason(report):
                outcome, reason = "failed", f"opted out ({opted}) but the case passes: remove the opt-out"
            else:
                outcome, reason = "failed", _reason(report) or "failed"
                if report.skipped:
                    reason = f"a conformance case may not skip: {reason}"
        elif report.failed:
            if opted is not None and report.when == "setup":
                outcome, reason = "opted-out", opted
            else:
                outcome, reason = "failed", f"{report.when} error: {_reason(report)}"
        elif report.skipped and report.when == "setup":
            if hasattr(report, "wasxfail"):
                outcome, reason = "opted-out", opted or str(report.wasxfail)
            else:
                outcome, reason = "failed", f"a conformance case may not skip: {_reason(report)}"
        if outcome is None:
            return
        previous = state.outcomes.get(info.id)
        merged = merge_outcome(previous[0] if previous else None, outcome)
        keep_reason = reason if merged == outcome else (previous[1] if previous else reason)
        duration = (previous[2] if previous else 0.0) + float(report.duration)
        state.outcomes[info.id] = (merged, keep_reason, duration)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that cannot be collected is a session error (the run cannot pass)."""
        if report.failed:
            self.state.errors.append(f"collecting {report.nodeid}: {_reason(report)}")

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Build the run report and write it when ``--report-dir`` is given."""
        state = self.state
        results = []
        for info in state.cases_by_nodeid.values():
            outcome, reason, duration = state.outcomes.get(info.id, ("failed", "the case did not run", 0.0))
            results.append(CaseResult(info.id, info.group, info.title, outcome, reason, duration, info.source))
        order = {case_id: i for i, case_id in enumerate(catalogue())}
        try:
            vcgate_version = version("vcgate")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
            vcgate_version = "unknown"
        report = RunReport(
            target=state.target.label,
            target_kind=state.target.kind,
            started=_ts(state.started),
            finished=_ts(datetime.now(UTC)),
            vcgate_version=vcgate_version,
            cases=ordered(results, order),
            errors=tuple(state.errors),
        )
        state.report = report
        directory = self.config.getoption("--report-dir")
        if directory:
            report.write(Path(directory))

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        """One line per case that did not pass, and the overall verdict."""
        report = self.state.report
        if report is None:
            return
        tr = terminalreporter
        tr.section("vcgate conformance")
        for case in report.cases:
            if case.outcome != "passed":
                first = case.reason.splitlines()[0] if case.reason else ""
                tr.write_line(f"{case.id} {case.outcome.upper()}: {first}")
        s = report.summary()
        tr.write_line(
            f"{report.target}: {'PASSED' if report.passed else 'FAILED'} — {s['passed']} passed, "
            f"{s['failed']} failed, {s['opted-out']} opted out of {s['total']} cases"
        )


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def conformance_target(request: pytest.FixtureRequest) -> Target:
    """The target of this run."""
    return request.config.stash[TARGET_KEY]


@pytest.fixture(scope="session")
def adapter_under_test(conformance_target: Target) -> Iterator[AdapterUnderTest]:
    """The adapter under test (an ``adapter:NAME`` target); what it served is stopped at the end of the run."""
    aut = AdapterUnderTest(conformance_target)
    yield aut
    aut.close()


@pytest.fixture(scope="session")
def vc_api(conformance_target: Target) -> Iterator[VcApiClient]:
    """A VC-API client for an ``http(s)://`` target."""
    client = VcApiClient(conformance_target.name, conformance_target.settings)
    yield client
    client.close()


@pytest.fixture(scope="session")
def verifier_under_test(conformance_target: Target, request: pytest.FixtureRequest) -> VerifierUnderTest:
    """The verifier the vector cases run against: the VC-API endpoint or vcgate's library."""
    if conformance_target.kind == "vc-api":
        client: VcApiClient = request.getfixturevalue("vc_api")
        return client
    return LibraryVerifier()


@pytest.fixture(scope="session")
def reference_peer(conformance_target: Target) -> ReferencePeer:
    """The reference-library peer (shared by every run in this process). The peer is optional: when none is
    installed (or Node.js is missing) the case is opted out with :data:`UNAVAILABLE`; a peer named explicitly
    (``--reference-peer``, ``conformance.referencePeer``) that cannot start fails it."""
    explicit = conformance_target.settings.reference_peer
    script = explicit or default_peer_script()
    if explicit is None and not peer_available(script):
        pytest.xfail(UNAVAILABLE)  # reported as "opted-out" with this reason, never as a failure
    if script is None:  # unreachable: explicit is None was handled above
        raise ReferencePeerError(UNAVAILABLE)
    return shared_peer(script)
