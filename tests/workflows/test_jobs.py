"""``vcgate jobs run FILE --workflow NAME``: a commodity workflow's job over a real store, verdicts as in
expected.yaml, results naming the workflow, version and digest; a changed workflow never reuses stored results."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.jobs._world import CHECKED_AT
from tests.workflows._commodities import build
from vcgate.gateway._jobs import job_results
from vcgate.gateway.cli._app import app
from vcgate.gateway.verification._policy import Policy
from vcgate.gateway.workflows import builtin_workflow

EXPECTED = yaml.safe_load((Path(__file__).parent / "expected.yaml").read_text())
runner = CliRunner()


@pytest.fixture(scope="module")
def timber(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("timber-job")
    cw = build("timber", folder)
    (folder / "policy.yaml").write_text(yaml.safe_dump(dict(cw.env.policy.raw)), encoding="utf-8")
    (folder / "entries.jsonl").write_text("".join(json.dumps(e) + "\n" for e in cw.scenario["entries"]))
    yield cw, folder
    cw.store.close()


def _run(folder: Path, *extra: str) -> Any:
    return runner.invoke(
        app,
        [
            "jobs",
            "run",
            str(folder / "entries.jsonl"),
            "--policy",
            str(folder / "policy.yaml"),
            "--db",
            f"sqlite:///{folder / 'store.sqlite'}",
            "--checkers",
            "tests.jobs._world:plain_checkers",
            "--checked-at",
            "2025-06-01T00:00:00Z",
            "--workers",
            "1",
            "--json",
            *extra,
        ],
    )


def test_a_timber_job_gets_the_expected_verdicts_and_names_its_workflow(timber: Any) -> None:
    cw, folder = timber
    result = _run(folder, "--workflow", "timber")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["entries"] == len(EXPECTED["timber"])
    rows = job_results(cw.store, summary["jobId"])["rows"]
    got = {r["result"]["entryNumber"]: r["result"] for r in rows}
    wf = builtin_workflow("timber")
    for number, (verdict, reason, clause) in EXPECTED["timber"].items():
        line = got[number]["lines"][0]
        assert (got[number]["verdict"], line["reasons"][0], line["clause"]) == (verdict, reason, clause), number
        assert got[number]["workflow"] == {"name": "timber", "version": wf.version, "digest": wf.digest}
        assert all("durationUs" in s for s in line["steps"])


def test_an_edited_workflow_file_is_another_job_with_its_own_results(timber: Any, tmp_path: Path) -> None:
    cw, folder = timber
    source = resources.files("vcgate.gateway.workflows").joinpath("files/timber.yaml").read_text(encoding="utf-8")
    # The analyst lowers every concession's allowance to zero: TMB-0001 must now be refused.
    edited = source.replace("    against: {expr: concession.volume,", "    against: {expr: 0.0 * concession.volume,", 1)
    assert edited != source
    path = tmp_path / "timber-strict.yaml"
    path.write_text(edited.replace('version: "1.0.0"', 'version: "1.0.1"'), encoding="utf-8")
    result = _run(folder, "--workflow", str(path))
    assert result.exit_code == 0, result.output
    rows = job_results(cw.store, json.loads(result.stdout)["jobId"])["rows"]
    first = next(r["result"] for r in rows if r["result"]["entryNumber"] == "TMB-0001")
    assert first["verdict"] == "not_authorized"
    assert first["lines"][0]["reasons"][0] == "QUANTITY_BEYOND_CONCESSION"
    assert first["workflow"]["version"] == "1.0.1"


def test_an_unknown_workflow_is_refused(timber: Any) -> None:
    _, folder = timber
    result = _run(folder, "--workflow", "coffee")
    assert result.exit_code == 1
    assert "no workflow named 'coffee'" in result.output


def test_an_ipr_job_without_a_workflow_is_recomputed_when_ipr_yaml_changes(
    ipr_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that names no workflow runs the shipped ``ipr``: its id and stored results are keyed by ipr.yaml's
    digest, so an edited ipr.yaml never reuses the results the unedited one stored."""
    from vcgate.gateway._jobs import InlineExecutor, create_job, default_job_id, read_entry_file, run_job
    from vcgate.gateway._store import Store
    from vcgate.gateway.workflows import Workflow, builtin_workflows
    from vcgate.gateway.workflows._decide import workflow_of

    world, rows, _ = ipr_world
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    world.fill(store)
    policy = world.policy()
    data = (json.dumps(rows["authorized"]) + "\n").encode()
    checkers = "tests.jobs._world:plain_checkers"

    def judge() -> tuple[str, dict[str, Any]]:
        job = default_job_id(data, policy, CHECKED_AT)
        create_job(store, read_entry_file("e.jsonl", data), policy, job_id=job, checked_at=CHECKED_AT, source="t")
        run_job(store, job, executor=InlineExecutor(), checker_factory=checkers)
        result: dict[str, Any] = job_results(store, job)["rows"][0]["result"]
        return job, result

    first_job, first = judge()
    assert first["verdict"] == "authorized"
    shipped = builtin_workflows()["ipr"]
    assert first["workflow"]["digest"] == shipped.digest
    assert workflow_of(Policy.from_mapping(store.job(first_job)["policy"])).digest == shipped.digest

    # The analyst's edit: no territory is licensed any more (a copy of ipr.yaml put in the shipped one's place).
    source = Path(shipped.source or "").name
    text = resources.files("vcgate.gateway.workflows").joinpath(f"files/{source}").read_text(encoding="utf-8")
    edited = text.replace("it.territory == null ? true", "it.territory == null ? false", 1)
    edited = edited.replace("territory in it.territory : it.territory == territory", '"XX" in it.territory : false')
    assert edited.count('"XX" in it.territory') == 1
    (tmp_path / "ipr.yaml").write_text(edited, encoding="utf-8")
    monkeypatch.setitem(builtin_workflows(), "ipr", Workflow.from_file(tmp_path / "ipr.yaml"))

    second_job, second = judge()
    assert second_job != first_job
    assert second["verdict"] == "not_authorized"
    assert second["lines"][0]["reasons"][0] == "TERRITORY_NOT_LICENSED"
    assert second["workflow"]["digest"] == builtin_workflows()["ipr"].digest != shipped.digest
    store.close()
