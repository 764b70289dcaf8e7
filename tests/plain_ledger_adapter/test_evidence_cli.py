"""`vcgate evidence check FILE --anchors A` checks plain-ledger evidence offline with no adapter configuration
(issue 11: evidence checkers need no connection settings), and refuses a tampered record."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.plain_ledger import SubmitterKey

from .conftest import Ledger, sample

pytestmark = pytest.mark.server

AT = "2030-01-01T00:00:00Z"


def vcgate(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from vcgate.gateway.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def test_evidence_check_needs_no_config(ledger: Ledger, gs1: SubmitterKey, tmp_path: Path) -> None:
    for _ in range(2):
        ledger.append(gs1, sample("entry"))
    index = ledger.append(gs1, sample("prefix"))
    adapter = ledger.adapter()
    credential: dict[str, Any] = adapter.translate(adapter.fetch(f"entries/{index}")).to_json()
    ledger_id = credential["evidence"][0]["ledgerId"]
    anchors = tmp_path / "anchors.json"
    anchors.write_text(json.dumps({ledger_id: {"kind": "plain", "logVerifierKey": ledger.vkey}}))
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(credential))
    ok = vcgate("evidence", "check", str(path), "--anchors", str(anchors), "--at", AT, "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["status"] == "verified"

    tampered = copy.deepcopy(credential)
    tampered["evidence"][0]["ledgerHeight"] = tampered["evidence"][0]["ledgerHeight"] + 1000
    path.write_text(json.dumps(tampered))
    bad = vcgate("evidence", "check", str(path), "--anchors", str(anchors), "--at", AT, "--json")
    assert bad.returncode == 1, bad.stdout
    assert json.loads(bad.stdout)["status"] == "invalid"

    path.write_text(json.dumps(credential))
    unanchored = vcgate("evidence", "check", str(path), "--at", AT, "--json")
    assert unanchored.returncode == 2, unanchored.stdout
