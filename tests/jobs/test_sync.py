"""`sync` with a real adapter found through the `vcgate.adapters` entry points: the example third-party CSV-ledger
package (examples/third_party_adapter), pip-installed into a private directory, in witness mode; its own evidence
checker judges the evidence against the tree head the policy pins."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from vcgate.adapters.sdk import CredentialMapping
from vcgate.gateway import KeyPair, Policy
from vcgate.gateway._jobs import VerificationEnvironment, sync
from vcgate.gateway._parties import Binding, ControlProof, Party
from vcgate.gateway._store import Store

from ._world import ROOT

EXAMPLE = ROOT / "examples" / "third_party_adapter"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("csv_adapter")
    source = work / "src"
    shutil.copytree(EXAMPLE, source)
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    return target


@pytest.mark.slow
def test_sync_stores_verifies_and_records_revocations(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    witness = KeyPair.generate()
    bundled = yaml.safe_load((site / "vcgate_example_csv" / "mappings" / "invoice.yaml").read_text())
    bundled["id"] = "https://example.org/vcgate/mappings/csv-invoice-witnessed"
    bundled["credential"]["issuer"] = {"mode": "witness"}
    mapping_file = tmp_path / "witness-invoice.yaml"
    mapping_file.write_text(yaml.safe_dump(bundled))
    shutil.copy(EXAMPLE / "sample" / "ledger.csv", tmp_path / "ledger.csv")
    config = {
        "id": "acme-invoices",
        "ledger": "acme-invoices",
        "path": "ledger.csv",
        "pageSize": 2,
        "mapping": str(mapping_file),
        "witness": witness.controller,
        "configDir": str(tmp_path),
    }
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.register_adapter("acme-invoices", "csv-ledger", config)
    store.put_mapping(CredentialMapping.from_file(mapping_file))
    # The registry binds the CSV ledger's signer column to Acme (registered by the analyst here, proof not shown).
    store.put_party(
        Party(
            "acme-mfg",
            "did:web:acme-manufacturing.example",
            ("Acme Manufacturing Ltd",),
            (),
            (
                Binding(
                    "csv-signer-column",
                    {"keyId": "key-acme-1"},
                    datetime(2024, 1, 1, tzinfo=UTC),
                    ControlProof("did-document"),
                ),
            ),
        )
    )
    report = sync(store, now=NOW, witness_key=witness).to_json()["adapters"]["acme-invoices"]
    assert (report["stored"], report["revocations"], report["unsigned"], report["errors"]) == (3, 1, 0, [])
    assert store.count_credentials() == 3
    again = sync(store, now=NOW, witness_key=witness).to_json()["adapters"]["acme-invoices"]
    assert (again["stored"], again["unchanged"], again["revocations"]) == (0, 0, 0)  # the cursor moved on
    store.set_cursor("acme-invoices", None)
    replayed = sync(store, now=NOW, witness_key=witness).to_json()["adapters"]["acme-invoices"]
    assert (replayed["stored"], replayed["unchanged"]) == (0, 3)  # idempotent from the start, too

    conformance = yaml.safe_load((EXAMPLE / "sample" / "config.yaml").read_text())["conformance"]["anchor"]
    raw = json.loads(json.dumps(dict(Policy.default().raw)))
    raw["trust"]["anchors"] = {"csv:acme-invoices": {"kind": "csv", **conformance}}
    raw["trust"]["witness_mode"] = {"accept": True, "witnesses": [witness.controller]}
    env = VerificationEnvironment(store, Policy.from_mapping(raw), checked_at=NOW)
    ids = sorted(store.credential_ids([("invoice-number", f"INV-2024-000{i}") for i in (1, 2, 3)]))
    views = env.views(ids)
    by_number = {v.subject["invoiceNumber"]: v for v in views.values()}
    assert by_number["INV-2024-0001"].status == "verified", by_number["INV-2024-0001"].failure_detail
    assert by_number["INV-2024-0001"].effective_issuer == "acme-mfg"
    assert by_number["INV-2024-0001"].evidence_status == "verified"
    # Row 4 revokes row 2 on the ledger.
    assert (by_number["INV-2024-0002"].status, by_number["INV-2024-0002"].failure) == ("invalid", "CREDENTIAL_REVOKED")
    store.close()


@pytest.mark.slow
def test_sync_cli_is_idempotent(site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `vcgate sync --db URL --witness-key K --json` as an analyst runs it: one pass stores, a second changes nothing.
    from typer.testing import CliRunner

    from vcgate.gateway.cli import app

    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    witness = KeyPair.generate()
    key_file = tmp_path / "witness.json"
    witness.to_file(key_file)
    bundled = yaml.safe_load((site / "vcgate_example_csv" / "mappings" / "invoice.yaml").read_text())
    bundled["id"] = "https://example.org/vcgate/mappings/csv-invoice-witnessed"
    bundled["credential"]["issuer"] = {"mode": "witness"}
    mapping_file = tmp_path / "witness-invoice.yaml"
    mapping_file.write_text(yaml.safe_dump(bundled))
    shutil.copy(EXAMPLE / "sample" / "ledger.csv", tmp_path / "ledger.csv")
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store.open(url)
    store.register_adapter(
        "acme-invoices",
        "csv-ledger",
        {
            "id": "acme-invoices",
            "ledger": "acme-invoices",
            "path": "ledger.csv",
            "mapping": str(mapping_file),
            "witness": witness.controller,
            "configDir": str(tmp_path),
        },
    )
    store.close()
    runner = CliRunner()
    first = runner.invoke(app, ["sync", "--db", url, "--witness-key", str(key_file), "--json"])
    assert first.exit_code == 0, first.output
    counts = json.loads(first.output)["adapters"]["acme-invoices"]
    assert (counts["stored"], counts["revocations"], counts["errors"]) == (3, 1, [])
    second = runner.invoke(app, ["sync", "--db", url, "--witness-key", str(key_file), "--json"])
    assert second.exit_code == 0, second.output
    again = json.loads(second.output)["adapters"]["acme-invoices"]
    assert (again["stored"], again["revocations"]) == (0, 0)
    bad = runner.invoke(app, ["sync", "--db", url, "--witness-key", str(tmp_path / "missing.json")])
    assert bad.exit_code == 2  # a missing input file is an error (2), not a usage error (64): README
    assert "cannot read --witness-key" in bad.output
