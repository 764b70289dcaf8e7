"""Mapping transforms, table-driven: each case is (spec, record content, expected value or expected error)."""

from __future__ import annotations

from typing import Any

import pytest

from vcgate.adapters.sdk import CredentialMapping, TranslationError, apply_mapping

from ._helpers import make_record

OMIT = object()


def one_field(spec: dict[str, Any]) -> CredentialMapping:
    return CredentialMapping.from_json(
        {
            "id": "urn:example:one-field",
            "version": "1",
            "credential": {
                "type": ["VerifiableCredential", "ExampleCredential"],
                "issuer": {"mode": "partner", "id": {"const": "did:example:issuer"}},
                "validFrom": {"ledger": "time"},
                "credentialSubject": {"fields": {"v": spec}},
            },
        }
    )


def value_of(spec: dict[str, Any], record: dict[str, Any], **record_fields: Any) -> Any:
    subject = apply_mapping(one_field(spec), make_record(record, **record_fields)).credential["credentialSubject"]
    return subject.get("v", OMIT)


CASES: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = [
    # paths
    ("path top", {"path": "a"}, {"a": "x"}, "x"),
    ("path nested", {"path": "a.b[1]"}, {"a": {"b": [1, 2]}}, 2),
    ("path object", {"path": "a"}, {"a": {"k": [1]}}, {"k": [1]}),
    ("path default", {"path": "missing", "default": "d"}, {}, "d"),
    ("path null is absent", {"path": "a", "default": 0}, {"a": None}, 0),
    ("path optional", {"path": "missing", "optional": True}, {}, OMIT),
    ("default skips conversions", {"path": "m", "default": "x", "number": "integer"}, {}, "x"),
    # const
    ("const scalar", {"const": "USD"}, {}, "USD"),
    ("const structure", {"const": {"type": ["Place"], "n": [1, 2]}}, {}, {"type": ["Place"], "n": [1, 2]}),
    (
        "const then date",
        {"const": "20240102", "date": {"format": "yyyymmdd", "output": "date"}},
        {},
        "2024-01-02",
    ),
    # ledger facts
    ("ledger time", {"ledger": "time"}, {}, "2024-05-17T12:30:45Z"),
    ("ledger height", {"ledger": "height"}, {}, 42),
    ("ledger locator", {"ledger": "locator"}, {}, "entry/1"),
    ("ledger id", {"ledger": "ledgerId"}, {}, "test:ledger-1"),
    ("ledger kind", {"ledger": "ledgerKind"}, {}, "memory"),
    ("ledger signer did", {"ledger": "signer.did"}, {}, "did:example:signer"),
    ("ledger channel absent", {"ledger": "channel", "optional": True}, {}, OMIT),
    (
        "ledger time as date",
        {"ledger": "time", "date": {"format": "iso", "output": "date"}},
        {},
        "2024-05-17",
    ),
    # dates
    ("iso with Z", {"path": "d", "date": "iso"}, {"d": "2024-02-29T23:59:59Z"}, "2024-02-29T23:59:59Z"),
    (
        "iso offset to UTC",
        {"path": "d", "date": "iso"},
        {"d": "2024-03-01T01:00:00+02:00"},
        "2024-02-29T23:00:00Z",
    ),
    ("iso date only", {"path": "d", "date": "iso"}, {"d": "2024-03-01"}, "2024-03-01T00:00:00Z"),
    (
        "iso fraction",
        {"path": "d", "date": "iso"},
        {"d": "2024-03-01T00:00:00.250Z"},
        "2024-03-01T00:00:00.25Z",
    ),
    (
        "iso naive in zone",
        {"path": "d", "date": {"format": "iso", "timezone": "-05:00"}},
        {"d": "2024-03-01T20:00:00"},
        "2024-03-02T01:00:00Z",
    ),
    ("unix int", {"path": "d", "date": "unix"}, {"d": 1700000000}, "2023-11-14T22:13:20Z"),
    ("unix string", {"path": "d", "date": "unix"}, {"d": "1700000000"}, "2023-11-14T22:13:20Z"),
    ("unix ms", {"path": "d", "date": "unix-ms"}, {"d": 1700000000123}, "2023-11-14T22:13:20.123Z"),
    ("yyyymmdd", {"path": "d", "date": "yyyymmdd"}, {"d": "20240516"}, "2024-05-16T00:00:00Z"),
    (
        "yyyymmdd int",
        {"path": "d", "date": {"format": "yyyymmdd", "output": "date"}},
        {"d": 20240516},
        "2024-05-16",
    ),
    (
        "pattern",
        {"path": "d", "date": {"format": "pattern", "pattern": "%d/%m/%Y %H:%M", "timezone": "+08:00"}},
        {"d": "16/05/2024 09:15"},
        "2024-05-16T01:15:00Z",
    ),
    (
        "date output keeps own zone",
        {"path": "d", "date": {"format": "iso", "output": "date"}},
        {"d": "2024-05-16T23:30:00-05:00"},
        "2024-05-16",
    ),
    # numbers
    ("integer from string", {"path": "n", "number": "integer"}, {"n": " 12 "}, 12),
    ("integer from int", {"path": "n", "number": "integer"}, {"n": 7}, 7),
    ("integer scaled", {"path": "n", "number": {"type": "integer", "scale": 3}}, {"n": "1.5"}, 1500),
    ("integer as string", {"path": "n", "number": {"type": "integer", "output": "string"}}, {"n": 5}, "5"),
    ("decimal cents", {"path": "n", "number": {"type": "decimal", "scale": -2}}, {"n": "12345"}, 123.45),
    ("decimal whole", {"path": "n", "number": "decimal"}, {"n": "10.0"}, 10),
    ("decimal float in", {"path": "n", "number": "decimal"}, {"n": 0.1}, 0.1),
    (
        "decimal places string",
        {"path": "n", "number": {"type": "decimal", "places": 2, "output": "string"}},
        {"n": "3.5"},
        "3.50",
    ),
    (
        "decimal separators",
        {"path": "n", "number": {"type": "decimal", "groupSeparator": ".", "decimalSeparator": ","}},
        {"n": "1.234,5"},
        1234.5,
    ),
    (
        "big decimal as string",
        {"path": "n", "number": {"type": "decimal", "output": "string"}},
        {"n": "123456789012345678901234.5"},
        "123456789012345678901234.5",
    ),
    ("negative", {"path": "n", "number": "integer"}, {"n": "-3"}, -3),
    (
        "huge integer as string",
        {"path": "n", "number": {"type": "integer", "output": "string"}},
        {"n": "9" * 30},
        "9" * 30,
    ),
    # lookup
    ("lookup hit", {"path": "c", "lookup": {"table": {"840": "USD"}}}, {"c": 840}, "USD"),
    (
        "lookup default",
        {"path": "c", "lookup": {"table": {"840": "USD"}, "default": "XXX"}},
        {"c": "1"},
        "XXX",
    ),
    ("lookup bool key", {"path": "c", "lookup": {"table": {"true": "yes"}}}, {"c": True}, "yes"),
    (
        "lookup then number",
        {"path": "c", "lookup": {"table": {"a": "12"}}, "number": "integer"},
        {"c": "a"},
        12,
    ),
    ("lookup to object", {"path": "c", "lookup": {"table": {"x": {"k": 1}}}}, {"c": "x"}, {"k": 1}),
    # templates
    ("template", {"template": "{a}-{b.c}"}, {"a": "X", "b": {"c": 7}}, "X-7"),
    ("template escapes", {"template": "{{{a}}}"}, {"a": "x"}, "{x}"),
    ("template bool", {"template": "flag={f}"}, {"f": False}, "flag=false"),
    ("template missing default", {"template": "{nope}", "default": None}, {}, None),
    (
        "template then lookup",
        {"template": "{a}{b}", "lookup": {"table": {"xy": "Z"}}},
        {"a": "x", "b": "y"},
        "Z",
    ),
    # arrays
    (
        "array each",
        {"array": {"path": "xs", "each": {"path": "$", "number": "integer"}}},
        {"xs": ["1", 2]},
        [1, 2],
    ),
    (
        "array each fields",
        {
            "array": {
                "path": "xs",
                "each": {"fields": {"g": {"path": "g"}, "o": {"path": "o", "optional": True}}},
            }
        },
        {"xs": [{"g": 1}, {"g": 2, "o": 3}]},
        [{"g": 1}, {"g": 2, "o": 3}],
    ),
    (
        "array each drops optional",
        {"array": {"path": "xs", "each": {"path": "v", "optional": True}}},
        {"xs": [{"v": 1}, {}, {"v": 3}]},
        [1, 3],
    ),
    ("array empty", {"array": {"path": "xs", "each": {"path": "$"}}}, {"xs": []}, []),
    (
        "array list form",
        {"array": [{"path": "a"}, {"const": "k"}, {"path": "zz", "optional": True}]},
        {"a": 1},
        [1, "k"],
    ),
    ("array missing optional", {"array": {"path": "xs", "each": {"path": "$"}}, "optional": True}, {}, OMIT),
    (
        "nested arrays",
        {"array": {"path": "o", "each": {"array": {"path": "i", "each": {"template": "<{$}>"}}}}},
        {"o": [{"i": ["a", "b"]}, {"i": []}]},
        [["<a>", "<b>"], []],
    ),
    # fields
    ("fields nested", {"fields": {"a": {"fields": {"b": {"const": 1}}}}}, {}, {"a": {"b": 1}}),
    ("fields all optional", {"fields": {"a": {"path": "x", "optional": True}}}, {}, {}),
]


