"""Every built-in adapter passes the conformance suite.

Built-ins register exactly as third parties do, so this test finds them through the ``vcgate.adapters`` entry
points of the vcgate distribution. Each needs a running ledger and a configuration with a ``conformance:`` section.
When an adapter's configuration exists, move it from ``PENDING`` to ``CONFIGS``: a factory used as a context manager
(``contextlib.contextmanager``) that receives a temporary folder, starts what the ledger needs, yields the
configuration file and stops the ledger on exit (builtin_ledgers.py holds them). The suite runs in a subprocess, as
the gateway's adapter registration runs it, so the configuration must reach the ledger on its own (files, 127.0.0.1).
A run passes when every adapter case passes except those the configuration opts out of (strict, with a reason);
``assert_passes_every_adapter_case`` (test_example_adapters.py) is the same check without opt-outs. An adapter in
neither dictionary fails the coverage test below, so none is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from vcgate.conformance_tests import ConformanceRun, catalogue, run_conformance

from .builtin_ledgers import ethereum_ledger, fabric_ledger, remote_ledger

#: Adapter name -> factory(tmp folder) -> context manager yielding the configuration file (its ledger running
#: until the ``with`` block ends).
CONFIGS: dict[str, Callable[[Path], AbstractContextManager[Path]]] = {
    "ethereum": ethereum_ledger,
    "fabric": fabric_ledger,
    "remote": remote_ledger,  # the Ethereum ledger's adapter served over the remote adapter protocol
}
#: Built-ins whose conformance configuration is still to be written, and where that happens.
PENDING: dict[str, str] = {
    "plain-ledger": "issue 3: needs a running plain-ledger service and its log key as anchor",
}


def builtin_adapters() -> set[str]:
    """Adapters registered by vcgate's own distribution."""
    return {
        ep.name
        for ep in entry_points(group="vcgate.adapters")
        if ep.dist is not None and ep.dist.metadata["Name"] == "vcgate"
    }


def test_every_builtin_adapter_has_a_conformance_configuration_or_is_pending() -> None:
    registered = builtin_adapters()
    assert registered == set(CONFIGS) | set(PENDING), (
        "add each built-in adapter to CONFIGS (its conformance configuration) or, until then, to PENDING"
    )
    assert not set(CONFIGS) & set(PENDING)


@pytest.mark.parametrize("name", sorted(PENDING))
def test_pending_entries_are_registered(name: str) -> None:
    # A stale PENDING entry (an adapter renamed or removed) would hide nothing, but it would mislead.
    assert name in builtin_adapters()


def assert_passes_but_declared_opt_outs(result: ConformanceRun, config: Path) -> None:
    """Every adapter case ran; those the configuration opts out of are reported opted out with its reason, every
    other case passed, and the run exited 0."""
    declared = yaml.safe_load(config.read_text(encoding="utf-8"))["conformance"].get("optOut", {})
    assert result.report is not None, f"the suite did not run to the end (exit {result.exit_code})"
    cases = {c.id: c for c in result.report.cases}
    assert set(cases) == {i for i, c in catalogue().items() if c.applies_to("adapter")}
    assert {i: c.reason for i, c in cases.items() if c.outcome != "passed" and i not in declared} == {}
    assert {i: (cases[i].outcome, cases[i].reason) for i in declared} == {
        i: ("opted-out", reason) for i, reason in declared.items()
    }
    assert result.exit_code == 0
    assert result.passed


@pytest.mark.server
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_builtin_adapter_passes(name: str, tmp_path: Path) -> None:
    with CONFIGS[name](tmp_path) as config:
        result = run_conformance(f"adapter:{name}", config=config, isolation="subprocess", quiet=True, timeout=180)
    assert_passes_but_declared_opt_outs(result, config)
