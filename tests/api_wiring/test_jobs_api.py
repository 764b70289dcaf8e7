"""``/jobs``, ``/links``, ``/parties`` and the indexing of submitted presentations, against a live gateway whose
database holds the jobs tests' credential world (``tests/jobs/_world.py``: parties with did:key keys, a real plain
ledger, signed credentials; its plain-ledger evidence checked by the gateway's configured checker)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.conftest import presentation, signed_invoice
from tests.jobs._world import CHECKED_AT, Actor, World, build_world
from vcgate.gateway import KeyPair
from vcgate.gateway._store import Store, jobs_table, parties_table
from vcgate.gateway.api import NewClient
from vcgate.gateway.api._wiring import WiringSettings

from .conftest import Gateway, run_gateway

pytestmark = pytest.mark.server

CHECKED = CHECKED_AT.isoformat().replace("+00:00", "Z")


@dataclass
class Setup:
    gateway: Gateway
    world: World
    rows: dict[str, dict[str, Any]]
    analyst: NewClient
    policy: dict[str, Any]

    def auth(self) -> dict[str, str]:
        return self.gateway.auth(self.analyst)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("jobs-api")
    world, rows = build_world(tmp)
    db = tmp / "gateway.sqlite"
    store = Store.open(f"sqlite:///{db}")
    world.fill(store)
    store.close()
    wiring = WiringSettings(checker_factory="tests.jobs._world:plain_checkers")
    with run_gateway(db, wiring) as gateway:
        analyst = gateway.client("did:web:customs.example", ["run:jobs", "read:jobs"])
        policy = json.loads(json.dumps(dict(world.policy().raw)))
        yield Setup(gateway, world, rows, analyst, policy)


def _submit(s: Setup, **body: Any) -> Any:
    return s.gateway.http.post("/jobs", json={"policy": s.policy, "checkedAt": CHECKED, **body}, headers=s.auth())


def test_a_json_job_runs_in_the_background_and_its_verdicts_and_report_come_back(setup: Setup) -> None:
    s, gw = setup, setup.gateway
    entries = [s.rows["authorized"], s.rows["no_licence"], {"entryNumber": "BAD-1", "lines": []}]
    r = _submit(s, entries=entries)
    assert r.status_code == 202, r.text
    job_id = r.json()["jobId"]
    assert r.headers["location"] == f"/jobs/{job_id}"
    assert r.json()["created"] is True
    status = gw.wait_for_job(job_id, s.auth())
    assert status["state"] == "finished"
    assert (status["rows"], status["entries"], status["malformed"], status["done"]) == (3, 2, 1, 2)
    assert status["verdicts"] == {"authorized": 1, "not_authorized": 1}
    assert status["checkedAt"] == CHECKED
    assert status["policy"]["name"] == "test-cbp"

    results = gw.http.get(f"/jobs/{job_id}/results", headers=s.auth()).json()
    first, second, third = results["rows"]
    assert first["result"]["entryNumber"] == s.rows["authorized"]["entryNumber"]
    assert first["result"]["verdict"] == "authorized"
    assert second["result"]["verdict"] == "not_authorized"
    assert "LICENCE_MISSING" in second["result"]["lines"][0]["reasons"]
    assert third["problem"]["code"] == "ENTRY_FIELD_MISSING"

    # The same input again is the same job: nothing is verified twice.
    again = _submit(s, entries=entries)
    assert again.status_code == 200
    assert (again.json()["jobId"], again.json()["created"], again.json()["state"]) == (job_id, False, "finished")
    listed = gw.http.get("/jobs", headers=s.auth()).json()["jobs"]
    assert job_id in [j["id"] for j in listed]

    report = gw.http.get(f"/jobs/{job_id}/report?format=json", headers=s.auth())
    assert report.status_code == 200
    vc = report.json()
    assert vc["type"] == ["VerifiableCredential", "VerificationReport"]
    assert vc["issuer"] == gw.ctx.identity.did
    assert [e["verdict"] for e in vc["credentialSubject"]["entries"]] == [
        "authorized",
        "not_authorized",
        "undetermined",
    ]
    assert gw.ctx.verifier.check(vc, at=datetime.now(UTC)).status == "verified"
    page = gw.http.get(f"/jobs/{job_id}/report", headers={**s.auth(), "Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert s.rows["authorized"]["entryNumber"] in page.text
    assert "<script" not in page.text


def test_a_csv_job(setup: Setup) -> None:
    s, gw = setup, setup.gateway
    entry = s.rows["authorized"]
    line = entry["lines"][0]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "entry_number",
            "importer_of_record",
            "entry_date",
            "invoice_number",
            "line",
            "gtin",
            "manufacturer_id",
            "quantity",
            "value",
        ]
    )
    writer.writerow(
        [
            "CSV-0001",
            entry["importerOfRecord"],
            entry["entryDate"],
            entry["invoiceNumber"],
            line["line"],
            line["gtin"],
            line["manufacturerId"],
            line["quantity"],
            line["value"],
        ]
    )
    r = _submit(s, csv=out.getvalue())
    assert r.status_code == 202, r.text
    status = s.gateway.wait_for_job(r.json()["jobId"], s.auth())
    assert (status["state"], status["verdicts"]) == ("finished", {"authorized": 1})
    (row,) = gw.http.get(f"/jobs/{r.json()['jobId']}/results", headers=s.auth()).json()["rows"]
    assert row["result"]["entryNumber"] == "CSV-0001"


def test_jobs_need_their_scopes_and_refuse_bad_input(setup: Setup) -> None:
    s, gw = setup, setup.gateway
    before = gw.count(jobs_table)
    entries = [s.rows["authorized"]]
    assert gw.http.post("/jobs", json={"entries": entries}).status_code == 401
    reader = gw.client("did:web:customs.example", ["read:jobs"])
    refused = gw.http.post("/jobs", json={"entries": entries}, headers=gw.auth(reader))
    assert (refused.status_code, refused.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    runner = gw.client("did:web:customs.example", ["run:jobs"])
    assert gw.http.get("/jobs", headers=gw.auth(runner)).status_code == 403
    for body, code in (
        ({"entries": entries, "csv": "x"}, "JOB_INPUT_REQUIRED"),
        ({}, "JOB_INPUT_REQUIRED"),
        ({"entries": entries, "policy": {"name": "x"}}, "POLICY_INVALID"),
        ({"entries": entries, "checkedAt": "yesterday"}, "JOB_INPUT_INVALID"),
        ({"entries": []}, "JOB_EMPTY"),
    ):
        r = gw.http.post("/jobs", json=body, headers=s.auth())
        assert (r.status_code, r.json()["code"]) == (400, code), body
    missing = gw.http.get("/jobs/job-0000000000000000", headers=s.auth())
    assert (missing.status_code, missing.json()["code"]) == (404, "JOB_NOT_FOUND")
    assert gw.count(jobs_table) == before


def test_links_follow_the_credential_graph(setup: Setup) -> None:
    s, gw = setup, setup.gateway
    g = s.rows["authorized"]["lines"][0]["gtin"]
    r = gw.http.get(f"/links/{g}", headers=s.auth())
    assert r.status_code == 200
    types = {t for c in r.json()["credentials"] for t in c["types"]}
    assert {
        "GS1IdentificationKeyLicenseCredential",
        "IntellectualPropertyRightsCredential",
        "IntellectualPropertyRightsLicenseCredential",
    } <= types
    assert all(f"gtin:{g}" in c["matchedBy"] for c in r.json()["credentials"])
    number = s.rows["authorized"]["invoiceNumber"]
    (invoice,) = gw.http.get(f"/links/{number}", headers=s.auth()).json()["credentials"]
    assert invoice["types"] == ["CommercialInvoiceCredential"]
    assert f"invoice-number:{number}" in invoice["identifiers"]
    by_id = gw.http.get(f"/links/{invoice['id']}", headers=s.auth()).json()
    assert [c["id"] for c in by_id["credentials"]] == [invoice["id"]]
    assert gw.http.get("/links/nothing-carries-this", headers=s.auth()).json() == {
        "query": "nothing-carries-this",
        "credentials": [],
    }
    partner = gw.client(KeyPair.generate("ed25519").controller, ["register:adapters"])
    assert gw.http.get(f"/links/{g}", headers=gw.auth(partner)).status_code == 403


def test_parties_are_registered_with_proof_of_control_for_the_callers_own_did(setup: Setup) -> None:
    s, gw = setup, setup.gateway
    listed = gw.http.get("/parties", headers=s.auth()).json()["parties"]
    assert {"gs1", "cbp", "acme", "summit", "northwind"} <= {p["id"] for p in listed}

    key = KeyPair.generate("ed25519")
    client = gw.client(key.controller, ["register:adapters"])
    doc = Actor("newco", key, ("NewCo Ltd.",)).party().to_json()
    before = gw.snapshot(parties_table)

    forged = json.loads(json.dumps(doc))
    forged["bindings"][0]["proof"]["signature"] = forged["bindings"][0]["proof"]["signature"][::-1]
    r = gw.http.post("/parties", json=forged, headers=gw.auth(client))
    assert (r.status_code, r.json()["code"]) == (400, "BINDING_PROOF_INVALID")
    assert r.json()["bindings"][0]["code"] == "BINDING_SIGNATURE_INVALID"
    someone_else = gw.client(KeyPair.generate("ed25519").controller, ["register:adapters"])
    r = gw.http.post("/parties", json=doc, headers=gw.auth(someone_else))
    assert (r.status_code, r.json()["code"]) == (403, "PARTY_MISMATCH")
    hijack = json.loads(json.dumps(doc))
    hijack["id"] = "summit"  # an existing party of another DID
    r = gw.http.post("/parties", json=hijack, headers=gw.auth(client))
    assert (r.status_code, r.json()["code"]) == (403, "PARTY_MISMATCH")
    taken = json.loads(json.dumps(doc))
    taken["identifiers"] = [{"scheme": "importer-of-record", "value": "95-481237600"}]  # northwind's
    r = gw.http.post("/parties", json=taken, headers=gw.auth(client))
    assert (r.status_code, r.json()["code"]) == (409, "PARTY_IDENTIFIER_TAKEN")
    assert gw.http.post("/parties", json=doc, headers=gw.auth(s.analyst)).status_code == 403
    assert gw.snapshot(parties_table) == before

    added = gw.http.post("/parties", json=doc, headers=gw.auth(client))
    assert added.status_code == 201, added.text
    assert added.json()["changed"] is True
    own = gw.http.get("/parties/newco", headers=gw.auth(client))
    assert own.json()["did"] == key.controller
    assert gw.http.get("/parties/summit", headers=gw.auth(client)).status_code == 403
    assert gw.http.get("/parties/summit", headers=s.auth()).status_code == 200
    unchanged = gw.http.post("/parties", json=doc, headers=gw.auth(client))
    assert (unchanged.status_code, unchanged.json()["changed"]) == (200, False)
    rewritten = json.loads(json.dumps(doc))
    rewritten["bindings"] = []  # history cannot be removed, only closed
    r = gw.http.post("/parties", json=rewritten, headers=gw.auth(client))
    assert (r.status_code, r.json()["code"]) == (409, "PARTY_BINDING_HISTORY")
    assert gw.store.parties().get("newco") is not None
    details = [e["detail"] for e in gw.audit() if e["path"] == "/parties" and e["target"] == "newco"]
    assert "registered" in details
    assert "unchanged" in details


def test_a_submitted_presentation_is_indexed_in_the_jobs_store(setup: Setup) -> None:
    gw = setup.gateway
    holder = KeyPair.generate("ed25519")
    client = gw.client(holder.controller, ["submit:presentations"])
    credential_id = "urn:uuid:7b0c6a52-0000-4000-8000-0000000000a1"
    vc = signed_invoice(holder, credential_id)
    available = gw.http.post("/presentations/available", json={}, headers=gw.auth(client)).json()
    vp = presentation(holder, [vc], challenge=available["challenge"], domain=available["domain"])
    r = gw.http.post("/presentations/submissions", json={"verifiablePresentation": vp}, headers=gw.auth(client))
    assert r.status_code == 200, r.text
    submission = r.json()["submissionId"]
    stored = gw.store.credential(credential_id)
    assert stored is not None
    assert stored.source == f"presentation:{submission}"
    assert stored.document == vc
    links = gw.http.get(f"/links/{credential_id}", headers=setup.auth()).json()["credentials"]
    assert [(c["id"], c["source"]) for c in links] == [(credential_id, f"presentation:{submission}")]


def test_jobs_refuse_numbers_outside_their_domain_and_hostile_nesting(setup: Setup) -> None:
    s, gw = setup, setup.gateway
    before = gw.count(jobs_table)
    huge = json.loads(json.dumps(s.rows["authorized"]))
    huge["lines"][0]["quantity"] = 1e308
    r = _submit(s, entries=[s.rows["authorized"], huge])
    assert (r.status_code, r.json()["code"]) == (400, "JOB_INPUT_INVALID"), r.text
    assert "ENTRY_NUMBER_OUT_OF_RANGE at /lines/0/quantity" in r.json()["detail"]
    deep = b'{"entries": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}"
    headers = {**s.auth(), "Content-Type": "application/json"}
    nested = gw.http.post("/jobs", content=deep, headers=headers)
    assert nested.status_code == 400, nested.text
    assert gw.count(jobs_table) == before
