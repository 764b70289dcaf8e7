"""Issue 11, one verifier: ``POST /credentials/verify`` gives the same result object as the library (and so as
``vcgate verify --db`` and a job, tests/jobs/test_one_verifier.py) for the same credential, policy and instant."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.jobs._world import CHECKED_AT, World, build_world, plain_checkers
from vcgate.gateway._evidence_checkers import offline_evidence_checkers
from vcgate.gateway._jobs import store_verifier
from vcgate.gateway._store import Store
from vcgate.gateway.api._wiring import WiringSettings

from .conftest import run_gateway

pytestmark = pytest.mark.server

LICENCE = "IntellectualPropertyRightsLicenseCredential"
SCENARIOS = {
    "authorized": (200, "verified"),
    "tampered_evidence": (400, "invalid"),
    "revoked_licence": (400, "invalid"),
    "no_anchor": (503, "error"),
    "forged_signature": (400, "invalid"),
}


def _licence(world: World, rows: dict[str, dict[str, Any]], scenario: str) -> dict[str, Any]:
    g = rows[scenario]["lines"][0]["gtin"]
    (found,) = [
        c
        for c in world.credentials.values()
        if LICENCE in c["type"] and c["credentialSubject"]["intellectualPropertyRightsProduct"]["gtin"] == g
    ]
    return copy.deepcopy(found)


def _result_object(status_code: int, body: dict[str, Any]) -> dict[str, Any]:
    if status_code == 200:
        return body
    # A 400/503 is problem details carrying the result (its status moved to verificationStatus, RFC 9457 §3.1.4).
    out = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail", "code", "instance")}
    out["status"] = out.pop("verificationStatus")
    return out


def test_the_api_gives_the_library_result_object(tmp_path: Path) -> None:
    world, rows = build_world(tmp_path)
    db = tmp_path / "gateway.sqlite"
    store = Store.open(f"sqlite:///{db}")
    world.fill(store)
    store.close()
    policy = world.policy()
    wiring = WiringSettings(checker_factory="tests.jobs._world:plain_checkers")
    with run_gateway(db, wiring, policy=policy, clock=lambda: CHECKED_AT) as gw:
        client = gw.client("did:web:customs.example", ["verify:credentials"])
        checkers = {**offline_evidence_checkers(), **plain_checkers()}
        library = store_verifier(gw.store, policy, checked_at=CHECKED_AT, checkers=checkers)
        for scenario, (http, status) in SCENARIOS.items():
            doc = _licence(world, rows, scenario)
            r = gw.http.post("/credentials/verify", json={"verifiableCredential": doc}, headers=gw.auth(client))
            assert r.status_code == http, (scenario, r.text)
            expected = library.check(doc, effective_at=CHECKED_AT, checked_at=CHECKED_AT).to_json()
            assert expected["status"] == status, scenario
            got = _result_object(r.status_code, r.json())
            assert got == expected, scenario