@pytest.mark.parametrize(("spec", "record", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_transform(spec: dict[str, Any], record: dict[str, Any], expected: Any) -> None:
    got = value_of(spec, record)
    assert got == expected
    if expected is not OMIT:
        assert type(got) is type(expected)


ERRORS: list[tuple[str, dict[str, Any], dict[str, Any], str, str, str]] = [
    # (name, spec, record, code, record pointer, mapping pointer)
    (
        "missing path",
        {"path": "a.b"},
        {"a": {}},
        "MAPPING_FIELD_MISSING",
        "/a/b",
        "/credential/credentialSubject/fields/v",
    ),
    ("missing template part", {"template": "{a}/{b}"}, {"a": 1}, "MAPPING_FIELD_MISSING", "/b", ""),
    ("template object", {"template": "{a}"}, {"a": {"x": 1}}, "MAPPING_VALUE_INVALID", "/a", ""),
    (
        "array not list",
        {"array": {"path": "a", "each": {"path": "$"}}},
        {"a": "x"},
        "MAPPING_VALUE_INVALID",
        "/a",
        "",
    ),
    (
        "error inside array element",
        {"array": {"path": "xs", "each": {"path": "q", "number": "integer"}}},
        {"xs": [{"q": 1}, {"q": "1.5"}]},
        "MAPPING_NUMBER_INVALID",
        "/xs/1/q",
        "/credential/credentialSubject/fields/v/array/each/number",
    ),
    (
        "lookup miss",
        {"path": "c", "lookup": {"table": {"a": 1}}},
        {"c": "b"},
        "MAPPING_LOOKUP_MISSING",
        "/c",
        "",
    ),
    (
        "lookup float key",
        {"path": "c", "lookup": {"table": {"a": 1}}},
        {"c": 1.5},
        "MAPPING_VALUE_INVALID",
        "/c",
        "",
    ),
    (
        "integer fraction",
        {"path": "n", "number": "integer"},
        {"n": "1.5"},
        "MAPPING_NUMBER_INVALID",
        "/n",
        "",
    ),
    ("not a number", {"path": "n", "number": "decimal"}, {"n": "12abc"}, "MAPPING_NUMBER_INVALID", "/n", ""),
    (
        "exponent refused",
        {"path": "n", "number": "decimal"},
        {"n": "1e5"},
        "MAPPING_NUMBER_INVALID",
        "/n",
        "",
    ),
    ("bool not number", {"path": "n", "number": "integer"}, {"n": True}, "MAPPING_NUMBER_INVALID", "/n", ""),
    (
        "too many places",
        {"path": "n", "number": {"type": "decimal", "places": 2}},
        {"n": "1.234"},
        "MAPPING_NUMBER_INVALID",
        "/n",
        "",
    ),
    (
        "inexact as JSON number",
        {"path": "n", "number": "decimal"},
        {"n": "0.12345678901234567890123"},
        "MAPPING_NUMBER_INVALID",
        "/n",
        "",
    ),
    ("huge integer", {"path": "n", "number": "integer"}, {"n": "9007199254740993"}, "MAPPING_NUMBER_INVALID", "/n", ""),
    ("bad iso", {"path": "d", "date": "iso"}, {"d": "2024-13-01"}, "MAPPING_DATE_INVALID", "/d", ""),
    ("iso garbage", {"path": "d", "date": "iso"}, {"d": "next tuesday"}, "MAPPING_DATE_INVALID", "/d", ""),
    (
        "bad yyyymmdd",
        {"path": "d", "date": "yyyymmdd"},
        {"d": "2024-05-16"},
        "MAPPING_DATE_INVALID",
        "/d",
        "",
    ),
    ("unix not int", {"path": "d", "date": "unix"}, {"d": 1.5}, "MAPPING_DATE_INVALID", "/d", ""),
    (
        "pattern mismatch",
        {"path": "d", "date": {"format": "pattern", "pattern": "%d/%m/%Y"}},
        {"d": "2024-05-16"},
        "MAPPING_DATE_INVALID",
        "/d",
        "/credential/credentialSubject/fields/v/date",
    ),
]


@pytest.mark.parametrize(
    ("spec", "record", "code", "record_pointer", "mapping_pointer"),
    [e[1:] for e in ERRORS],
    ids=[e[0] for e in ERRORS],
)
def test_transform_error(
    spec: dict[str, Any], record: dict[str, Any], code: str, record_pointer: str, mapping_pointer: str
) -> None:
    with pytest.raises(TranslationError) as info:
        value_of(spec, record)
    assert info.value.code == code
    assert info.value.problem.pointer == record_pointer
    assert info.value.mapping_pointer.startswith("/credential/credentialSubject/fields/v")
    if mapping_pointer:
        assert info.value.mapping_pointer == mapping_pointer


def test_ledger_signer_missing_key_is_field_missing() -> None:
    with pytest.raises(TranslationError) as info:
        value_of({"ledger": "signer.address"}, {})
    assert info.value.code == "MAPPING_FIELD_MISSING"


def test_ledger_channel_present() -> None:
    assert value_of({"ledger": "channel"}, {}, channel="trade-channel") == "trade-channel"
