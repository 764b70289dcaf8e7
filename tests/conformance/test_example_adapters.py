"""The suite against the example adapters: the third-party CSV adapter passes every adapter case; each broken
adapter fails with exactly the case ids in examples/broken_adapters/EXPECTED.json; opt-outs are explicit and
strict; ``vcgate conformance run`` gives the exit codes and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from vcgate.conformance_tests import (
    REPORT_FILES,
    ConformanceConfigError,
    ConformanceRun,
    RunReport,
    catalogue,
    parse_target,
)
from vcgate.gateway.cli import app

from .conftest import BROKEN_CONFIG, BROKEN_EXAMPLES, CSV_CONFIG, assert_passes_every_adapter_case, run, vcgate_cli

EXPECTED = json.loads((BROKEN_EXAMPLES / "EXPECTED.json").read_text(encoding="utf-8"))["adapters"]
ADAPTER_CASES = {i for i, c in catalogue().items() if c.applies_to("adapter")}

pytestmark = pytest.mark.usefixtures("example_site")


def test_csv_example_passes_every_adapter_case() -> None:
    assert_passes_every_adapter_case(run("adapter:csv-ledger", CSV_CONFIG))


@pytest.fixture(scope="module")
def broken_runs(example_site: Path) -> dict[str, ConformanceRun]:
    """One suite run per broken adapter."""
    return {name: run(f"adapter:{name}", BROKEN_CONFIG) for name in sorted(EXPECTED)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_adapter_fails_exactly_the_expected_cases(name: str, broken_runs: dict[str, ConformanceRun]) -> None:
    result = broken_runs[name]
    assert result.exit_code == 1
    assert result.report is not None
    assert not result.passed
    assert set(result.report.failed_ids) == set(EXPECTED[name])
    assert {c.id for c in result.report.cases if c.outcome == "passed"} == ADAPTER_CASES - set(EXPECTED[name])


def test_failure_reasons_name_the_record_and_the_problem(broken_runs: dict[str, ConformanceRun]) -> None:
    reasons = {}
    for name, result in broken_runs.items():
        assert result.report is not None
        (case,) = [c for c in result.report.cases if c.outcome == "failed"]
        reasons[name] = case.reason
    assert reasons["broken-subject"] == "; ".join(
        f"row/{i}: replay invalid: REPLAY_MISMATCH /credentialSubject/itemsShipped/0/itemCount" for i in (1, 2, 3)
    )
    assert reasons["broken-cursor"] == "resuming after record 2 (cursor, (2,)): missing ['row/3'], unexpected []"
    assert (
        reasons["broken-evidence"] == "row/2: evidence invalid: CSV_NOT_INCLUDED: inclusion proof does not reach root"
    )


def _config_with(tmp_path: Path, base: Path, **conformance: object) -> Path:
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    data["conformance"].update(conformance)
    # Keep relative paths working: the copy lives next to the original's ledger by absolute path.
    data["path"] = str((base.parent / data["path"]).resolve())
    out = tmp_path / "config.yaml"
    out.write_text(yaml.safe_dump(data), encoding="utf-8")
    return out


def test_opt_out_of_a_failing_case_is_reported_and_passes(tmp_path: Path) -> None:
    reason = "our ledger re-delivers from the cursor's block; fixed in 2.0"
    config = _config_with(tmp_path, BROKEN_CONFIG, optOut={"ADP-003": reason})
    result = run("adapter:broken-cursor", config)
    assert result.exit_code == 0
    assert result.report is not None
    assert result.report.passed
    (case,) = [c for c in result.report.cases if c.id == "ADP-003"]
    assert (case.outcome, case.reason) == ("opted-out", reason)
    assert result.report.summary() == {"total": 31, "passed": 30, "failed": 0, "opted-out": 1}


def test_opt_out_of_a_passing_case_fails_strictly(tmp_path: Path) -> None:
    config = _config_with(tmp_path, BROKEN_CONFIG, optOut={"ADP-007": "health is not implemented by this adapter"})
    result = run("adapter:broken-cursor", config)
    assert result.exit_code == 1
    assert result.report is not None
    assert set(result.report.failed_ids) == {"ADP-003", "ADP-007"}
    (case,) = [c for c in result.report.cases if c.id == "ADP-007"]
    assert case.reason == (
        "opted out (health is not implemented by this adapter) but the case passes: remove the opt-out"
    )


@pytest.mark.parametrize(
    ("opt_out", "message"),
    [
        (
            {"ADP-099": "no such case in the catalogue at all"},
            "conformance.optOut names 'ADP-099', which is not a case id",
        ),
        ({"ADP-003": "short"}, "conformance.optOut[ADP-003] needs a reason"),
    ],
)
def test_bad_opt_outs_are_refused(tmp_path: Path, opt_out: dict[str, str], message: str) -> None:
    config = _config_with(tmp_path, BROKEN_CONFIG, optOut=opt_out)
    with pytest.raises(ConformanceConfigError) as caught:
        parse_target("adapter:broken-cursor", config)
    assert str(caught.value).startswith(message)
    result = run("adapter:broken-cursor", config)
    assert (result.exit_code, result.report) == (4, None)  # pytest's usage error: nothing ran


def test_opt_out_of_a_case_for_another_target_kind_is_refused(tmp_path: Path) -> None:
    config = _config_with(tmp_path, BROKEN_CONFIG, optOut={"API-001": "this adapter has no HTTP interface at all"})
    result = run("adapter:broken-cursor", config)
    assert (result.exit_code, result.report) == (4, None)


def test_cli_run_writes_three_reports(example_site: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = vcgate_cli(
        example_site,
        "conformance",
        "run",
        "--target",
        "adapter:csv-ledger",
        "--config",
        str(CSV_CONFIG),
        "--report",
        str(out),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "adapter:csv-ledger: PASSED — 31 passed, 0 failed, 0 opted out of 31 cases" in proc.stdout
    for name in REPORT_FILES.values():
        assert (out / name).is_file()
    report = RunReport.from_json(json.loads((out / REPORT_FILES["json"]).read_text(encoding="utf-8")))
    assert report.passed
    assert report.target == "adapter:csv-ledger"


def test_cli_exit_codes() -> None:
    """Exit 1 with the JSON report for a failing adapter; 64 for usage errors, 2 for a missing file (in process)."""
    cli = CliRunner()
    failed = cli.invoke(
        app, ["conformance", "run", "--target", "adapter:broken-subject", "--config", str(BROKEN_CONFIG), "--json"]
    )
    assert failed.exit_code == 1, failed.output
    data = json.loads(failed.stdout)
    assert data["passed"] is False
    assert [c["id"] for c in data["cases"] if c["outcome"] == "failed"] == ["EVD-003"]
    for args, message in (
        (["--target", "adapter:nope", "--config", str(CSV_CONFIG)], "no adapter named 'nope' is installed"),
        (["--target", "adapter:csv-ledger"], "an adapter target needs --config"),
        (["--target", "ftp://example.org"], "unknown target 'ftp://example.org'"),
    ):
        result = cli.invoke(app, ["conformance", "run", *args])
        assert result.exit_code == 64, (args, result.output)
        assert message in result.stderr, result.stderr
    # A missing input file is an error (2), not a usage error: the README's exit codes.
    missing = cli.invoke(app, ["conformance", "run", "--target", "verifier:vcgate", "--config", "/nonexistent/c.yaml"])
    assert missing.exit_code == 2, missing.output
    assert "cannot read target configuration /nonexistent/c.yaml" in missing.stderr


def test_reference_peer_missing_fails_prf_003_with_a_hint(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "vc-peer.mjs"
    result = run("adapter:csv-ledger", CSV_CONFIG, reference_peer=missing)
    assert result.report is not None
    assert result.report.failed_ids == ("PRF-003",)
    (case,) = [c for c in result.report.cases if c.id == "PRF-003"]
    assert f"reference peer script {missing} does not exist" in case.reason
