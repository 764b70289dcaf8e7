"""Issue 11, "one verifier": the three ways to verify — ``vcgate verify --db`` (CLI), ``POST /credentials/verify`` (a
real uvicorn server on 127.0.0.1) and the job path (``VerificationEnvironment.from_spec``, what job workers build) —
give the same result object for the same credential, policy and instants.

The credentials are the demo's (``run_demo``: a plain ledger over uvicorn, anvil with the official EAS contracts, the
Fabric test peers; synced into a SQLite store): each stored one as it is, and hypothesis-made adversarial edits of them
(a changed claim value, a removed evidence entry, a changed evidence field, a moved validity bound). Nothing is
normalised in the result objects; the only translation is the API's transport: a 400/503 answer is RFC 9457 problem
details carrying the result, whose ``status`` member is the HTTP status and the result's own status is
``verificationStatus`` (tests/api_wiring/test_one_verifier_api.py). The job's per-credential pipeline result leaves the
``validity`` stage out (a job judges validity windows at each entry's date when linking); its other checks equal the
result object's. All three resolve DIDs offline (``--offline``; the API with remote DIDs off; a job's default): the
demo's parties use did:key.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api_wiring.conftest import Gateway, run_gateway
from tests.api_wiring.test_one_verifier_api import _result_object
from vcgate.gateway._demo import run_demo
from vcgate.gateway._jobs import EnvironmentSpec, VerificationEnvironment
from vcgate.gateway._store import Store, credentials_table
from vcgate.gateway.api._wiring import WiringSettings
from vcgate.gateway.cli import app
from vcgate.gateway.verification._policy import Policy

pytestmark = [pytest.mark.server, pytest.mark.slow]

VCGATE = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]
EXIT = {"verified": 0, "invalid": 1, "error": 2}
HTTP = {"verified": 200, "invalid": 400, "error": 503}


@dataclass
class Demo:
    """The demo's store and policy, the instant every way verifies at, a running API and the job environment."""

    db: str
    policy_file: Path
    at: datetime
    credentials: list[dict[str, Any]]
    gateway: Gateway
    headers: dict[str, str]
    job: VerificationEnvironment
    folder: Path

    @property
    def at_text(self) -> str:
        return self.at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def cli_args(self, path: Path) -> list[str]:
        return [
            "verify",
            str(path),
            "--json",
            "--offline",
            "--db",
            self.db,
            "--policy",
            str(self.policy_file),
            "--at",
            self.at_text,
            "--effective-at",
            self.at_text,
        ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    work = tmp_path_factory.mktemp("demo")
    result = run_demo(workdir=work, keep=True, workflows=["ipr"])
    assert result.ok, [e.to_json() for e in result.entries if not e.ok]
    run = work / "run"
    db = f"sqlite:///{run / 'vcgate.sqlite'}"
    store = Store.open(db)
    with store.db.transaction() as conn:
        ids = sorted(r[0] for r in conn.execute(select(credentials_table.c.id)))
    credentials = [dict(store.credentials(ids)[i].document) for i in ids]
    store.close()
    policy = Policy.load(run / "policy.yaml")
    at = datetime.now(UTC).replace(microsecond=0)
    job = VerificationEnvironment.from_spec(EnvironmentSpec(database_url=db, policy=dict(policy.raw), checked_at=at))
    with run_gateway(run / "vcgate.sqlite", WiringSettings(), policy=policy, clock=lambda: at) as gw:
        client = gw.client("did:web:customs.example", ["verify:credentials"])
        yield Demo(db, run / "policy.yaml", at, credentials, gw, gw.auth(client), job, work)
    job.store.close()


def via_api(demo: Demo, credential: dict[str, Any]) -> dict[str, Any]:
    r = demo.gateway.http.post("/credentials/verify", json={"verifiableCredential": credential}, headers=demo.headers)
    got = _result_object(r.status_code, r.json())
    assert r.status_code == HTTP[got["status"]], r.text
    return got


def via_job(demo: Demo, credential: dict[str, Any]) -> dict[str, Any]:
    result = demo.job.verifier.check(credential, effective_at=demo.at, checked_at=demo.at).to_json()
    # What a job's worker computes per credential: the same checks, validity left to linking at the entry date.
    piped = demo.job.pipeline.check(credential, checked_at=demo.at).to_json()
    assert piped["checks"] == [c for c in result["checks"] if c["stage"] != "validity"]
    assert (piped["issuer"], piped["effectiveIssuer"]) == (result["issuer"], result["effectiveIssuer"])
    return result


def via_cli(demo: Demo, credential: dict[str, Any], path: Path) -> dict[str, Any]:
    path.write_text(json.dumps(credential))
    run = CliRunner().invoke(app, demo.cli_args(path))
    out: dict[str, Any] = json.loads(run.stdout)
    assert run.exit_code == EXIT[out["status"]], run.output
    return out


def _codes(result: dict[str, Any]) -> set[str]:
    return {p["code"] for c in result["checks"] if c["status"] != "passed" for p in c.get("problems", [])}


def test_every_demo_credential_through_the_real_cli_api_and_job(demo: Demo) -> None:
    outcomes: Counter[tuple[str, str]] = Counter()
    first_of: dict[tuple[str, str], tuple[Path, dict[str, Any]]] = {}
    for i, credential in enumerate(demo.credentials):
        path = demo.folder / f"stored-{i}.json"
        cli = via_cli(demo, credential, path)
        assert via_api(demo, credential) == cli, path
        assert via_job(demo, credential) == cli, path
        kind = next(t for t in credential["type"] if t != "VerifiableCredential")
        outcomes[(kind, cli["status"])] += 1
        first_of.setdefault((kind, cli["status"]), (path, cli))
    # One credential of each kind and outcome also through the console entry point, each in its own process (two at
    # a time: the machine has 2 cores): the same result object as the in-process CLI, so as the API and the job.
    chosen = sorted(first_of.values(), key=lambda x: str(x[0]))
    for start in range(0, len(chosen), 2):
        batch = chosen[start : start + 2]
        procs = [subprocess.Popen([*VCGATE, *demo.cli_args(p)], stdout=subprocess.PIPE, text=True) for p, _ in batch]
        for (path, expected), proc in zip(batch, procs, strict=True):
            stdout, _ = proc.communicate(timeout=240)
            assert proc.returncode == EXIT[expected["status"]], path
            assert json.loads(stdout) == expected, path
    # The demo's story, independently of the three ways: every kind of credential verifies except the revoked
    # licence, the licence that expired, the forged licence presented with an entry and the tampered invoice.
    assert outcomes == {
        ("CommercialInvoiceCredential", "verified"): 10,
        ("CommercialInvoiceCredential", "invalid"): 1,
        ("GS1IdentificationKeyLicenseCredential", "verified"): 9,
        ("IntellectualPropertyRightsCredential", "verified"): 9,
        ("IntellectualPropertyRightsLicenseCredential", "verified"): 4,
        ("IntellectualPropertyRightsLicenseCredential", "invalid"): 3,
        ("ProductRegistrationCredential", "verified"): 12,
    }


# -- adversarial edits -------------------------------------------------------------------------------------------


def _leaves(value: Any, pointer: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*pointer, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*pointer, i))]
    return [pointer]


