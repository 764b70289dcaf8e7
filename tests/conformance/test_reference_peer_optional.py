"""The reference peer is optional (issue 13): without Node.js the interop case PRF-003 is opted out with a reason
saying how to get the peer, never failed; `vcgate conformance setup-peer` installs it outside the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vcgate.conformance_tests._reference_peer import UNAVAILABLE

from .conftest import CSV_CONFIG, run

CLI = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]


def test_without_node_the_interop_case_is_opted_out(example_site: Path, tmp_path: Path) -> None:
    no_node = tmp_path / "bin"  # a PATH with no node on it, and an empty user cache
    no_node.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "VCGATE_REFERENCE_PEER"}
    env |= {"PATH": str(no_node), "PYTHONPATH": str(example_site), "VCGATE_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [*CLI, "conformance", "run", "--target", "adapter:csv-ledger", "--config", str(CSV_CONFIG), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cases = {c["id"]: c for c in json.loads(proc.stdout)["cases"]}
    assert cases["PRF-003"]["outcome"] == "opted-out"
    assert cases["PRF-003"]["reason"] == UNAVAILABLE
    assert UNAVAILABLE == "reference peer unavailable (install Node ≥ 20 and run vcgate conformance setup-peer)"
    assert [c for c in cases.values() if c["outcome"] == "failed"] == []


def test_an_explicitly_named_peer_that_is_missing_fails_the_case(example_site: Path, tmp_path: Path) -> None:
    result = run("adapter:csv-ledger", CSV_CONFIG, reference_peer=tmp_path / "nowhere" / "vc-peer.mjs")
    outcomes = {c.id: c for c in result.report.cases} if result.report else {}
    assert outcomes["PRF-003"].outcome == "failed"
    assert "does not exist" in outcomes["PRF-003"].reason


@pytest.mark.node
@pytest.mark.slow
def test_setup_peer_installs_a_working_peer_outside_the_source_tree(example_site: Path, tmp_path: Path) -> None:
    target = tmp_path / "peer"
    proc = subprocess.run(
        [*CLI, "conformance", "setup-peer", "--dir", str(target), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    script = Path(json.loads(proc.stdout)["referencePeer"])
    assert script == target / "vc-peer.mjs"
    assert (target / "node_modules" / "@digitalbazaar" / "vc" / "package.json").is_file()
    result = run("adapter:csv-ledger", CSV_CONFIG, reference_peer=script)
    assert result.report is not None
    outcomes = {c.id: c for c in result.report.cases}
    assert outcomes["PRF-003"].outcome == "passed", outcomes["PRF-003"].reason
