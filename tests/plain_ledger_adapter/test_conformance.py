"""The shared conformance suite passes against the plain-ledger adapter (``vcgate conformance run --target
adapter:plain-ledger``), with a ledger holding every bundled record type, a revocation and an unmapped record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vcgate.adapters.plain_ledger import BUNDLED_MAPPINGS, SubmitterKey

from .conftest import Ledger, sample

pytestmark = pytest.mark.server


def test_conformance_suite_passes(ledger: Ledger, gs1: SubmitterKey, tmp_path: Path) -> None:
    first = [ledger.append(gs1, sample(name)) for name in ("prefix", "key", "entry", "prefix", "key", "entry")]
    ledger.revoke(gs1, first[0])
    ledger.append(gs1, {"recordType": "mill-test-report", "heatNumber": "H-7"})
    config = {
        "id": "gs1us-registry",
        "url": ledger.url,
        "logVerifierKey": ledger.vkey,
        "pageSize": 2,
        "conformance": {
            "anchor": {"kind": "plain", "logVerifierKey": ledger.vkey},
            "mappings": [f"package:vcgate.adapters.plain_ledger/mappings/{name}.yaml" for name in BUNDLED_MAPPINGS],
        },
    }
    path = tmp_path / "plain-ledger.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from vcgate.gateway.cli import main; main()",
            "conformance",
            "run",
            "--target",
            "adapter:plain-ledger",
            "--config",
            str(path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, json.dumps(report, indent=1)[:4000]
    summary = report["summary"]
    assert summary["failed"] == 0
    assert summary["opted-out"] == 0
    assert summary["passed"] == summary["total"] >= 20
