"""The example third-party adapter package (examples/third_party_adapter) pip-installs, registers through the
``vcgate.adapters`` entry point, shows in ``vcgate adapters list`` and translates records deterministically."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.sdk import (
    Adapter,
    CredentialMapping,
    Cursor,
    SourceRecord,
    check_replay,
    load_adapter,
    load_adapter_config,
    revoked_credential_id,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "third_party_adapter"
MAPPING_FILE = EXAMPLE / "src" / "vcgate_example_csv" / "mappings" / "invoice.yaml"
AT = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package, pip-installed (built as a wheel) into a private target directory."""
    work = tmp_path_factory.mktemp("third_party")
    source = work / "src"
    shutil.copytree(EXAMPLE, source)  # build in a copy: building writes build/ and *.egg-info next to the sources
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
    assert (target / "vcgate_example_csv" / "mappings" / "invoice.yaml").is_file()
    return target


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [m for m in sys.modules if m.startswith("vcgate_example_csv")]:
        del sys.modules[name]


def vcgate(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-c", "from vcgate.gateway.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_installed_package_shows_in_adapters_list(site: Path) -> None:
    proc = vcgate(site, "adapters", "list", "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == (1 if data["errors"] else 0), proc.stderr
    (csv,) = [a for a in data["adapters"] if a["name"] == "csv-ledger"]
    assert csv == {
        "name": "csv-ledger",
        "kind": "csv",
        "apiVersion": 2,
        "distribution": "vcgate-example-csv-adapter",
        "distributionVersion": "0.1.0",
        "entryPoint": "vcgate_example_csv:CsvLedgerAdapter",
        "summary": "A CSV file as an append-only ledger (example third-party adapter).",
    }
    assert "csv-ledger" not in [e["name"] for e in data["errors"]]
    table = vcgate(site, "adapters", "list")
    assert "csv-ledger" in table.stdout
    assert "vcgate-example-csv-adapter" in table.stdout


def test_describe_with_config(site: Path) -> None:
    proc = vcgate(
        site, "adapters", "describe", "csv-ledger", "--config", str(EXAMPLE / "sample" / "config.yaml"), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    instance = json.loads(proc.stdout)["instance"]
    mapping = CredentialMapping.from_file(MAPPING_FILE)
    assert instance == {
        "id": "acme-invoices",
        "kind": "csv",
        "ledgerId": "csv:acme-invoices",
        "version": "0.1.0",
        "apiVersion": 2,
        "mappings": [mapping.info().to_json()],
        "description": "CSV ledger at ledger.csv",
    }
    text = vcgate(site, "adapters", "describe", "csv-ledger", "--config", str(EXAMPLE / "sample" / "config.yaml"))
    assert text.returncode == 0
    assert "csv:acme-invoices" in text.stdout
    assert mapping.digest in text.stdout


def make_adapter(config_dir: Path | None = None) -> Adapter:
    config = load_adapter_config(EXAMPLE / "sample" / "config.yaml")
    if config_dir is not None:
        config["configDir"] = str(config_dir)
    return load_adapter("csv-ledger").create(config)


def all_records(adapter: Adapter, since: Cursor | None = None) -> tuple[list[SourceRecord], list[int], Cursor | None]:
    records: list[SourceRecord] = []
    sizes: list[int] = []
    last = since
    for page in adapter.records(since):
        records.extend(page.records)
        sizes.append(len(page.records))
        last = page.next_cursor
    return records, sizes, last


@pytest.mark.usefixtures("installed")
def test_translates_deterministically_and_replays() -> None:
    adapter = make_adapter()
    assert isinstance(adapter, Adapter)
    records, sizes, last = all_records(adapter)
    assert sizes == [2, 2]  # pageSize 2 from the sample config
    assert last == Cursor((4,))
    assert [r.locator for r in records] == ["row/1", "row/2", "row/3", "row/4"]
    assert [r.kind for r in records] == ["record", "record", "record", "revocation"]

    translations = [adapter.translate(r) for r in records[:3]]
    again = [make_adapter().translate(r) for r in all_records(make_adapter())[0][:3]]
    assert [t.credential for t in translations] == [t.credential for t in again]
    assert len({t.credential_id for t in translations}) == 3

    first = translations[0].credential
    assert first["issuer"] == "did:web:acme-manufacturing.example"
    assert first["validFrom"] == "2024-03-01T08:00:00Z"
    assert "validUntil" not in first  # empty CSV cell = no value
    assert translations[1].credential["validUntil"] == "2025-03-02T00:00:00Z"
    assert first["credentialSubject"] == {
        "type": ["Invoice"],
        "invoiceNumber": "INV-2024-0001",
        "invoiceDate": "2024-03-01",
        "seller": {
            "type": ["Organization"],
            "id": "did:web:acme-manufacturing.example",
            "name": "Acme Manufacturing Ltd",
        },
        "buyer": {"type": ["Organization"], "name": "Blue Harbor Imports LLC"},
        "itemsShipped": [
            {"type": ["TradeLineItem"], "itemCount": 1200, "product": {"type": ["Product"], "gtin": "00614141000012"}}
        ],
        "totalPaymentDue": {"type": ["PriceSpecification"], "price": 18500.0, "priceCurrency": "USD"},
    }
    assert translations[2].credential["credentialSubject"]["buyer"]["name"] == "Lakeside Trading, Inc."
    assert translations[2].credential["credentialSubject"]["totalPaymentDue"]["priceCurrency"] == "EUR"

    published = CredentialMapping.from_file(MAPPING_FILE)  # what a verifier downloads, without the adapter code
    for t in translations:
        assert check_replay(json.loads(json.dumps(t.credential)), published).status == "verified"
    assert revoked_credential_id(published, records[3]) == translations[1].credential_id


@pytest.mark.usefixtures("installed")
def test_evidence_checker_offline() -> None:
    adapter = make_adapter()
    anchor: dict[str, Any] = adapter.anchor()  # type: ignore[attr-defined]
    checker = adapter.evidence_checker()
    records, _, _ = all_records(adapter)
    for record in records[:3]:
        t = adapter.translate(record)
        result = checker.check(t.credential, t.evidence, anchor, at=AT)
        assert result.status == "verified", result.to_json()
        assert [c.name for c in result.checks] == [
            "csv.shape",
            "csv.anchor",
            "csv.record_digest",
            "csv.inclusion",
            "csv.time",
        ]

    t = adapter.translate(records[0])
    tampered = json.loads(json.dumps(t.evidence))
    other = adapter.translate(records[1]).evidence
    tampered["rawRecord"] = other["rawRecord"]
    tampered["recordDigest"] = other["recordDigest"]
    result = checker.check(t.credential, tampered, anchor, at=AT)
    assert result.status == "invalid"
    assert result.problems[0].code == "CSV_NOT_INCLUDED"

    stale = dict(anchor, treeSize=3)
    assert checker.check(t.credential, t.evidence, stale, at=AT).problems[0].code == "CSV_NO_ANCHOR"
    assert checker.check(t.credential, t.evidence, stale, at=AT).status == "error"
    early = checker.check(t.credential, t.evidence, anchor, at=datetime(2024, 1, 1, tzinfo=UTC))
    assert early.problems[0].code == "CSV_FUTURE_RECORD"


@pytest.mark.usefixtures("installed")
def test_resumes_after_the_ledger_grows(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE / "sample" / "ledger.csv", tmp_path / "ledger.csv")
    adapter = make_adapter(tmp_path)
    _, _, saved = all_records(adapter)
    assert saved is not None
    token = saved.encode()
    with (tmp_path / "ledger.csv").open("a", encoding="utf-8") as f:
        f.write(
            "5,2024-03-07T10:00:00Z,key-acme-1,,did:web:acme-manufacturing.example,Acme,Buyer,INV-5,07/03/2024,"
            "00614141000012,1,100,840,\n"
        )
    new, sizes, last = all_records(adapter, Cursor.decode(token))
    assert [r.locator for r in new] == ["row/5"]
    assert sizes == [1]
    assert last == Cursor((5,))
    assert adapter.health().to_json() == {"status": "ok", "detail": "5 rows", "ledgerHeight": 5}
    (tmp_path / "ledger.csv").unlink()
    assert adapter.health().status == "down"
