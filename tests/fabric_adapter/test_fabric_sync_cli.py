"""``vcgate adapters sync fabric --config C``: the generic sync command over the Fabric adapter and the test peers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests._verdicts import sound_but_unanchored
from vcgate.adapters.fabric.testing import ProductLedger, TestPeer
from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier
from vcgate.gateway.cli import app

from .conftest import free_port, make_config, write_config

pytestmark = pytest.mark.server
runner = CliRunner()


def _config_file(ledger: ProductLedger, peers: list[TestPeer], files: Path, name: str, **extra: Any) -> Path:
    config = make_config(ledger, peers, files, **extra)
    config.pop("witness")  # the key given with --key becomes the witness
    return write_config(config, files / name)


def _sync(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["adapters", "sync", "fabric", *args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}


def test_sync_signs_writes_and_resumes(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path, tmp_path: Path, witness_key: KeyPair
) -> None:
    config = _config_file(ledger, peers, network_files, "sync.yaml")
    key = tmp_path / "witness.json"
    witness_key.to_file(key)
    out = tmp_path / "credentials"

    # Stop after the first page (two records), as an interrupted sync would.
    code, first = _sync("--config", str(config), "--out", str(out), "--key", str(key), "--limit", "1")
    assert code == 0, first
    assert first["complete"] is False
    assert first["recordsRead"] == 2
    assert first["credentialsWritten"] == 2
    # The next run resumes from the saved cursor: nothing skipped, nothing repeated.
    code, second = _sync("--config", str(config), "--out", str(out), "--key", str(key))
    assert code == 0
    assert second["complete"] is True
    assert second["recordsRead"] == 5
    assert second["credentialsWritten"] == 3
    assert second["revocations"] == 2
    assert second["credentialsUnchanged"] == 0
    assert sorted(s["reason"] for s in second["skipped"]) == [
        "validation code DUPLICATE_TXID",
        "validation code ENDORSEMENT_POLICY_FAILURE",
    ]
    files = sorted(out.glob("*.json"))
    credentials = [json.loads(p.read_text()) for p in files if p.name not in ("revocations.json", ".vcgate-sync.json")]
    assert len(credentials) == 5
    verifier = Verifier(Policy.default(), DidResolver.offline())
    for credential in credentials:
        assert Path(out / (credential["id"].removeprefix("urn:uuid:") + ".json")).is_file()
        # The CLI signs at the current time (the proof's `created`), so verify as of now.
        assert sound_but_unanchored(verifier.check(credential, at=datetime.now(UTC)))
    # Ledger revocations name the credentials of the superseded and the deleted product.
    revoked = json.loads((out / "revocations.json").read_text())
    by_locator = {c["evidence"][0]["locator"]: c["id"] for c in credentials}
    assert set(revoked) == {
        by_locator["2/0/products/kv/product~00614141000012"],
        by_locator["2/1/products/kv/product~00614141000029"],
    }
    # Nothing new: a third run reads nothing; --restart re-reads everything but rewrites no file.
    code, third = _sync("--config", str(config), "--out", str(out), "--key", str(key))
    assert code == 0
    assert third["recordsRead"] == 0
    before = {p: p.read_bytes() for p in out.glob("*.json")}
    code, again = _sync("--config", str(config), "--out", str(out), "--key", str(key), "--restart")
    assert code == 0
    assert again["credentialsUnchanged"] == 5
    assert again["credentialsWritten"] == 0
    assert {p: p.read_bytes() for p in out.glob("*.json")} == before


def test_sync_without_a_key_prints_a_summary(ledger: ProductLedger, peers: list[TestPeer], network_files: Path) -> None:
    config = make_config(ledger, peers, network_files)
    path = write_config(config, network_files / "plain.yaml")
    result = runner.invoke(app, ["adapters", "sync", "fabric", "--config", str(path)])
    assert result.exit_code == 0, result.output
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result.stdout.splitlines()
        if line.count("│") == 3
    }
    assert rows["records read"] == "7"
    assert rows["credentials written"] == "5"
    assert rows["revocations"] == "2"
    assert rows["skipped by the adapter"] == "2"
    assert rows["finished"] == "yes"


def test_sync_with_a_peer_down_exits_2_without_a_traceback(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path, tmp_path: Path
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    path = write_config(make_config(ledger, peers, network_files, addresses=[dead, dead]), network_files / "down.yaml")
    result = runner.invoke(app, ["adapters", "sync", "fabric", "--config", str(path), "--out", str(tmp_path), "--json"])
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["complete"] is False
    assert "UNAVAILABLE" in summary["error"]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_key_that_is_not_the_witness_fails_each_record(
    ledger: ProductLedger, peers: list[TestPeer], network_files: Path, tmp_path: Path
) -> None:
    path = write_config(make_config(ledger, peers, network_files), network_files / "other-witness.yaml")
    key = tmp_path / "k.json"
    KeyPair.generate().to_file(key)
    code, summary = _sync("--config", str(path), "--key", str(key))
    assert code == 1
    assert len(summary["failed"]) == 5
    assert "names issuer 'did:web:cbp.example'" in summary["failed"][0]["error"]


def test_usage_errors(network_files: Path) -> None:
    result = runner.invoke(app, ["adapters", "sync", "no-such-adapter", "--config", str(network_files / "x.yaml")])
    assert result.exit_code == 64
    result = runner.invoke(app, ["adapters", "sync", "fabric", "--config", str(network_files / "missing.yaml")])
    assert result.exit_code == 2  # a missing input file is an error (2), not a usage error (64): README
