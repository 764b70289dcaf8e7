"""The command line over the Ethereum adapter: `vcgate adapters sync ethereum` writes signed credentials (and the
ledger revocation, and problems naming their records), and `vcgate evidence check` checks a credential's evidence
offline against an anchors file, with `vcgate verify`'s exit codes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CHAIN_ID, World

pytestmark = pytest.mark.server

AT = "2027-06-01T00:00:00Z"  # after the blocks (anvil uses the wall clock), inside the licence term


def vcgate(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from vcgate.gateway.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def synced(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("cli")
    config = folder / "ethereum.json"
    config.write_text(json.dumps(world.config()))
    key = folder / "brand.key.json"
    world.brand.to_file(key)
    anchors = folder / "anchors.yaml"
    anchors.write_text(yaml.safe_dump({f"eip155:{CHAIN_ID}": world.anchor()}))
    out = folder / "out"
    args = ["adapters", "sync", "ethereum", "--config", str(config), "--out", str(out), "--key", str(key)]
    first = vcgate(*args, "--suite", "eddsa-jcs-2022", "--json")
    second = vcgate(*args, "--suite", "eddsa-jcs-2022", "--json")
    return {"folder": folder, "out": out, "anchors": anchors, "first": first, "second": second, "key": key}


def test_sync_writes_signed_credentials(world: World, synced: dict[str, Any]) -> None:
    first = synced["first"]
    # One record cannot become a credential (an attestation under a schema no mapping covers): exit 1, named.
    assert first.returncode == 1, first.stderr
    summary = json.loads(first.stdout)
    assert summary["complete"] is True
    assert summary["signed"] is True
    assert summary["credentialsWritten"] == 6
    assert summary["revocations"] == 1
    assert [f["locator"] for f in summary["failed"]] == ["eas/0x" + world.unknown_uid.hex()]
    assert "ETHEREUM_UNKNOWN_SCHEMA" in summary["failed"][0]["error"]
    files = sorted(p for p in synced["out"].glob("*-*-*.json"))  # <uuid>.json
    assert len(files) == 6
    credentials = [json.loads(p.read_text()) for p in files]
    assert all(c["proof"]["cryptosuite"] == "eddsa-jcs-2022" for c in credentials)
    revoked = json.loads((synced["out"] / "revocations.json").read_text())
    assert len(revoked) == 1
    (revoked_id,) = revoked
    assert revoked[revoked_id]["supersedes"] == "eas/0x" + world.revoked_uid.hex()
    assert revoked_id in {c["id"] for c in credentials}

    # The second run resumes after the saved cursor: nothing new, nothing rewritten.
    second = json.loads(synced["second"].stdout)
    assert synced["second"].returncode == 0, synced["second"].stderr
    assert second["recordsRead"] == 0
    assert second["credentialsWritten"] == 0


def licence_file(synced: dict[str, Any]) -> Path:
    for path in sorted(synced["out"].glob("*-*-*.json")):
        doc = json.loads(path.read_text())
        if doc["evidence"][0]["locator"].startswith("eas/"):
            return path
    raise AssertionError("no licence credential written")


def test_evidence_check_verified(synced: dict[str, Any]) -> None:
    path = licence_file(synced)
    result = vcgate("evidence", "check", str(path), "--anchors", str(synced["anchors"]), "--at", AT, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "verified"
    (item,) = report["evidence"]
    assert item["ledgerKind"] == "ethereum"
    assert item["ledgerId"] == f"eip155:{CHAIN_ID}"
    assert {c["name"] for c in item["checks"]} >= {"ethereum.receipt_inclusion", "ethereum.eas_uid", "ethereum.anchor"}
    # `vcgate verify` runs all seven stages (issue 11). Under a policy pinning the chain's anchor, offline and with no
    # store: the proof, data model, strict terms, validity and evidence stages pass; the stages that need a store
    # (party registry, published mappings, ledger reads) are undecided, so the verdict is `error` (2), never verified.
    policy = yaml.safe_load((Path(__file__).parents[2] / "gateway" / "policies" / "default.yaml").read_text())
    policy["trust"]["anchors"] = yaml.safe_load(synced["anchors"].read_text())
    policy_file = path.parent.parent / "anchored-policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    verified = vcgate("verify", str(path), "--offline", "--at", AT, "--policy", str(policy_file), "--json")
    assert verified.returncode == 2, verified.stdout + verified.stderr
    result = json.loads(verified.stdout)
    assert result["status"] == "error"
    by_stage: dict[str, set[str]] = {}
    for check in result["checks"]:
        by_stage.setdefault(check["stage"], set()).add(check["status"])
    for stage in ("parse", "data_model", "proof"):
        assert by_stage[stage] == {"passed"}, (stage, result["checks"])
    assert by_stage["evidence"] <= {"passed", "not_applicable"}, result["checks"]
    assert "passed" in by_stage["evidence"], result["checks"]
    assert "failed" not in {status for statuses in by_stage.values() for status in statuses}
    undecided = {p["code"] for c in result["checks"] if c["status"] == "error" for p in c["problems"]}
    assert undecided == {"NATIVE_SIGNER_UNCHECKED", "MAPPING_UNAVAILABLE", "LEDGER_STALE"}


def test_evidence_check_invalid_error_and_usage(synced: dict[str, Any], tmp_path: Path) -> None:
    doc = json.loads(licence_file(synced).read_text())
    tampered = copy.deepcopy(doc)
    tampered["evidence"][0]["rawRecord"]["fields"]["territories"] = ["US", "CA", "MX"]
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    result = vcgate("evidence", "check", str(bad), "--anchors", str(synced["anchors"]), "--at", AT, "--json")
    assert result.returncode == 1
    problems = [p["code"] for c in json.loads(result.stdout)["evidence"][0]["checks"] for p in c.get("problems", [])]
    assert problems == ["ethereum.record_mismatch"]

    # No anchor pinned for the chain: undecided (2), never verified.
    no_anchor = vcgate("evidence", "check", str(licence_file(synced)), "--at", AT, "--json")
    assert no_anchor.returncode == 2
    assert "ethereum.no_anchor" in no_anchor.stdout

    # A policy file carries the same anchors under trust.anchors.
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"trust": {"anchors": yaml.safe_load(synced["anchors"].read_text())}}))
    assert vcgate("evidence", "check", str(licence_file(synced)), "--anchors", str(policy), "--at", AT).returncode == 0

    # A missing input file exits 2 (issue 13: the README's exit-code table); a bad --at is a usage error (64).
    missing = vcgate("evidence", "check", str(tmp_path / "missing.json"))
    assert missing.returncode == 2
    assert "missing.json" in missing.stderr
    assert vcgate("evidence", "check", str(bad), "--at", "yesterday").returncode == 64
    no_evidence = tmp_path / "plain.json"
    no_evidence.write_text(json.dumps({k: v for k, v in doc.items() if k != "evidence"}))
    result = vcgate("evidence", "check", str(no_evidence), "--json")
    assert result.returncode == 1
    assert "EVIDENCE_MISSING" in result.stdout
    unknown_kind = copy.deepcopy(doc)
    unknown_kind["evidence"][0]["ledgerKind"] = "no-such-ledger"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(unknown_kind))
    result = vcgate("evidence", "check", str(other), "--json")
    assert result.returncode == 2
    assert "ADAPTER_MISSING" in result.stdout
