"""The mapping language's ``earliest`` source (the earliest of several date-times) and ``absentIf`` (sentinel values
that count as absent): what bounds an EAS licence's ``validUntil`` by the attestation's ``expirationTime``."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcgate.adapters.sdk import CredentialMapping, MappingError, TranslationError, apply_mapping

from ._helpers import INVOICE_MAPPING, INVOICE_RECORD, make_record
from .test_mapping_transforms import OMIT, value_of

TERM_END = {"path": "termEnd", "date": "unix"}
EXPIRY = {"path": "expirationTime", "absentIf": [0], "date": "unix", "optional": True}
BOUNDED = {"earliest": [TERM_END, EXPIRY]}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = [
    (
        "expiry before the term",
        BOUNDED,
        {"termEnd": 1_830_297_600, "expirationTime": 1_800_000_000},
        "2027-01-15T08:00:00Z",
    ),
    (
        "term before the expiry",
        BOUNDED,
        {"termEnd": 1_830_297_600, "expirationTime": 1_900_000_000},
        "2028-01-01T00:00:00Z",
    ),
    ("expiry 0 bounds nothing", BOUNDED, {"termEnd": 1_830_297_600, "expirationTime": 0}, "2028-01-01T00:00:00Z"),
    ("expiry absent", BOUNDED, {"termEnd": 1_830_297_600}, "2028-01-01T00:00:00Z"),
    (
        "a tie keeps the first",
        {"earliest": [{"const": "2028-01-01T01:00:00+01:00"}, {"const": "2028-01-01T00:00:00Z"}]},
        {},
        "2028-01-01T01:00:00+01:00",
    ),
    (
        "zones are compared as instants",
        {"earliest": [{"const": "2028-01-01T00:30:00Z"}, {"const": "2028-01-01T01:00:00+01:00"}]},
        {},
        "2028-01-01T01:00:00+01:00",
    ),
    (
        "all absent and optional",
        {"earliest": [{"path": "a", "optional": True}, {"path": "b", "optional": True}], "optional": True},
        {},
        OMIT,
    ),
    (
        "all absent with a default",
        {"earliest": [{"path": "a", "optional": True}, {"path": "b", "optional": True}], "default": "none"},
        {},
        "none",
    ),
    ("absentIf then default", {"path": "a", "absentIf": ["", "N/A"], "default": "-"}, {"a": "N/A"}, "-"),
    ("absentIf leaves other values", {"path": "a", "absentIf": [0]}, {"a": 7}, 7),
    ("absentIf is type-exact", {"path": "a", "absentIf": [0]}, {"a": False}, False),
    ("absentIf on structures", {"path": "a", "absentIf": [{}], "optional": True}, {"a": {}}, OMIT),
]


@pytest.mark.parametrize(("spec", "record", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_earliest_and_absent_if(spec: dict[str, Any], record: dict[str, Any], expected: Any) -> None:
    assert value_of(spec, record) == expected


def test_a_required_item_is_still_required() -> None:
    with pytest.raises(TranslationError) as info:
        value_of(BOUNDED, {"expirationTime": 1_800_000_000})
    assert info.value.code == "MAPPING_FIELD_MISSING"
    assert info.value.mapping_pointer == "/credential/credentialSubject/fields/v/earliest/0"
    assert info.value.problem.pointer == "/termEnd"


def test_an_item_that_is_not_a_date_time_is_an_error() -> None:
    with pytest.raises(TranslationError) as info:
        value_of({"earliest": [TERM_END, {"path": "expirationTime"}]}, {"termEnd": 1, "expirationTime": 5})
    assert info.value.code == "MAPPING_VALUE_INVALID"
    assert info.value.mapping_pointer == "/credential/credentialSubject/fields/v/earliest/1"
    assert "date-time with a timezone" in str(info.value)


def test_all_items_absent_is_missing() -> None:
    with pytest.raises(TranslationError) as info:
        value_of({"earliest": [{"path": "a", "optional": True}, {"path": "b", "optional": True}]}, {})
    assert info.value.code == "MAPPING_FIELD_MISSING"
    assert "every item of 'earliest' is absent" in str(info.value)


def test_valid_until_bounded_in_a_whole_mapping() -> None:
    document = copy.deepcopy(INVOICE_MAPPING)
    document["credential"]["validUntil"] = {
        "earliest": [
            {"path": "expires", "date": "unix"},
            {"path": "cap", "absentIf": [0], "date": "unix", "optional": True},
        ]
    }
    mapping = CredentialMapping.from_json(document)
    base = dict(INVOICE_RECORD)
    capped = apply_mapping(mapping, make_record({**base, "expires": 1_900_000_000, "cap": 1_800_000_000}))
    assert capped.credential["validUntil"] == "2027-01-15T08:00:00Z"
    uncapped = apply_mapping(mapping, make_record({**base, "expires": 1_900_000_000, "cap": 0}))
    assert uncapped.credential["validUntil"] == "2030-03-17T17:46:40Z"
    # A changed mapping is a new published mapping: a new digest, so new credential ids.
    assert mapping.digest != CredentialMapping.from_json(INVOICE_MAPPING).digest
    assert (
        capped.credential_id
        != apply_mapping(
            CredentialMapping.from_json(INVOICE_MAPPING), make_record({**base, "expires": 1_900_000_000})
        ).credential_id
    )


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("earliest of one", {"earliest": [TERM_END]}, "/credential/validUntil/earliest", "is too short"),
    ("earliest not a list", {"earliest": TERM_END}, "/credential/validUntil/earliest", "is not of type 'array'"),
    (
        "earliest and path",
        {"earliest": [TERM_END, EXPIRY], "path": "x"},
        "/credential/validUntil",
        "found path, earliest",
    ),
    ("absentIf empty", {"path": "x", "absentIf": []}, "/credential/validUntil/absentIf", "should be non-empty"),
    ("absentIf not a list", {"path": "x", "absentIf": 0}, "/credential/validUntil/absentIf", "is not of type 'array'"),
    (
        "bad item",
        {"earliest": [TERM_END, {"path": "x", "date": "weekly"}]},
        "/credential/validUntil/earliest/1/date",
        "'weekly' is not one of",
    ),
]


@pytest.mark.parametrize(("spec", "pointer", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_earliest_points_at_the_field(spec: dict[str, Any], pointer: str, words: str) -> None:
    document = copy.deepcopy(INVOICE_MAPPING)
    document["credential"]["validUntil"] = spec
    with pytest.raises(MappingError) as info:
        CredentialMapping.from_json(document)
    problems = info.value.problems
    assert [p.code for p in problems] == ["MAPPING_SCHEMA"], problems
    assert problems[0].pointer == pointer, problems
    assert words in problems[0].detail, problems


@given(
    term_end=st.integers(min_value=0, max_value=2**33),
    expiry=st.one_of(st.just(0), st.integers(min_value=1, max_value=2**33)),
)
def test_earliest_is_the_minimum_with_zero_meaning_none(term_end: int, expiry: int) -> None:
    got = value_of(BOUNDED, {"termEnd": term_end, "expirationTime": expiry})
    want = min(term_end, expiry) if expiry else term_end
    assert got == datetime.fromtimestamp(want, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
