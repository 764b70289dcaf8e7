"""The published plain-ledger mappings: valid, installed with the package, witness versions in step with the partner
versions, and producing schema-valid canonical credentials (offline: records built in memory)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.adapters.plain_ledger import BUNDLED_MAPPINGS, bundled_mapping
from vcgate.adapters.sdk import CredentialMapping, SourceRecord, TranslationError, apply_mapping, mapping_digest
from vcgate.canonical_schema import InputError, validate

from .conftest import sample

MAPPINGS = Path(__file__).resolve().parents[2] / "adapters" / "plain_ledger" / "mappings"
TYPES = {
    "gs1-company-prefix-license": "GS1CompanyPrefixLicenseCredential",
    "gs1-identification-key-license": "GS1IdentificationKeyLicenseCredential",
    "cbp-3461-entry": "CBP3461EntryCredential",
}
RECORDS = {"gs1-company-prefix-license": "prefix", "gs1-identification-key-license": "key", "cbp-3461-entry": "entry"}


def _record(raw: dict[str, Any]) -> SourceRecord:
    return SourceRecord(
        ledger_id="plain:0123456789abcdef",
        ledger_kind="plain",
        locator="entries/4",
        raw=raw,
        native_signer={"kind": "plain-ledger-key", "did": "did:web:gs1us.example.org", "publicKeyMultibase": "z6Mk"},
        ledger_time=datetime(2025, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
        ledger_height=5,
        proof_material={},
    )


def test_every_mapping_file_is_bundled_and_installed() -> None:
    files = sorted(p.name for p in MAPPINGS.glob("*.yaml"))
    assert files == sorted([f"{n}.yaml" for n in BUNDLED_MAPPINGS] + [f"{n}.witness.yaml" for n in BUNDLED_MAPPINGS])
    installed = resources.files("vcgate.adapters.plain_ledger").joinpath("mappings")
    for name in files:
        assert installed.joinpath(name).read_text(encoding="utf-8") == (MAPPINGS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", BUNDLED_MAPPINGS)
def test_witness_version_differs_only_in_id_description_and_mode(name: str) -> None:
    partner = yaml.safe_load((MAPPINGS / f"{name}.yaml").read_text())
    witness = yaml.safe_load((MAPPINGS / f"{name}.witness.yaml").read_text())
    assert witness["id"] == partner["id"] + "/witness"
    assert partner["credential"]["issuer"] == {"mode": "partner", "id": {"ledger": "signer.did"}}
    assert witness["credential"]["issuer"] == {"mode": "witness"}
    for doc in (partner, witness):
        del doc["id"], doc["description"], doc["credential"]["issuer"]
    assert witness == partner
    assert bundled_mapping(name).digest != bundled_mapping(name + ".witness").digest


@pytest.mark.parametrize("name", BUNDLED_MAPPINGS)
def test_mapping_builds_a_schema_valid_credential(name: str) -> None:
    mapping = bundled_mapping(name)
    assert mapping.digest == mapping_digest(yaml.safe_load((MAPPINGS / f"{name}.yaml").read_text()))
    assert mapping.types == ("VerifiableCredential", TYPES[name])
    credential = apply_mapping(mapping, _record(sample(RECORDS[name]))).to_json()
    assert credential["issuer"] == "did:web:gs1us.example.org"
    assert validate(credential) == []


def test_entry_filing_fields() -> None:
    credential = apply_mapping(bundled_mapping("cbp-3461-entry"), _record(sample("entry"))).to_json()
    subject = credential["credentialSubject"]
    assert credential["validFrom"] == "2024-09-01T17:20:00Z"
    assert subject["entryType"] == "Free and Dutiable 01"
    assert subject["importerOfRecord"] == {
        "type": ["CBPImporterOfRecord"],
        "number": "95-481237600",
        "identifierType": "IRS",
    }
    assert [line["itemCount"] for line in subject["lineItems"]] == [1200, 800]
    assert subject["arrivalDate"] == "2024-09-02"


def test_key_licence_status_and_validity() -> None:
    credential = apply_mapping(bundled_mapping("gs1-identification-key-license"), _record(sample("key"))).to_json()
    assert credential["validFrom"] == "2021-06-14T00:00:00Z"
    assert credential["validUntil"] == "2031-06-13T00:00:00Z"
    assert credential["credentialStatus"] == {
        "id": "https://gs1us.example.org/credentials/status/7#88213",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "88213",
        "statusListCredential": "https://gs1us.example.org/credentials/status/7",
    }


@pytest.mark.parametrize(
    ("name", "change", "code", "pointer"),
    [
        ("cbp-3461-entry", {"entryTypeCode": "99"}, "MAPPING_LOOKUP_MISSING", "/entryTypeCode"),
        ("gs1-company-prefix-license", {"licensedFrom": "03/01/2019"}, "MAPPING_DATE_INVALID", "/licensedFrom"),
        ("gs1-identification-key-license", {"key": None}, "MAPPING_FIELD_MISSING", "/key"),
    ],
)
def test_records_that_do_not_fit_point_at_the_field(name: str, change: dict[str, Any], code: str, pointer: str) -> None:
    raw = copy.deepcopy(sample(RECORDS[name]))
    raw.update(change)
    with pytest.raises(TranslationError) as caught:
        apply_mapping(bundled_mapping(name), _record(raw))
    assert (caught.value.code, caught.value.problem.pointer) == (code, pointer)


def test_unknown_bundled_name() -> None:
    with pytest.raises(InputError, match="no bundled plain-ledger mapping"):
        bundled_mapping("mill-test-report")
    assert isinstance(bundled_mapping("cbp-3461-entry.witness"), CredentialMapping)
