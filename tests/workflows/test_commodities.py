"""The four commodity workflows over their scenarios (examples/commodities/*.yaml): credentials recorded on a real
plain ledger, signed by their issuers, verified by the pipeline, then judged by the shipped workflow. Every entry
gets the verdict, reason and clause of the independent table in expected.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflows._commodities import CommodityWorld, build
from vcgate.gateway._links import EntryVerdict

EXPECTED: dict[str, dict[str, list[str]]] = yaml.safe_load((Path(__file__).parent / "expected.yaml").read_text())
CASES = [(wf, entry) for wf, table in EXPECTED.items() for entry in table]


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, EntryVerdict]]]:
    worlds: list[CommodityWorld] = []
    out: dict[str, dict[str, EntryVerdict]] = {}
    for name in EXPECTED:
        cw = build(name, tmp_path_factory.mktemp(name))
        worlds.append(cw)
        out[name] = cw.verdicts()
    yield out
    for cw in worlds:
        cw.store.close()


def test_each_workflow_has_an_authorized_entry_and_four_distinct_refusals() -> None:
    for name, table in EXPECTED.items():
        verdicts = [row[0] for row in table.values()]
        refusals = {row[1] for row in table.values() if row[0] == "not_authorized"}
        assert "authorized" in verdicts, name
        assert len(refusals) >= 4, (name, refusals)


@pytest.mark.parametrize(("workflow", "entry"), CASES)
def test_scenario_verdict_reason_and_clause(workflow: str, entry: str, verdicts: Any) -> None:
    verdict = verdicts[workflow][entry]
    expected_verdict, expected_reason, expected_clause = EXPECTED[workflow][entry]
    line = verdict.lines[0]
    assert (verdict.verdict, line.reasons[0].code, line.clause) == (expected_verdict, expected_reason, expected_clause)
    assert verdict.workflow == workflow
    assert verdict.workflow_digest is not None
    assert verdict.workflow_digest.startswith("sha256:")


def test_the_scenarios_hold_no_other_entries(verdicts: Any) -> None:
    for name, table in EXPECTED.items():
        assert set(verdicts[name]) == set(table)


def test_authorized_lines_name_the_credentials_behind_every_step(verdicts: Any) -> None:
    for name, table in EXPECTED.items():
        entry = next(e for e, row in table.items() if row[0] == "authorized")
        line = verdicts[name][entry].lines[0]
        chosen = [s for s in line.steps if s.status == "passed" and s.credentials]
        assert len(chosen) >= 3, name
        # Every credential is verified on the plain ledger: its evidence id names the ledger entry.
        assert all(e.startswith("plain:") for s in chosen for e in s.evidence), name
        as_json = line.to_json(timings=True)["steps"]
        assert all({"step", "status", "code", "clause", "credentials", "durationUs"} <= set(s) for s in as_json)
