"""scripts/derive_schemas.py reproduces the committed schemas byte for byte, and they are self-contained."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "canonical_schema" / "schemas"


@pytest.fixture(scope="module")
def derive() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vcgate_derive_schemas", ROOT / "scripts" / "derive_schemas.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_rerunning_the_script_reproduces_committed_schemas(derive: ModuleType) -> None:
    files: dict[str, bytes] = derive.derive_all()
    committed = {p.name: p.read_bytes() for p in SCHEMAS.glob("*.json")}
    assert sorted(files) == sorted(committed)
    for name, data in files.items():
        assert data == committed[name], f"{name} differs from a fresh derivation; run scripts/derive_schemas.py"


def test_check_mode_reports_up_to_date(derive: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert derive.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def _walk(node: Any, path: str = "") -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((path, key, value))
            out += _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _walk(value, f"{path}/{i}")
    return out


def _schemas() -> list[Path]:
    return sorted(p for p in SCHEMAS.glob("*.json") if p.name != "index.json")


@pytest.mark.parametrize("path", _schemas(), ids=lambda p: p.stem)
def test_schema_is_draft_2020_12_and_self_contained(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://w3id.org/vcgate/schemas/v1/{path.stem}.json"
    keys = {key for _, key, _ in _walk(schema)}
    assert "$ref" not in keys
    assert "$dynamicRef" not in keys
    assert "example" not in keys


def test_index_hashes_match_files() -> None:
    index = json.loads((SCHEMAS / "index.json").read_text(encoding="utf-8"))
    assert {e["file"] for e in index["schemas"]} == {p.name for p in _schemas()}
    for entry in index["schemas"]:
        assert hashlib.sha256((SCHEMAS / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]


def test_upstream_copy_matches_its_readme() -> None:
    upstream = ROOT / "canonical_schema" / "upstream" / "traceability"
    readme = (upstream.parent / "README.md").read_text(encoding="utf-8")
    listed = {}
    for line in readme.splitlines():
        if line.startswith("| `") and line.count("`") == 4:
            _, name, _, digest, _ = line.split("`")
            listed[name] = digest
    files = {p.relative_to(upstream).as_posix(): p for p in upstream.rglob("*.json")}
    assert set(listed) == set(files)
    for name, digest in listed.items():
        assert hashlib.sha256(files[name].read_bytes()).hexdigest() == digest


@pytest.mark.parametrize(
    "type_name",
    [
        "GS1CompanyPrefixLicenseCredential",
        "IntellectualPropertyRightsLicenseCredential",
        "CommercialInvoiceCredential",
        "MillTestReportCredential",
    ],
)
def test_derivation_rules_applied(type_name: str) -> None:
    schema = json.loads((SCHEMAS / f"{type_name}.json").read_text(encoding="utf-8"))
    props = schema["properties"]
    # R3: credentials/v2 (or v1) first, then traceability/v1 and vcgate's context in any order.
    assert props["@context"]["contains"] == {"const": "https://w3id.org/traceability/v1"}
    assert props["@context"]["items"]["enum"][:2] == ["https://w3id.org/traceability/v1", "https://w3id.org/vcgate/v1"]
    # R6/R7: the added top-level properties.
    for name in ("evidence", "credentialStatus", "validUntil", "proof", "issuanceDate", "expirationDate"):
        assert name in props
    assert schema["else"] == {"required": ["validFrom"]}
    assert "validFrom" not in schema["required"]


def test_licence_terms_added_and_required_as_upstream() -> None:
    schema = json.loads((SCHEMAS / "IntellectualPropertyRightsLicenseCredential.json").read_text(encoding="utf-8"))
    subject = schema["properties"]["credentialSubject"]
    for term in (
        "licensor",
        "licenseId",
        "licenseTerritory",
        "licensedProducts",
        "licenseTerm",
        "recordationNumber",
    ):
        assert term in subject["properties"]
    assert set(subject["required"]) >= {"licensee", "extendsCredential"}
    assert set(subject["properties"]["licenseTerm"]["properties"]) == {"termStart", "termEnd", "conditions"}
