"""Workflow files: broken ones name the line and the expression at fault; run-time expression failures make a line
``undetermined`` with their own reason; an analyst's added rule takes effect without Python."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.workflows._commodities import build
from vcgate.gateway._links import CredentialGraph
from vcgate.gateway.workflows import EXPRESSION_ERROR, Workflow, WorkflowError, builtin_workflows
from vcgate.gateway.workflows._decide import session
from vcgate.gateway.workflows._entries import judge_in_order, parse_workflow_entry

STEEL = resources.files("vcgate.gateway.workflows").joinpath("files/steel.yaml").read_text(encoding="utf-8")


def test_every_shipped_workflow_loads_with_a_version_and_digest() -> None:
    shipped = builtin_workflows()
    assert set(shipped) == {"ipr", "steel", "natural-gas", "timber", "food-safety"}
    for wf in shipped.values():
        assert wf.version == "1.0.0"
        assert wf.digest.startswith("sha256:")
        assert len(wf.digest) == 71


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("expr: it.importer == importer", "expr: it.importer == = importer", "does not compile"),
        ("expr: it.importer == importer", "expr: it.importr_typo == importer || licnce == null", "unknown variable"),
        ('expr: authority("mill_certification", it.issuer_party, it.issuer)', "expr: vouched(it)", "unknown function"),
    ],
)
def test_a_broken_expression_names_its_line_and_text(old: str, new: str, message: str) -> None:
    assert old in STEEL, f"the test's anchor {old!r} is not in steel.yaml"
    text = STEEL.replace(old, new, 1)
    with pytest.raises(WorkflowError) as info:
        Workflow.from_yaml(text, source="steel-copy.yaml")
    err = info.value
    assert message in err.reason
    assert err.line == _line_of(text, new.split(": ", 1)[1])
    assert err.expression == new.split(": ", 1)[1]
    assert f"steel-copy.yaml, line {err.line}" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "message", "needle"),
    [
        ("kind: reconcile", "kind: recon", "step kind 'recon'", "kind: recon"),
        (
            "        reason: SIMA_PRODUCT_NOT_LICENSED\n",
            "        reason: SIMA_PRODUCT_NOT_LICENSED\n        failure: maybe\n",
            "failure is",
            "failure: maybe",
        ),
        ("reason: MELT_COUNTRY_MISMATCH", "reason: melt-country", "UPPER_SNAKE_CASE", "reason: melt-country"),
        ("line_key: heatNumber", "line_key: heat", "not a declared line field", "line_key: heat"),
        ("  - name: invoice\n", "  - name: licence\n", "appears twice", "  - name: licence"),
    ],
)
def test_a_broken_structure_names_its_line(old: str, new: str, message: str, needle: str) -> None:
    assert old in STEEL, f"the test's anchor {old!r} is not in steel.yaml"
    text = STEEL.replace(old, new, 1)
    with pytest.raises(WorkflowError) as info:
        Workflow.from_yaml(text, source="steel-copy.yaml")
    assert message in info.value.reason
    assert info.value.line is not None
    # The reported line is the offending node's line.
    assert needle.strip() in text.splitlines()[info.value.line - 1]


def test_not_yaml_names_its_line() -> None:
    with pytest.raises(WorkflowError) as info:
        Workflow.from_yaml("workflow: x\nsteps: [\n", source="bad.yaml")
    assert info.value.line is not None
    assert "not valid YAML" in str(info.value)


@pytest.fixture(scope="module")
def steel_world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    cw = build("steel", tmp_path_factory.mktemp("steel"))
    yield cw
    cw.store.close()


def _judge(cw: Any, wf: Workflow) -> dict[str, Any]:
    views = cw.env.views(set(cw.world.credentials))
    run = session(wf, CredentialGraph.of(views.values()), cw.env.parties, cw.env.trust)
    entries = [parse_workflow_entry(wf, row) for row in cw.scenario["entries"]]
    return {v.entry_number: v for v in judge_in_order(run, entries, checked_at=cw.env.checked_at)}


def test_an_analyst_adds_a_rule_to_a_copy_of_steel_yaml(steel_world: Any, tmp_path: Path) -> None:
    before = _judge(steel_world, builtin_workflows()["steel"])
    assert before["STL-0001"].verdict == "authorized"
    # The analyst's new rule, in YAML only: heats entered for this licence must weigh under 15 t per line.
    rule = """      - rule: line-under-15-tonnes
        expr: line.weightKg < 15000.0
        reason: LINE_TOO_HEAVY
        clause: steel:analyst.max-line-weight
        detail: '"line of " + string(line.weightKg) + " kg"'
"""
    text = STEEL.replace("      - rule: licence-product\n", rule + "      - rule: licence-product\n", 1)
    text = text.replace('version: "1.0.0"', 'version: "1.1.0"', 1)
    copy = tmp_path / "steel-strict.yaml"
    copy.write_text(text, encoding="utf-8")
    wf = Workflow.from_file(copy)
    assert wf.version == "1.1.0"
    assert wf.digest != builtin_workflows()["steel"].digest
    after = _judge(steel_world, wf)
    line = after["STL-0001"].lines[0]
    assert after["STL-0001"].verdict == "not_authorized"
    assert line.reasons[0].code == "LINE_TOO_HEAVY"
    assert line.clause == "steel:analyst.max-line-weight"
    assert line.reasons[0].detail == "line of 20000 kg"
    assert after["STL-0001"].workflow_version == "1.1.0"


def test_an_expression_failing_at_run_time_makes_the_line_undetermined(steel_world: Any) -> None:
    # A rule that divides by a zero weight: the CEL runtime raises; the step is `error`, never a crash or a pass.
    text = STEEL.replace(
        "        expr: it.products.exists(p, p.hts == line.hts)\n",
        "        expr: it.products.exists(p, p.hts == line.hts) && 1 / (size(it.products) - 1) == 0\n",
        1,
    )
    wf = Workflow.from_yaml(text, source="steel-broken-at-run-time.yaml")
    after = _judge(steel_world, wf)
    line = after["STL-0001"].lines[0]
    assert after["STL-0001"].verdict == "undetermined"
    assert line.reasons[0].code == EXPRESSION_ERROR
    assert line.reasons[0].kind == "error"
    assert "line " in line.reasons[0].detail
    assert "division by zero" in line.reasons[0].detail
