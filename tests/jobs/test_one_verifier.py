"""Issue 11, one verifier: `Verifier.check` runs all seven stages wherever vcgate verifies, and ledger evidence that
is made up, forged, unanchored or revoked is never `verified` — in process, by `vcgate verify` and in a job."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.gateway import DidResolver, KeyPair, Policy, PolicyError, Verifier, sign
from vcgate.gateway._jobs import VerificationEnvironment, store_verifier
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, ROOT, World, plain_checkers
from .test_cli import FACTORY, vcgate

INVOICE = ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json"
LICENCE = "IntellectualPropertyRightsLicenseCredential"
AT = datetime(2025, 6, 1, tzinfo=UTC)
CHECKED = "2025-06-01T00:00:00Z"


def _made_up(suite: str = "eddsa-rdfc-2022") -> tuple[dict[str, Any], KeyPair]:
    key = KeyPair.generate("ed25519")
    doc = json.loads(INVOICE.read_text())
    doc["issuer"]["id"] = key.controller
    return sign(doc, key, suite=suite, created=datetime(2025, 1, 1, tzinfo=UTC)), key


def _codes(result_json: dict[str, Any], stage: str) -> list[str]:
    return [p["code"] for c in result_json["checks"] if c["stage"] == stage for p in c.get("problems", [])]


def test_made_up_evidence_without_an_anchor_is_an_error_with_an_evidence_stage(tmp_path: Path) -> None:
    signed, _ = _made_up()
    result = Verifier(Policy.default(), DidResolver.offline()).check(signed, effective_at=AT, checked_at=AT)
    assert result.status == "error"
    assert _codes(result.to_json(), "evidence") == ["EVIDENCE_UNANCHORED"]
    # The proof itself is fine: only the evidence keeps it from being verified.
    assert all(c.status == "passed" for c in result.checks if c.stage == "proof")
    path = tmp_path / "made-up.json"
    path.write_text(json.dumps(signed))
    run = vcgate("verify", str(path), "--offline", "--json", "--at", CHECKED)
    assert run.returncode == 2, run.stdout
    out = json.loads(run.stdout)
    assert out["status"] == "error"
    assert "evidence" in {c["stage"] for c in out["checks"]}
    assert _codes(out, "evidence") == ["EVIDENCE_UNANCHORED"]
    assert out["unsafe"] == []


def test_a_credential_without_evidence_lists_every_stage() -> None:
    signed, _ = _made_up()
    del signed["proof"]
    del signed["evidence"]
    key = KeyPair.generate("ed25519")
    signed["issuer"]["id"] = key.controller
    signed = sign(signed, key, suite="eddsa-jcs-2022", created=datetime(2025, 1, 1, tzinfo=UTC))
    result = Verifier(Policy.default(), DidResolver.offline()).check(signed, effective_at=AT, checked_at=AT)
    assert result.status == "verified", result.to_json()
    stages = {c.stage for c in result.checks}
    assert {"parse", "data_model", "proof", "validity", "evidence", "binding", "replay", "status", "trust"} <= stages


def test_accepted_suites_apply_to_every_proof_of_a_proof_set() -> None:
    signed, key = _made_up("eddsa-rdfc-2022")
    del signed["evidence"]
    del signed["proof"]
    first = sign(signed, key, suite="eddsa-rdfc-2022", created=datetime(2025, 1, 1, tzinfo=UTC))
    both = sign(first, key, suite="eddsa-jcs-2022", created=datetime(2025, 1, 1, tzinfo=UTC))
    assert isinstance(both["proof"], list)
    assert len(both["proof"]) == 2
    only_rdfc = Policy.from_mapping(
        {**Policy.default().raw, "name": "rdfc-only", "accepted_suites": ["eddsa-rdfc-2022"]}
    )
    result = Verifier(only_rdfc, DidResolver.offline()).check(both, at=AT)
    assert result.status == "invalid"
    refused = [c.problem for c in result.checks if c.problem and c.problem.code == "CRYPTOSUITE_NOT_ACCEPTED"]
    assert [(p.pointer, "eddsa-jcs-2022" in p.detail) for p in refused] == [("/proof/1", True)]
    assert Verifier(Policy.default(), DidResolver.offline()).check(both, at=AT).status == "verified"


def _licence(world: World, rows: dict[str, dict[str, Any]], scenario: str) -> dict[str, Any]:
    g = rows[scenario]["lines"][0]["gtin"]
    found = [
        c
        for c in world.credentials.values()
        if LICENCE in c["type"] and c["credentialSubject"]["intellectualPropertyRightsProduct"]["gtin"] == g
    ]
    assert len(found) == 1, scenario
    return copy.deepcopy(found[0])


#: scenario whose licence is checked -> (status, a problem code that must be among the result's)
LICENCES = {
    "authorized": ("verified", None),
    "tampered_evidence": ("invalid", "EVIDENCE_INVALID"),
    "revoked_licence": ("invalid", "LEDGER_REVOKED"),
    "no_anchor": ("error", "EVIDENCE_UNANCHORED"),
    "forged_signature": ("invalid", None),
}


def _problem_codes(result_json: dict[str, Any]) -> set[str]:
    return {p["code"] for c in result_json["checks"] if c["status"] != "passed" for p in c.get("problems", [])}


@pytest.mark.slow
def test_cli_and_job_give_the_same_result_object(
    world: World, rows: dict[str, dict[str, Any]], store_path: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{store_path}"
    policy = world.policy()
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(dict(policy.raw)))
    store = Store.open(db)
    in_process = store_verifier(store, policy, checked_at=CHECKED_AT, checkers=plain_checkers())
    env = VerificationEnvironment(store, policy, checked_at=CHECKED_AT, checkers=plain_checkers())
    try:
        for scenario, (status, code) in LICENCES.items():
            doc = _licence(world, rows, scenario)
            direct = in_process.check(doc, effective_at=CHECKED_AT, checked_at=CHECKED_AT).to_json()
            assert direct["status"] == status, (scenario, direct)
            if code == "EVIDENCE_INVALID":
                assert any(c["stage"] == "evidence" and c["status"] == "failed" for c in direct["checks"]), scenario
            elif code is not None:
                assert code in _problem_codes(direct), (scenario, _problem_codes(direct))
            path = tmp_path / f"{scenario}.json"
            path.write_text(json.dumps(doc))
            run = vcgate(
                "verify",
                str(path),
                "--db",
                db,
                "--policy",
                str(policy_file),
                "--at",
                CHECKED,
                "--checkers",
                FACTORY,
                "--json",
            )
            assert run.returncode == {"verified": 0, "invalid": 1, "error": 2}[status], run.stderr
            assert json.loads(run.stdout) == direct, scenario
            # A job runs the same stages; only validity is left to linking (judged at each entry date).
            piped = env.pipeline.check(doc, checked_at=CHECKED_AT).to_json()["checks"]
            assert piped == [c for c in direct["checks"] if c["stage"] != "validity"], scenario
    finally:
        store.close()


def test_without_a_store_ledger_evidence_is_never_verified(
    world: World, rows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    # The honest licence, its anchor pinned: without a party registry and ledger reads the signer cannot be bound
    # and revocations are unknown, so it is an error, not a pass.
    doc = _licence(world, rows, "authorized")
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(dict(world.policy().raw)))
    path = tmp_path / "licence.json"
    path.write_text(json.dumps(doc))
    run = vcgate(
        "verify", str(path), "--offline", "--policy", str(policy_file), "--at", CHECKED, "--checkers", FACTORY, "--json"
    )
    assert run.returncode == 2, run.stdout
    out = json.loads(run.stdout)
    assert {"NATIVE_SIGNER_UNCHECKED", "LEDGER_STALE", "MAPPING_UNAVAILABLE"} <= _problem_codes(out)
    # The evidence itself checks against the pinned anchor.
    evidence = [c["status"] for c in out["checks"] if c["stage"] == "evidence"]
    assert evidence
    assert set(evidence) == {"passed"}, out["checks"]


def test_the_verification_core_imports_neither_sqlalchemy_nor_httpx() -> None:
    code = """
