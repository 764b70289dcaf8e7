"""Running the suite: build the pytest command line, run it in process or in a subprocess, read the report back.

``vcgate conformance run`` and the gateway's adapter registration both go through :func:`run_conformance`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._report import REPORT_FILES, RunReport

#: pytest's exit codes (``pytest.ExitCode``), named for callers that do not import pytest.
EXIT_PASSED, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INTERNAL, EXIT_USAGE, EXIT_NO_TESTS = 0, 1, 2, 3, 4, 5


def suite_directory() -> Path:
    """The installed suite (the folder of this package; test modules, vectors and its pytest.ini)."""
    return Path(__file__).resolve().parent


@dataclass(frozen=True)
class ConformanceRun:
    """One run: pytest's exit code, the report (absent when the run could not start) and where it was written."""

    exit_code: int
    report: RunReport | None
    report_dir: Path | None

    @property
    def passed(self) -> bool:
        """True when pytest passed and the report says every case passed or was opted out."""
        return self.exit_code == EXIT_PASSED and self.report is not None and self.report.passed


def pytest_arguments(
    target: str,
    report_dir: Path | None,
    *,
    config: str | Path | None = None,
    token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    reference_peer: str | Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The pytest command line (without the interpreter) for one run."""
    suite = suite_directory()
    args = ["-c", str(suite / "pytest.ini"), "--rootdir", str(suite), "--disable-plugin-autoload", "--target", target]
    for option, value in (
        ("--target-config", config),
        ("--token", token),
        ("--client-id", client_id),
        ("--client-secret", client_secret),
        ("--reference-peer", reference_peer),
    ):
        if value is not None:
            args += [option, str(value)]
    if report_dir is not None:
        args += ["--report-dir", str(report_dir)]
    return [*args, *extra, str(suite)]


def run_conformance(
    target: str,
    *,
    config: str | Path | None = None,
    report_dir: str | Path | None = None,
    token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    reference_peer: str | Path | None = None,
    isolation: Literal["inprocess", "subprocess"] = "inprocess",
    quiet: bool = False,
    timeout: float | None = None,
) -> ConformanceRun:
    """Run the suite against ``target`` (``adapter:NAME``, an ``http(s)://`` VC-API URL or ``verifier:vcgate``).

    Reports are written to ``report_dir`` when given. ``isolation="subprocess"`` runs pytest in a fresh interpreter
    (what a server should use: no state leaks into it, and ``timeout`` bounds the run); in-process runs share the
    reference peer across runs.
    """

    def arguments(directory: Path | None) -> list[str]:
        return pytest_arguments(
            target,
            directory,
            config=config,
            token=token,
            client_id=client_id,
            client_secret=client_secret,
            reference_peer=reference_peer,
        )

    if isolation == "subprocess":
        with tempfile.TemporaryDirectory(prefix="vcgate-conformance-") as scratch:
            directory = Path(report_dir) if report_dir is not None else Path(scratch)
            stale = directory / REPORT_FILES["json"]
            if stale.exists():
                stale.unlink()  # never read an earlier run's report as this one's
            completed = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-rN", *arguments(directory)],
                capture_output=quiet,
                text=True,
                timeout=timeout,
                check=False,
            )
            report = None
            if stale.is_file():
                report = RunReport.from_json(json.loads(stale.read_text(encoding="utf-8")))
        return ConformanceRun(completed.returncode, report, Path(report_dir) if report_dir is not None else None)

    import pytest

    from .plugin import STATE_KEY

    class _Sink:
        """Keeps the session's config so the report can be read from it after the run."""

        config: pytest.Config | None = None

        def pytest_configure(self, config: pytest.Config) -> None:
            self.config = config

    sink = _Sink()
    args = arguments(Path(report_dir) if report_dir is not None else None)
    # Quiet in process: no terminal reporter at all (its output would land in the caller's stdout).
    args = ["-p", "no:terminal", *args] if quiet else ["-q", "-rN", *args]
    code = int(pytest.main(args, plugins=[sink]))
    state = sink.config.stash.get(STATE_KEY, None) if sink.config is not None else None
    report = state.report if state is not None else None
    return ConformanceRun(code, report, Path(report_dir) if report_dir is not None else None)