def _set(doc: Any, pointer: tuple[str | int, ...], value: Any) -> None:
    for step in pointer[:-1]:
        doc = doc[step]
    doc[pointer[-1]] = value


SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.booleans(),
    st.sampled_from(["", "2099-01-01T00:00:00Z", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"]),
)


@st.composite
def edited(draw: st.DrawFn, credentials: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A demo credential, unedited or with one adversarial edit; returns (what was done, the credential)."""
    original = draw(st.sampled_from(credentials))
    doc = copy.deepcopy(original)
    evidence = doc.get("evidence") if isinstance(doc.get("evidence"), list) else []
    kinds = ["none", "claim"] + (["drop_evidence", "evidence_field"] if evidence else []) + ["validity"]
    kind = draw(st.sampled_from(kinds))
    if kind == "claim":
        pointer = draw(st.sampled_from(_leaves(doc["credentialSubject"])))
        _set(doc["credentialSubject"], pointer, draw(SCALARS))
    elif kind == "drop_evidence":
        del evidence[draw(st.integers(0, len(evidence) - 1))]
    elif kind == "evidence_field":
        entry = evidence[draw(st.integers(0, len(evidence) - 1))]
        pointer = draw(st.sampled_from(_leaves(entry)))
        _set(entry, pointer, draw(SCALARS))
    elif kind == "validity":
        field = draw(st.sampled_from(["validFrom", "validUntil"]))
        doc[field] = draw(st.sampled_from(["1999-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "not a date"]))
    return (kind if doc != original else "none"), doc


def test_adversarial_edits_get_one_result_object_from_all_three(demo: Demo) -> None:
    seen: Counter[tuple[str, str]] = Counter()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(edited(demo.credentials))
    def one(case: tuple[str, dict[str, Any]]) -> None:
        kind, credential = case
        cli = via_cli(demo, credential, demo.folder / "edited.json")
        assert via_api(demo, credential) == cli
        assert via_job(demo, credential) == cli
        seen[(kind, cli["status"])] += 1
        if kind != "none":
            # An edit of a signed credential is never verified, whichever way it is checked.
            assert cli["status"] != "verified", (kind, credential)
            assert _codes(cli), cli

    one()
    assert {k for k, _ in seen} >= {"claim", "drop_evidence", "evidence_field"}, seen


def test_the_api_is_a_real_server_on_loopback(demo: Demo) -> None:
    assert demo.gateway.url.startswith("http://127.0.0.1:")
    assert httpx.get(demo.gateway.url + "/health", timeout=10).status_code == 200
