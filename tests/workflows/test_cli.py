"""``vcgate workflows list | describe | validate``: what an analyst sees, and the exit codes."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from typer.testing import CliRunner

from vcgate.gateway.cli._app import app

runner = CliRunner()
STEEL = resources.files("vcgate.gateway.workflows").joinpath("files/steel.yaml").read_text(encoding="utf-8")


def test_list_names_every_shipped_workflow_with_version_and_digest() -> None:
    result = runner.invoke(app, ["workflows", "list", "--json"])
    assert result.exit_code == 0, result.output
    items = {w["name"]: w for w in json.loads(result.stdout)}
    assert set(items) == {"ipr", "steel", "natural-gas", "timber", "food-safety"}
    assert "SIMASteelImportLicenseCredential" in items["steel"]["credentialTypes"]
    assert all(w["digest"].startswith("sha256:") for w in items.values())


def test_describe_lists_each_rule_with_its_reason_failure_and_clause() -> None:
    result = runner.invoke(app, ["workflows", "describe", "timber", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    checks = {c["reason"]: c for s in doc["steps"] for r in s["rules"] for c in r["checks"]}
    assert checks["SPECIES_MISMATCH"]["clause"] == "timber:harvest.species"
    assert checks["SPECIES_MISMATCH"]["failure"] == "not_authorized"
    harvest = next(s for s in doc["steps"] if s["name"] == "harvest_volume")
    assert harvest["reconcile"]["reason"] == "QUANTITY_BEYOND_CONCESSION"


def test_describe_an_unknown_name_is_refused() -> None:
    result = runner.invoke(app, ["workflows", "describe", "coffee"])
    assert result.exit_code == 1
    assert "no workflow named 'coffee'" in result.output


def test_validate_accepts_a_workflow_and_reports_a_broken_one_with_line_and_expression(tmp_path: Path) -> None:
    good = tmp_path / "steel.yaml"
    good.write_text(STEEL, encoding="utf-8")
    ok = runner.invoke(app, ["workflows", "validate", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "valid workflow steel@1.0.0" in " ".join(ok.output.split())
    bad = tmp_path / "steel-typo.yaml"
    text = STEEL.replace("expr: it.importer == importer", "expr: it.importer == importr", 1)
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), start=1) if "== importr" in ln)
    result = runner.invoke(app, ["workflows", "validate", str(bad), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report == {
        "valid": False,
        "file": str(bad),
        "line": line,
        "expression": "it.importer == importr",
        "error": "the expression names unknown variable(s) importr",
    }


def test_validate_a_missing_file_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["workflows", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2  # a missing input file is an error (2), not a usage error (64): README
