"""`vcgate sync` never wedges on a bad record: it is quarantined with its reason, the cursor moves on, the exit code
says so, and `--retry-quarantined` stores it once its mapping is fixed. Driven through the `vcgate` command line
against a real plain ledger served on 127.0.0.1; the store is read back to check what it holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from plain_ledger_adapter.conftest import Ledger, sample

from vcgate.adapters.plain_ledger import SubmitterKey
from vcgate.adapters.sdk import CredentialMapping
from vcgate.gateway import KeyPair
from vcgate.gateway._store import Store

from .conftest import vcgate

pytestmark = [pytest.mark.server, pytest.mark.slow]

MAPPING_SOURCE = (
    Path(__file__).parents[2] / "adapters/plain_ledger/mappings/gs1-identification-key-license.witness.yaml"
)
MAPPING_ID = "https://example.org/gs1/mappings/key-licence"


def write_mapping(path: Path, *, key_type_default: bool) -> CredentialMapping:
    """GS1's own mapping for its key licences: version 1.0.0 requires keyType, 1.0.1 defaults it to GTIN."""
    doc: dict[str, Any] = yaml.safe_load(MAPPING_SOURCE.read_text(encoding="utf-8"))
    doc["id"] = MAPPING_ID
    doc["version"] = "1.0.1" if key_type_default else "1.0.0"
    if key_type_default:
        doc["credential"]["credentialSubject"]["fields"]["identificationKeyType"] = {
            "path": "keyType",
            "default": "GTIN",
        }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return CredentialMapping.from_file(path)


def config_file(tmp_path: Path, ledger: Ledger) -> Path:
    path = tmp_path / "gs1-ledger.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "id": "gs1-registry",
                "url": ledger.url,
                "logVerifierKey": ledger.vkey,
                "mode": "witness",
                "pageSize": 2,
                "mappings": {"gs1-identification-key-license": "key-licence.yaml"},
            }
        ),
        encoding="utf-8",
    )
    return path


def stored_subjects(db: Path) -> dict[str, dict[str, Any]]:
    store = Store.open(f"sqlite:///{db}")
    try:
        ids = [r[0] for r in sqlite3.connect(db).execute("select id from credentials")]
        return {cid: sc.document for cid, sc in store.credentials(ids).items()}
    finally:
        store.close()


def test_bad_record_is_quarantined_then_retried_after_the_mapping_is_fixed(
    tmp_path: Path, ledger: Ledger, gs1: SubmitterKey, witness: tuple[KeyPair, Path]
) -> None:
    pair, key_file = witness
    v1 = write_mapping(tmp_path / "key-licence.yaml", key_type_default=False)
    first = ledger.append(gs1, sample("key", key="00614141000012"))
    bad_record = sample("key", key="00614141000029")
    del bad_record["keyType"]  # GS1's registry leaves keyType out for GTINs; mapping 1.0.0 requires it
    bad = ledger.append(gs1, bad_record)
    third = ledger.append(gs1, sample("key", key="00614141000036"))
    db = tmp_path / "gateway.sqlite"
    url = f"sqlite:///{db}"
    cfg = config_file(tmp_path, ledger)

    added = vcgate(
        "adapters", "add", "plain-ledger", "--config", str(cfg), "--db", url, "--witness", pair.controller, "--json"
    )
    assert added.code == 0, added.stderr
    registration = added.json()
    assert registration["name"] == "gs1-registry"
    assert registration["adapter"]["kind"] == "plain"
    assert {"id": v1.id, "digest": v1.digest} in registration["publishedMappings"]

    synced = vcgate("sync", "--db", url, "--witness-key", str(key_file), "--json")
    assert synced.code == 1, synced.stdout + synced.stderr
    report = synced.json()
    counts = report["adapters"]["gs1-registry"]
    assert (counts["stored"], counts["quarantined"], counts["inQuarantine"], counts["errors"]) == (2, 1, 1, [])
    (held,) = counts["quarantine"]
    assert held["locator"].endswith(str(bad))
    assert held["stage"] == "translate"
    assert "keyType" in held["reason"]
    assert report["summary"]["ok"] is False
    subjects = stored_subjects(db)
    assert sorted(d["credentialSubject"]["licenseValue"] for d in subjects.values()) == [
        "00614141000012",
        "00614141000036",
    ]
    # The gateway is the witness: the key's DID is the issuer of every stored credential.
    assert {d["issuer"] if isinstance(d["issuer"], str) else d["issuer"]["id"] for d in subjects.values()} == {
        pair.controller
    }

    status = vcgate("adapters", "status", "--db", url, "--json")
    assert status.code == 1
    (row,) = status.json()["adapters"]
    assert [q["locator"] for q in row["quarantine"]] == [held["locator"]]
    assert row["cursor"] is not None
    assert row["lastSync"]["stored"] == 2

    # The cursor moved on: a second pass reads nothing new, and still says a record is held.
    again = vcgate("sync", "--db", url, "--witness-key", str(key_file), "--json")
    assert again.code == 1
    counts = again.json()["adapters"]["gs1-registry"]
    assert (counts["stored"], counts["unchanged"], counts["quarantined"], counts["inQuarantine"]) == (0, 0, 0, 1)

    # GS1 fixes its mapping; the retry stores the held record and empties the quarantine.
    v2 = write_mapping(tmp_path / "key-licence.yaml", key_type_default=True)
    assert (
        vcgate("adapters", "add", "plain-ledger", "--config", str(cfg), "--db", url, "--witness", pair.controller).code
        == 0
    )
    retried = vcgate("sync", "--db", url, "--witness-key", str(key_file), "--retry-quarantined", "--json")
    assert retried.code == 0, retried.stdout + retried.stderr
    counts = retried.json()["adapters"]["gs1-registry"]
    assert (counts["released"], counts["stored"], counts["inQuarantine"]) == (1, 1, 0)
    subjects = stored_subjects(db)
    fixed = [d for d in subjects.values() if d["credentialSubject"]["licenseValue"] == "00614141000029"]
    assert len(fixed) == 1
    assert fixed[0]["credentialSubject"]["identificationKeyType"] == "GTIN"
    assert fixed[0]["evidence"][0]["mappingDigest"] == v2.digest
    store = Store.open(url)
    try:
        assert {(v1.id, v1.digest), (v2.id, v2.digest)} <= set(store.mappings())
        assert store.quarantined() == []
    finally:
        store.close()
    assert first < bad < third
