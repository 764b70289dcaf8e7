"""Adapter registration through the live API, gated by the conformance suite.

A partner serves the example CSV adapter with ``vcgate adapters serve`` in another process (signing with its own
key, behind a bearer token) and registers it with a descriptor signed by its DID. A first attempt names a broken
service (``broken-evidence``, whose evidence proves another row): the gateway runs the suite, stores the report and
does not activate it. Re-registering the same adapter at the good endpoint passes and activates it; a sync pulls its
credentials into the store and a verification job over ``/jobs`` uses them, each verified in full (proof, CSV
evidence with the gateway's own checker against the policy's anchor, signer binding, replay of the published
mapping). Unauthorised registrations change nothing; deactivation and re-registration are in the audit log.

The VC-API conformance cases against the live server are run by ``tests/conformance/test_vc_api_target.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.sdk import CredentialMapping, load_adapter, load_adapter_config
from vcgate.gateway import KeyPair, Policy, sign
from vcgate.gateway._parties import Binding, ControlProof, Party
from vcgate.gateway._store import adapters_table
from vcgate.gateway.api import NewClient
from vcgate.gateway.api._registrations import registration_id, registrations_table
from vcgate.gateway.api._wiring import WiringSettings

from .conftest import VCGATE, Gateway, Service, run_gateway, start_service

pytestmark = pytest.mark.server

TOKEN = "adapter-token-" + "7d1e" * 6
HEADER = (
    "seq,recorded_at,signer,revokes,seller_did,seller_name,buyer_name,invoice_number,invoice_date,gtin,quantity,"
    "total_cents,currency,valid_until"
)
GTIN = "00614141000012"
CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/vcgate/v1"]


def _rows(seller: str) -> list[str]:
    return [
        f"1,2024-03-01T08:00:00Z,key-1,,{seller},Acme Manufacturing Ltd,Blue Harbor Imports LLC,INV-1,01/03/2024,"
        f"{GTIN},1200,1850000,840,",
        f"2,2024-03-02T09:30:00Z,key-1,,{seller},Acme Manufacturing Ltd,Blue Harbor Imports LLC,INV-2,02/03/2024,"
        "00614141000029,300,462550,840,20250302",
        "3,2024-03-06T10:00:00Z,key-1,2,,,,,,,,,,",
        f"4,2024-03-07T11:00:00Z,key-1,,{seller},Acme Manufacturing Ltd,Blue Harbor Imports LLC,INV-4,07/03/2024,"
        f"{GTIN},7,10773,840,",
    ]


@dataclass
class World:
    gateway: Gateway
    partner_key: KeyPair
    partner: NewClient
    good: Service
    broken: Service
    anchor: dict[str, Any]
    mapping: CredentialMapping


@pytest.fixture(scope="module")
def world(example_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("registration")
    key = KeyPair.generate("ed25519")
    key_file = tmp / "partner-key.json"
    key.to_file(key_file)
    (tmp / "ledger.csv").write_text("\n".join([HEADER, *_rows(key.controller)]) + "\n", encoding="utf-8")
    config = tmp / "config.yaml"
    config.write_text("id: partner-invoices\nledger: partner-invoices\npath: ledger.csv\npageSize: 2\n")
    local = load_adapter("csv-ledger").create(load_adapter_config(config))
    anchor = local.anchor()  # type: ignore[attr-defined]  # the CSV example's tree head, what a policy pins
    text = resources.files("vcgate_example_csv").joinpath("mappings/invoice.yaml").read_text(encoding="utf-8")
    mapping = CredentialMapping.from_text(text, source="invoice.yaml")
    wiring = WiringSettings(
        checker_factory="tests.api_wiring._checkers:gateway_checkers",
        conformance_timeout=180,
        unsafe_allow_loopback_adapters=True,
    )
    good = start_service(example_site, "csv-ledger", config, tmp, key=key_file, token=TOKEN)
    broken = start_service(example_site, "broken-evidence", config, tmp, key=key_file, token=TOKEN)
    try:
        with run_gateway(tmp / "gateway.sqlite", wiring) as gateway:
            partner = gateway.client(key.controller, ["register:adapters"])
            yield World(gateway, key, partner, good, broken, anchor, mapping)
    finally:
        good.stop()
        broken.stop()


def descriptor(
    w: World, endpoint: str, *, key: KeyPair | None = None, name: str = "partner-invoices"
) -> dict[str, Any]:
    """The registration descriptor, signed by ``key`` (default: the partner)."""
    signer = key or w.partner_key
    now = datetime.now(UTC).replace(microsecond=0)
    doc = {
        "@context": CONTEXTS,
        "type": ["VerifiableCredential", "AdapterRegistrationCredential"],
        "issuer": signer.controller,
        "validFrom": (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        "credentialSubject": {
            "id": signer.controller,
            "type": "AdapterRegistration",
            "adapterName": name,
            "adapterEndpoint": endpoint,
            "conformance": {"anchor": w.anchor, "at": "2025-01-01T00:00:00Z", "sampleSize": 3},
            "publishedMappings": [dict(w.mapping.document)],
        },
    }
    return sign(doc, signer, suite="eddsa-rdfc-2022", created=now)


def state(w: World) -> dict[str, list[str]]:
    return w.gateway.snapshot(registrations_table, adapters_table)


RID_HOLDER: dict[str, str] = {}


def test_unauthorised_registrations_change_nothing(world: World) -> None:
    gw = world.gateway
    body = {"descriptor": descriptor(world, world.good.url), "token": TOKEN}
    before = state(world)
    no_token = gw.http.post("/adapters", json=body)
    assert (no_token.status_code, no_token.json()["code"]) == (401, "UNAUTHORIZED")
    jobs_only = gw.client(world.partner_key.controller, ["run:jobs", "read:jobs"])
    wrong_scope = gw.http.post("/adapters", json=body, headers=gw.auth(jobs_only))
    assert (wrong_scope.status_code, wrong_scope.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    other = gw.client(KeyPair.generate("ed25519").controller, ["register:adapters"])
    other_party = gw.http.post("/adapters", json=body, headers=gw.auth(other))
    assert (other_party.status_code, other_party.json()["code"]) == (403, "PARTY_MISMATCH")
    # Signed by someone else but claiming the partner's DID as issuer: the proof does not verify.
    forged = descriptor(world, world.good.url, key=KeyPair.generate("ed25519"))
    forged["issuer"] = forged["credentialSubject"]["id"] = world.partner_key.controller
    bad = gw.http.post("/adapters", json={"descriptor": forged}, headers=gw.auth(world.partner))
    assert (bad.status_code, bad.json()["code"]) == (400, "DESCRIPTOR_INVALID")
    assert bad.json()["detail"].startswith("SIGNATURE_INVALID")
    assert state(world) == before
    assert before[registrations_table.name] == []
    outcomes = [(e["path"], e["statusCode"]) for e in gw.audit() if e["path"] == "/adapters"]
    assert outcomes == [("/adapters", 401), ("/adapters", 403), ("/adapters", 403), ("/adapters", 400)]


def test_broken_adapter_is_not_activated_and_its_report_names_the_failing_case(world: World) -> None:
    gw = world.gateway
    r = gw.http.post(
        "/adapters",
        json={"descriptor": descriptor(world, world.broken.url), "token": TOKEN},
        headers=gw.auth(world.partner),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    rid = registration_id(world.partner_key.controller, "partner-invoices")
    assert body["id"] == rid
    assert r.headers["location"] == f"/adapters/{rid}"
    assert (body["state"], body["active"]) == ("rejected", False)
    assert body["conformance"] == {"passed": False, "failedCases": ["EVD-002"], "reason": "failed: EVD-002"}
    assert "token" not in json.dumps(body)
    assert gw.store.adapters() == []
    report = gw.http.get(f"/adapters/{rid}/report?format=json", headers=gw.auth(world.partner))
    assert report.status_code == 200
    cases = {c["id"]: c for c in report.json()["cases"]}
    assert [i for i, c in cases.items() if c["outcome"] == "failed"] == ["EVD-002"]
    # Rows 2 and 4 (even rows) carry the previous row's inclusion proof.
    assert cases["EVD-002"]["reason"] == "; ".join(
        f"row/{i}: evidence invalid: CSV_NOT_INCLUDED: inclusion proof does not reach root" for i in (2, 4)
    )
    html = gw.http.get(f"/adapters/{rid}/report", headers={**gw.auth(world.partner), "Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "EVD-002" in html.text
    assert "<script" not in html.text
    RID_HOLDER["rid"] = rid


def test_reregistered_adapter_passes_is_activated_and_feeds_a_job(world: World) -> None:
    gw = world.gateway
    rid = RID_HOLDER["rid"]
    r = gw.http.post(
        "/adapters",
        json={"descriptor": descriptor(world, world.good.url), "token": TOKEN},
        headers=gw.auth(world.partner),
    )
    assert r.status_code == 200, r.text  # the same adapter again: its registration is updated
    body = r.json()
    assert (body["id"], body["state"], body["active"], body["attempts"]) == (rid, "active", True, 2)
    assert body["conformance"]["passed"] is True
    assert body["conformance"]["failedCases"] == []
    assert body["adapter"]["kind"] == "csv"
    assert body["adapter"]["ledgerId"] == "csv:partner-invoices"
    (registered,) = gw.store.adapters()
    assert (registered.name, registered.plugin, registered.config["url"]) == (rid, "remote", world.good.url)
    report = gw.http.get(f"/adapters/{rid}/report?format=json", headers=gw.auth(world.partner)).json()
    assert report["passed"] is True
    assert {c["outcome"] for c in report["cases"]} <= {"passed", "opted-out"}

    # A CBP analyst pulls the active adapter into the store and runs a job over an entry citing invoice INV-1.
    analyst = gw.client("did:web:customs.example", ["run:jobs", "read:jobs"])
    synced = gw.http.post("/sync", headers=gw.auth(analyst))
    assert synced.status_code == 200, synced.text
    counts = synced.json()["adapters"][rid]
    assert (counts["stored"], counts["revocations"], counts["unsigned"], counts["errors"]) == (3, 1, 0, [])
    # The seller party and its ledger identity (the CSV ledger's signer column is not a key, so there is no
    # cryptographic proof of control to check: an operator enters it directly).
    binding = Binding(
        "csv-signer-column", {"keyId": "key-1"}, datetime(2020, 1, 1, tzinfo=UTC), ControlProof("did-document")
    )
    gw.store.put_party(Party("acme-mfg", world.partner_key.controller, ("Acme Manufacturing Ltd",), (), (binding,)))
    raw = json.loads(json.dumps(dict(Policy.default().raw)))
    raw["name"] = "registration-test"
    raw["trust"]["anchors"] = {"csv:partner-invoices": {"kind": "csv", **world.anchor}}
    entry = {
        "entryNumber": "E-0001",
        "importerOfRecord": "95-481237600",
        "entryDate": "2024-09-02",
        "invoiceNumber": "INV-1",
        "lines": [{"line": 1, "gtin": GTIN, "quantity": 100}],
    }
    submitted = gw.http.post("/jobs", json={"entries": [entry], "policy": raw}, headers=gw.auth(analyst))
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["jobId"]
    status = gw.wait_for_job(job_id, gw.auth(analyst))
    assert (status["state"], status["done"], status["entries"]) == ("finished", 1, 1)
    results = gw.http.get(f"/jobs/{job_id}/results", headers=gw.auth(analyst)).json()
    (row,) = results["rows"]
    (line,) = row["result"]["lines"]
    steps = {s["step"]: s for s in line["steps"]}
    invoice = steps["invoice"]
    assert invoice["status"] == "passed", invoice
    (invoice_id,) = invoice["credentials"]
    assert gw.store.credential(invoice_id).source == rid  # type: ignore[union-attr]
    assert invoice["evidence"] == ["csv:partner-invoices/row/1"]
    assert steps["quantity"]["status"] == "passed"
    # Verified in full by the gateway: proof, CSV evidence (its own checker, the policy's anchor), signer binding.
    (summary,) = [c for c in row["result"]["credentials"] if c["id"] == invoice_id]
    assert (summary["status"], summary["evidenceStatus"], summary["effectiveIssuer"]) == (
        "verified",
        "verified",
        "acme-mfg",
    )
    # Nothing else of the chain exists in this store: the job says so instead of trusting the adapter.
    assert line["verdict"] == "not_authorized"
    assert "GTIN_UNKNOWN" in line["reasons"]


def test_deactivation_and_reregistration_are_audited(world: World) -> None:
    gw = world.gateway
    rid = RID_HOLDER["rid"]
    other = gw.client(KeyPair.generate("ed25519").controller, ["register:adapters"])
    refused = gw.http.delete(f"/adapters/{rid}", headers=gw.auth(other))
    assert (refused.status_code, refused.json()["code"]) == (403, "PARTY_MISMATCH")
    assert len(gw.store.adapters()) == 1
    r = gw.http.post(f"/adapters/{rid}/deactivate", headers=gw.auth(world.partner))
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["active"]) == ("deactivated", False)
    assert gw.store.adapters() == []
    again = gw.http.delete(f"/adapters/{rid}", headers=gw.auth(world.partner))
    assert (again.status_code, again.json()["code"]) == (409, "ADAPTER_NOT_ACTIVE")
    listed = gw.http.get("/adapters", headers=gw.auth(world.partner)).json()["adapters"]
    assert [(a["id"], a["state"]) for a in listed] == [(rid, "deactivated")]
    assert gw.http.get("/adapters", headers=gw.auth(other)).json()["adapters"] == []
    trail = [(e["method"], e["path"], e["statusCode"], e["detail"]) for e in gw.audit() if e["target"] == rid]
    # The refusals of the first test named this registration too (its descriptor's issuer is the partner).
    assert [t[:3] for t in trail] == [
        ("POST", "/adapters", 403),
        ("POST", "/adapters", 400),
        ("POST", "/adapters", 201),
        ("POST", "/adapters", 200),
        ("DELETE", f"/adapters/{rid}", 403),
        ("POST", f"/adapters/{rid}/deactivate", 200),
        ("DELETE", f"/adapters/{rid}", 409),
    ]
    assert trail[2][3] == "registered: rejected; failed: EVD-002"
    assert trail[3][3].startswith("re-registered (was rejected): active; every adapter case passed")
    assert trail[5][3] == "deactivated"


def test_cli_register_reactivates_the_adapter(world: World, tmp_path: Path) -> None:
    """``vcgate adapters register`` in another process: signs the descriptor with --key, gets a token with the
    client credentials, and re-registers the deactivated adapter (exit 0, active again)."""
    gw = world.gateway
    rid = RID_HOLDER["rid"]
    signed = descriptor(world, world.good.url)
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    path = tmp_path / "descriptor.json"
    path.write_text(json.dumps(unsigned), encoding="utf-8")
    key_file = tmp_path / "partner-key.json"
    world.partner_key.to_file(key_file)
    client = gw.client(world.partner_key.controller, ["register:adapters"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCGATE_")}
    base = [*VCGATE, "adapters", "register", "--url", gw.url, "--descriptor", str(path)]
    usage = subprocess.run(base, capture_output=True, text=True, timeout=60, env=env)
    assert usage.returncode == 64
    assert "the descriptor has no proof" in usage.stderr
    args = [*base, "--key", str(key_file), "--client-id", client.info.client_id, "--adapter-token", TOKEN, "--json"]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=120, env={**env, "VCGATE_CLIENT_SECRET": client.secret}
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["id"], answer["state"], answer["attempts"]) == (rid, "active", 3)
    assert [a.name for a in gw.store.adapters()] == [rid]
    (last,) = [e for e in gw.audit() if e["target"] == rid][-1:]
    assert last["detail"].startswith("re-registered (was deactivated): active")
    assert last["clientId"] == client.info.client_id
