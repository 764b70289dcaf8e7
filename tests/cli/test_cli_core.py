"""`vcgate keys generate`, `vcgate issue` and `vcgate verify` as a user runs them: real processes, real exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVOICE = ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json"


def vcgate(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    code = "from vcgate.gateway.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def key_file(workdir: Path) -> Path:
    path = workdir / "issuer.json"
    r = vcgate("keys", "generate", "--type", "ed25519", "--out", str(path), "--json")
    assert r.returncode == 0, r.stderr
    public = json.loads(r.stdout)
    assert "secretKeyMultibase" not in public
    assert public["publicKeyMultibase"].startswith("z6Mk")
    return path


@pytest.fixture(scope="module")
def signed_file(workdir: Path, key_file: Path) -> Path:
    key = json.loads(key_file.read_text())
    doc = json.loads(INVOICE.read_text())
    doc["issuer"]["id"] = key["controller"]
    del doc["evidence"]  # made-up LedgerEvidence is never verified (tests/verify/test_one_verifier.py)
    unsigned = workdir / "unsigned.json"
    unsigned.write_text(json.dumps(doc))
    r = vcgate(
        "issue",
        "--key",
        str(key_file),
        "--suite",
        "eddsa-rdfc-2022",
        "--created",
        "2025-01-01T00:00:00Z",
        str(unsigned),
    )
    assert r.returncode == 0, r.stderr
    out = workdir / "signed.json"
    out.write_bytes(r.stdout)
    return out


def test_key_file_is_private(key_file: Path) -> None:
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "secretKeyMultibase" in json.loads(key_file.read_text())


def test_key_generate_refuses_overwrite(key_file: Path) -> None:
    r = vcgate("keys", "generate", "--out", str(key_file))
    assert r.returncode == 64
    assert b"exists" in r.stderr


def test_key_generate_p256(workdir: Path) -> None:
    r = vcgate("keys", "generate", "--type", "p256", "--out", str(workdir / "p256.json"), "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["publicKeyMultibase"].startswith("zDn")


def test_verify_verified_exit_0(signed_file: Path) -> None:
    r = vcgate("verify", str(signed_file), "--json", "--offline", "--at", "2026-01-01T00:00:00Z")
    assert r.returncode == 0, r.stdout
    result: dict[str, Any] = json.loads(r.stdout)
    assert result["verified"] is True
    assert result["status"] == "verified"


def test_verify_human_output(signed_file: Path) -> None:
    r = vcgate("verify", str(signed_file), "--offline", "--at", "2026-01-01T00:00:00Z")
    assert r.returncode == 0
    assert b"VERIFIED" in r.stdout
    assert b"signature" in r.stdout


def test_verify_tampered_exit_1(signed_file: Path, workdir: Path) -> None:
    doc = json.loads(signed_file.read_text())
    doc["credentialSubject"]["invoiceNumber"] = "INV-0000001"
    tampered = workdir / "tampered.json"
    tampered.write_text(json.dumps(doc))
    r = vcgate("verify", str(tampered), "--json", "--offline")
    assert r.returncode == 1
    result = json.loads(r.stdout)
    assert result["status"] == "invalid"
    assert [p["code"] for p in result["problemDetails"]] == ["SIGNATURE_INVALID"]


def test_verify_error_exit_2(signed_file: Path, workdir: Path) -> None:
    doc = json.loads(signed_file.read_text())
    doc["proof"]["verificationMethod"] = "did:example:nobody#key-1"
    odd = workdir / "unresolvable.json"
    odd.write_text(json.dumps(doc))
    r = vcgate("verify", str(odd), "--json", "--offline")
    assert r.returncode == 2
    assert json.loads(r.stdout)["status"] == "error"


def test_verify_from_stdin(signed_file: Path) -> None:
    r = vcgate("verify", "-", "--json", "--offline", stdin=signed_file.read_bytes())
    assert r.returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ("verify",),
        ("verify", "x.json", "--at", "yesterday"),
        ("verify", "x.json", "--at", "2026-01-01T00:00:00"),
        ("no-such-command",),
    ],
)
def test_usage_errors_exit_64(args: tuple[str, ...], workdir: Path) -> None:
    (workdir / "x.json").write_text("{}")
    r = subprocess.run(
        [sys.executable, "-c", "from vcgate.gateway.cli import main; main()", *args],
        capture_output=True,
        timeout=60,
        cwd=workdir,
    )
    assert r.returncode == 64, (args, r.stdout, r.stderr)
    assert b"Traceback" not in r.stderr


def test_malformed_input_exit_1_no_traceback(workdir: Path) -> None:
    bad = workdir / "bad.json"
    bad.write_text('{"@context": [')
    r = vcgate("verify", str(bad), "--json", "--offline")
    assert r.returncode == 1
    assert json.loads(r.stdout)["problemDetails"][0]["code"] == "MALFORMED_JSON"
    assert b"Traceback" not in r.stderr


def test_bad_policy_is_usage_error(signed_file: Path, workdir: Path) -> None:
    pol = workdir / "policy.yaml"
    pol.write_text("version: 2\nname: x\n")
    r = vcgate("verify", str(signed_file), "--policy", str(pol))
    assert r.returncode == 64
    assert b"invalid policy" in r.stderr
