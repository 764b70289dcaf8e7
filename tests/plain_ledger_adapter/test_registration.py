"""Registration through entry points: the built-in ``plain-ledger`` adapter and the third-party example package
(``examples/third_party_adapter``, installed into a private ``--target`` directory) both show up in
``vcgate adapters list``; ``describe`` shows the plain-ledger instance from a configuration file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vcgate.adapters.plain_ledger import LogKey, bundled_mapping

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "third_party_adapter"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example third-party package, pip-installed into a temporary target directory."""
    work = tmp_path_factory.mktemp("third_party")
    source = work / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
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


def vcgate(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", "from vcgate.gateway.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def vcgate_example_location(site: Path) -> Path:
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run(
        [sys.executable, "-c", "import vcgate_example_csv; print(vcgate_example_csv.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return Path(out.stdout.strip())


def test_third_party_adapter_is_listed_alongside_plain_ledger(site: Path) -> None:
    proc = vcgate("adapters", "list", "--json", pythonpath=site)
    data = json.loads(proc.stdout)
    by_name = {a["name"]: a for a in data["adapters"]}
    assert by_name["plain-ledger"] == {
        "name": "plain-ledger",
        "kind": "plain",
        "apiVersion": 2,
        "distribution": "vcgate",
        "distributionVersion": by_name["plain-ledger"]["distributionVersion"],
        "entryPoint": "vcgate.adapters.plain_ledger:PlainLedgerAdapter",
        "summary": (
            "The plain-ledger adapter: a signed transparency log read over HTTP, translated by published mappings."
        ),
    }
    assert by_name["csv-ledger"]["distribution"] == "vcgate-example-csv-adapter"
    assert by_name["csv-ledger"]["entryPoint"] == "vcgate_example_csv:CsvLedgerAdapter"
    broken = {e["name"] for e in data["errors"]}
    assert not {"plain-ledger", "csv-ledger"} & broken
    table = vcgate("adapters", "list", pythonpath=site).stdout
    assert "plain-ledger" in table
    assert "csv-ledger" in table
    # The package really came from the target directory (not from another install of it).
    import_path = vcgate_example_location(site)
    assert import_path.is_relative_to(site)


def test_describe_plain_ledger_from_a_configuration_file(tmp_path: Path) -> None:
    key = LogKey.generate("registry.gs1us.example/log")
    config = tmp_path / "plain-ledger.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "id": "gs1us-registry",
                "url": "http://127.0.0.1:9",
                "logVerifierKey": key.verifier.to_vkey(),
                "mode": "witness",
                "witness": "did:web:cbp.example",
            }
        )
    )
    proc = vcgate("adapters", "describe", "plain-ledger", "--config", str(config), "--json")
    assert proc.returncode == 0, proc.stderr
    instance = json.loads(proc.stdout)["instance"]
    assert instance["id"] == "gs1us-registry"
    assert instance["ledgerId"] == key.ledger_id
    assert instance["mappings"] == [
        bundled_mapping(name + ".witness").info().to_json()
        for name in ("gs1-company-prefix-license", "gs1-identification-key-license", "cbp-3461-entry")
    ]
