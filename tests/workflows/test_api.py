"""``POST /jobs`` with a workflow: a live gateway (uvicorn on 127.0.0.1) over the steel scenario's store judges the
steel entries as expected.yaml says, and every result names the workflow, its version and digest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.api_wiring.conftest import run_gateway
from tests.workflows._commodities import build
from vcgate.gateway.api._wiring import WiringSettings
from vcgate.gateway.workflows import builtin_workflow

pytestmark = pytest.mark.server

EXPECTED = yaml.safe_load((Path(__file__).parent / "expected.yaml").read_text())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("steel-api")
    cw = build("steel", folder)
    cw.store.close()
    wiring = WiringSettings(checker_factory="tests.jobs._world:plain_checkers")
    with run_gateway(folder / "store.sqlite", wiring) as gw:
        analyst = gw.client("did:web:customs.example", ["run:jobs", "read:jobs"])
        yield gw, cw, gw.auth(analyst)


def test_a_steel_job_over_the_api(gateway: Any) -> None:
    gw, cw, auth = gateway
    body = {
        "policy": dict(cw.env.policy.raw),
        "checkedAt": "2025-06-01T00:00:00Z",
        "workflow": "steel",
        "entries": cw.scenario["entries"],
    }
    r = gw.http.post("/jobs", json=body, headers=auth)
    assert r.status_code == 202, r.text
    status = gw.wait_for_job(r.json()["jobId"], auth)
    assert status["state"] == "finished"
    rows = gw.http.get(f"/jobs/{r.json()['jobId']}/results", headers=auth).json()["rows"]
    wf = builtin_workflow("steel")
    for row in rows:
        result = row["result"]
        verdict, reason, clause = EXPECTED["steel"][result["entryNumber"]]
        assert (result["verdict"], result["lines"][0]["reasons"][0], result["lines"][0]["clause"]) == (
            verdict,
            reason,
            clause,
        )
        assert result["workflow"] == {"name": "steel", "version": wf.version, "digest": wf.digest}
    # The signed VerificationReport names the workflow, its version and digest for every entry.
    report = gw.http.get(f"/jobs/{r.json()['jobId']}/report?format=json", headers=auth).json()
    entries = report["credentialSubject"]["entries"]
    assert len(entries) == len(EXPECTED["steel"])
    assert all(e["workflow"] == {"name": "steel", "version": wf.version, "digest": wf.digest} for e in entries)
    assert report["proof"]["cryptosuite"] == "eddsa-jcs-2022"


def test_an_unknown_workflow_is_a_400(gateway: Any) -> None:
    gw, cw, auth = gateway
    body = {"policy": dict(cw.env.policy.raw), "workflow": "coffee", "entries": cw.scenario["entries"]}
    r = gw.http.post("/jobs", json=body, headers=auth)
    assert r.status_code == 400
    assert r.json()["code"] == "WORKFLOW_UNKNOWN"