import importlib, importlib.util, sys, types
spec = importlib.util.find_spec("vcgate.gateway")
# Load the core without vcgate.gateway/__init__ (which re-exports the store and the API's helpers too).
pkg = types.ModuleType("vcgate.gateway")
pkg.__path__ = list(spec.submodule_search_locations)
sys.modules["vcgate.gateway"] = pkg
for name in ("_verify", "_ledger", "_pipeline", "_policy", "_proofs", "_canonical", "_dids", "_status", "_jose",
             "_keys", "_trust"):
    importlib.import_module("vcgate.gateway.verification." + name)
print(sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "httpx", "fastapi", "alembic"}))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_switches_that_weaken_verification_are_unsafe_logged_and_listed(caplog: pytest.LogCaptureFixture) -> None:
    assert Policy.default().unsafe == ()
    assert Policy.from_file(ROOT / "gateway" / "policies" / "w3c-interop.yaml").unsafe == (
        "unsafe_skip_issuer_key_binding",
    )
    with pytest.raises(PolicyError, match=r"check_status is now unsafe_skip_status"):
        Policy.from_mapping({**Policy.default().raw, "check_status": False})
    signed, _ = _made_up()
    del signed["evidence"]
    other = KeyPair.generate("ed25519")
    signed["issuer"]["id"] = other.controller  # signed by a key the issuer does not control
    raw = {**Policy.default().raw, "name": "lax", "unsafe_skip_issuer_key_binding": True, "unsafe_skip_schema": True}
    lax = Policy.from_mapping(raw)
    with caplog.at_level("WARNING", logger="vcgate.verify"):
        result = Verifier(lax, DidResolver.offline()).check(signed, at=AT)
    assert result.to_json()["unsafe"] == ["unsafe_skip_schema", "unsafe_skip_issuer_key_binding"]
    assert sum("unsafe_skip_issuer_key_binding" in r.getMessage() for r in caplog.records) == 1
    strict = Verifier(Policy.default(), DidResolver.offline()).check(signed, at=AT)
    assert strict.status == "invalid"
    assert strict.to_json()["unsafe"] == []
