"""Mapping documents: schema and semantic errors point at the field; YAML and JSON parse alike; digests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from vcgate.adapters.sdk import (
    CredentialMapping,
    MappingError,
    TranslationError,
    apply_mapping,
    mapping_schema,
)

from ._helpers import INVOICE_MAPPING, INVOICE_RECORD, invoice_mapping, make_record


def broken(change: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(INVOICE_MAPPING))
    change(doc)
    return doc


SUBJECT = "/credential/credentialSubject/fields"

BAD: list[tuple[str, Any, str, str, str]] = [
    # (name, change, code, pointer, words in the detail)
    ("no id", lambda d: d.pop("id"), "MAPPING_SCHEMA", "", "'id' is a required property"),
    ("id not a URI", lambda d: d.update(id="invoice"), "MAPPING_SCHEMA", "/id", "does not match"),
    ("unknown top key", lambda d: d.update(extra=1), "MAPPING_SCHEMA", "", "'extra' was unexpected"),
    (
        "types without VerifiableCredential",
        lambda d: d["credential"].update(type=["Invoice", "X"]),
        "MAPPING_SCHEMA",
        "/credential/type/0",
        "'VerifiableCredential' was expected",
    ),
    (
        "bad issuer mode",
        lambda d: d["credential"]["issuer"].update(mode="self"),
        "MAPPING_SCHEMA",
        "/credential/issuer/mode",
        "is not one of",
    ),
    (
        "partner without id",
        lambda d: d["credential"]["issuer"].pop("id"),
        "MAPPING_SCHEMA",
        "/credential/issuer",
        "'id' is a required property",
    ),
    (
        "witness with id",
        lambda d: d["credential"].update(issuer={"mode": "witness", "id": {"const": "did:x:y"}}),
        "MAPPING_SCHEMA",
        "/credential/issuer",
        "'id' was unexpected",
    ),
    (
        "two sources",
        lambda d: d["credential"]["credentialSubject"]["fields"]["invoiceNumber"].update(const="x"),
        "MAPPING_SCHEMA",
        SUBJECT + "/invoiceNumber",
        "exactly one source",
    ),
    (
        "no source",
        lambda d: d["credential"]["credentialSubject"]["fields"].update(x={"optional": True}),
        "MAPPING_SCHEMA",
        SUBJECT + "/x",
        "found none",
    ),
    (
        "unknown date format",
        lambda d: d["credential"]["credentialSubject"]["fields"]["invoiceDate"].update(date="dd-mm"),
        "MAPPING_SCHEMA",
        SUBJECT + "/invoiceDate/date",
        "'dd-mm'",
    ),
    (
        "unknown date option",
        lambda d: d["credential"]["credentialSubject"]["fields"]["invoiceDate"].update(date={"format": "iso", "x": 1}),
        "MAPPING_SCHEMA",
        SUBJECT + "/invoiceDate/date",
        "'x' was unexpected",
    ),
    (
        "bad ledger fact",
        lambda d: d["credential"].update(validFrom={"ledger": "clock"}),
        "MAPPING_SCHEMA",
        "/credential/validFrom/ledger",
        "does not match",
    ),
    (
        "typo in nested key",
        lambda d: d["credential"]["credentialSubject"]["fields"]["seller"]["fields"]["name"].update(pth="x"),
        "MAPPING_SCHEMA",
        SUBJECT + "/seller/fields/name",
        "'pth' was unexpected",
    ),
    (
        "lookup without table",
        lambda d: d["credential"]["credentialSubject"]["fields"]["totalPaymentDue"]["fields"]["priceCurrency"].update(
            lookup={"USD": 1}
        ),
        "MAPPING_SCHEMA",
        SUBJECT + "/totalPaymentDue/fields/priceCurrency/lookup",
        "'table' is a required property",
    ),
    (
        "bad path syntax",
        lambda d: d["credential"]["credentialSubject"]["fields"]["invoiceNumber"].update(path="a..b"),
        "MAPPING_PATH_SYNTAX",
        SUBJECT + "/invoiceNumber/path",
        "character 3",
    ),
    (
        "bad path in array",
        lambda d: d["credential"]["credentialSubject"]["fields"]["itemsShipped"]["array"].update(path="lines["),
        "MAPPING_PATH_SYNTAX",
        SUBJECT + "/itemsShipped/array/path",
        "bad bracket",
    ),
    (
        "bad template",
        lambda d: d["credential"]["credentialSubject"]["fields"].update(t={"template": "a}b"}),
        "MAPPING_TEMPLATE_SYNTAX",
        SUBJECT + "/t/template",
        "unbalanced",
    ),
    (
        "bad placeholder path",
        lambda d: d["credential"]["credentialSubject"]["fields"].update(t={"template": "{a..b}"}),
        "MAPPING_TEMPLATE_SYNTAX",
        SUBJECT + "/t/template",
        "character 3",
    ),
    (
        "pattern without pattern",
        lambda d: d["credential"]["credentialSubject"]["fields"]["invoiceDate"].update(date={"format": "pattern"}),
        "MAPPING_SCHEMA",
        SUBJECT + "/invoiceDate/date",
        "needs a 'pattern'",
    ),
    (
        "pattern without year",
        lambda d: d["credential"]["credentialSubject"]["fields"]["invoiceDate"].update(
            date={"format": "pattern", "pattern": "%d/%m"}
        ),
        "MAPPING_DATE_PATTERN",
        SUBJECT + "/invoiceDate/date/pattern",
        "year",
    ),
    (
        "number and date",
        lambda d: d["credential"]["credentialSubject"]["fields"]["invoiceDate"].update(number="integer"),
        "MAPPING_SCHEMA",
        SUBJECT + "/invoiceDate",
        "not both",
    ),
    (
        "places on integer",
        lambda d: d["credential"]["credentialSubject"]["fields"].update(
            q={"path": "q", "number": {"type": "integer", "places": 2}}
        ),
        "MAPPING_SCHEMA",
        SUBJECT + "/q/number/places",
        "decimal numbers only",
    ),
    (
        "default and optional",
        lambda d: d["credential"]["credentialSubject"]["fields"].update(
            q={"path": "q", "default": 1, "optional": True}
        ),
        "MAPPING_SCHEMA",
        SUBJECT + "/q/optional",
        "never absent",
    ),
    (
        "key with slash is escaped",
        lambda d: d["credential"]["credentialSubject"]["fields"].update({"a/b": {"path": "x", "date": "weekly"}}),
        "MAPPING_SCHEMA",
        SUBJECT + "/a~1b/date",
        "'weekly'",
    ),
]


@pytest.mark.parametrize(("change", "code", "pointer", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_mapping_points_at_field(change: Any, code: str, pointer: str, words: str) -> None:
    with pytest.raises(MappingError) as info:
        CredentialMapping.from_json(broken(change), source="bad.yaml")
    matching = [p for p in info.value.problems if p.pointer == pointer and p.code == code]
    assert matching, [(p.pointer, p.code, p.detail) for p in info.value.problems]
    assert any(words in p.detail for p in matching), [p.detail for p in matching]
    assert "bad.yaml" in str(info.value)
    assert (pointer or "/") in str(info.value)


def test_every_problem_is_reported_not_just_the_first() -> None:
    def two(d: dict[str, Any]) -> None:
        d["credential"]["credentialSubject"]["fields"]["invoiceNumber"]["path"] = "a..b"
        d["credential"]["credentialSubject"]["fields"]["seller"]["fields"]["name"]["path"] = "[x]"

    with pytest.raises(MappingError) as info:
        CredentialMapping.from_json(broken(two))
    assert {p.pointer for p in info.value.problems} == {
        SUBJECT + "/invoiceNumber/path",
        SUBJECT + "/seller/fields/name/path",
    }


def test_reference_mapping_is_valid_against_published_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(mapping_schema())
    jsonschema.Draft202012Validator(mapping_schema()).validate(INVOICE_MAPPING)


def test_yaml_and_json_spellings_have_one_digest(tmp_path: Path) -> None:
    as_json = tmp_path / "m.json"
    as_yaml = tmp_path / "m.yaml"
    as_json.write_text(json.dumps(INVOICE_MAPPING, indent=1))
    as_yaml.write_text(yaml.safe_dump(INVOICE_MAPPING, sort_keys=False))
    a, b = CredentialMapping.from_file(as_json), CredentialMapping.from_file(as_yaml)
    assert a.digest == b.digest == invoice_mapping().digest
    assert a.digest.startswith("sha256:")
    assert len(a.digest) == 7 + 64


def test_any_change_changes_the_digest() -> None:
    base = invoice_mapping()
    other = CredentialMapping.from_json(broken(lambda d: d.update(version="1.0.1")))
    assert base.digest != other.digest


YAML_HEAD = """id: urn:example:m
version: "1"
credential:
  type: [VerifiableCredential, X]
  issuer: {mode: witness}
  validFrom: {ledger: time}
