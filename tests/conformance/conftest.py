"""Fixtures for the conformance suite's own tests: the example adapter packages pip-installed into a private
target (never into the environment), and helpers to run the suite against them."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcgate.conformance_tests import ConformanceRun, run_conformance

ROOT = Path(__file__).resolve().parents[2]
CSV_EXAMPLE = ROOT / "examples" / "third_party_adapter"
BROKEN_EXAMPLES = ROOT / "examples" / "broken_adapters"
CSV_CONFIG = CSV_EXAMPLE / "sample" / "config.yaml"
BROKEN_CONFIG = BROKEN_EXAMPLES / "sample" / "config.yaml"
EXAMPLE_MODULES = ("vcgate_example_csv", "vcgate_broken_adapters")


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Both example packages, built and pip-installed (one pip run) into a private directory on sys.path."""
    work = tmp_path_factory.mktemp("conformance-examples")
    sources = []
    for example in (CSV_EXAMPLE, BROKEN_EXAMPLES):
        copy = work / example.name
        # Build from a copy: building writes build/ and *.egg-info next to the sources.
        shutil.copytree(example, copy, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
        sources.append(str(copy))
    site = work / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site)]
    subprocess.run(
        [*pip, *sources],
        check=True,
        capture_output=True,
        timeout=240,
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    for name in [m for m in sys.modules if m.split(".")[0] in EXAMPLE_MODULES]:
        del sys.modules[name]


def run(
    target: str,
    config: Path | None = None,
    *,
    token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    reference_peer: Path | None = None,
    report_dir: Path | None = None,
) -> ConformanceRun:
    """The suite, in process and quiet."""
    return run_conformance(
        target,
        config=config,
        quiet=True,
        token=token,
        client_id=client_id,
        client_secret=client_secret,
        reference_peer=reference_peer,
        report_dir=report_dir,
    )


def vcgate_cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``vcgate …`` in a fresh interpreter that sees the example packages."""
    env = dict(os.environ, PYTHONPATH=str(site), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-c", "from vcgate.gateway.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_passes_every_adapter_case(result: ConformanceRun) -> None:
    """The run passed every adapter case (none failed, none opted out) and exited 0."""
    from vcgate.conformance_tests import catalogue

    assert result.report is not None
    assert {c.id: c.reason for c in result.report.cases if c.outcome != "passed"} == {}
    assert {c.id for c in result.report.cases} == {i for i, c in catalogue().items() if c.applies_to("adapter")}
    assert result.exit_code == 0
    assert result.passed