"""


def test_yaml_dates_stay_strings() -> None:
    # An unquoted YAML date must not turn into a datetime object (which is not JSON and would change the
    # digest).
    m = CredentialMapping.from_text(YAML_HEAD + "  credentialSubject: {fields: {d: {const: 2024-01-02}}}\n")
    translation = apply_mapping(m, make_record({}), witness="did:example:witness")
    assert translation.credential["credentialSubject"] == {"d": "2024-01-02"}


def test_yaml_duplicate_keys_refused() -> None:
    with pytest.raises(MappingError) as info:
        CredentialMapping.from_text(YAML_HEAD + "  credentialSubject: {fields: {a: {const: 1}, a: {const: 2}}}\n")
    assert info.value.problems[0].code == "MAPPING_PARSE"
    assert "duplicate key 'a'" in info.value.problems[0].detail


def test_json_duplicate_keys_refused() -> None:
    with pytest.raises(MappingError) as info:
        CredentialMapping.from_text('{"id": "urn:a:b", "id": "urn:c:d"}')
    assert info.value.problems[0].code == "MAPPING_PARSE"


def test_yaml_non_string_key_points_at_it() -> None:
    text = YAML_HEAD + "  credentialSubject: {fields: {c: {path: c, lookup: {table: {840: USD}}}}}\n"
    with pytest.raises(MappingError) as info:
        CredentialMapping.from_text(text)
    (problem,) = info.value.problems
    assert problem.pointer == "/credential/credentialSubject/fields/c/lookup/table"
    assert "quote it" in problem.detail


def test_huge_integer_constant_points_at_it() -> None:
    text = YAML_HEAD + "  credentialSubject: {fields: {n: {const: 18446744073709551616}}}\n"
    with pytest.raises(MappingError) as info:
        CredentialMapping.from_text(text)
    (problem,) = info.value.problems
    assert problem.pointer == "/credential/credentialSubject/fields/n/const"
    assert "2^53" in problem.detail


def test_syntax_error_is_mapping_parse() -> None:
    with pytest.raises(MappingError) as info:
        CredentialMapping.from_text("id: [unclosed\n")
    assert info.value.problems[0].code == "MAPPING_PARSE"


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as info:
        CredentialMapping.from_file(tmp_path / "nope.yaml")
    assert info.value.problems[0].code == "MAPPING_PARSE"


# --- credential-level translation errors ---


def test_issuer_must_be_a_did() -> None:
    m = invoice_mapping(issuer={"mode": "partner", "id": {"const": "https://seller.example"}})
    with pytest.raises(TranslationError) as info:
        apply_mapping(m, make_record(INVOICE_RECORD))
    assert info.value.code == "MAPPING_ISSUER_INVALID"
    assert info.value.mapping_pointer == "/credential/issuer/id"


def test_valid_from_must_be_a_timestamp() -> None:
    m = invoice_mapping(validFrom={"path": "date"})  # "20240516" is not a dateTimeStamp
    with pytest.raises(TranslationError) as info:
        apply_mapping(m, make_record(INVOICE_RECORD))
    assert info.value.code == "MAPPING_VALIDITY_INVALID"
    assert info.value.mapping_pointer == "/credential/validFrom"


def test_witness_mode_needs_the_witness() -> None:
    m = invoice_mapping(issuer={"mode": "witness"})
    with pytest.raises(TranslationError) as info:
        apply_mapping(m, make_record(INVOICE_RECORD))
    assert info.value.code == "MAPPING_WITNESS_REQUIRED"


def test_partner_mode_refuses_a_witness() -> None:
    with pytest.raises(TranslationError) as info:
        apply_mapping(invoice_mapping(), make_record(INVOICE_RECORD), witness="did:example:cbp")
    assert info.value.code == "MAPPING_MODE_MISMATCH"


def test_subject_must_be_an_object() -> None:
    m = invoice_mapping(credentialSubject={"path": "number"})
    with pytest.raises(TranslationError) as info:
        apply_mapping(m, make_record(INVOICE_RECORD))
    assert info.value.code == "MAPPING_VALUE_INVALID"
    assert info.value.mapping_pointer == "/credential/credentialSubject"


def test_status_must_be_an_object() -> None:
    m = invoice_mapping(credentialStatus={"const": "revocable"})
    with pytest.raises(TranslationError) as info:
        apply_mapping(m, make_record(INVOICE_RECORD))
    assert info.value.code == "MAPPING_VALUE_INVALID"
    assert info.value.mapping_pointer == "/credential/credentialStatus"
