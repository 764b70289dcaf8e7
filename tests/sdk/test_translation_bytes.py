"""Byte pins and isolation for the translate path: speed-ups (cached digests, faster copies, no rebuild of the record
from its own evidence) must not change one emitted byte, and no caller may reach a record's cached state."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.adapters.sdk import CredentialMapping, LedgerEvidence, SourceRecord, apply_mapping, replay
from vcgate.adapters.sdk._records import copy_json
from vcgate.adapters.sdk._translate import _build  # the building step both translation and replay use
from vcgate.canonical_schema import canonical_json

from ._helpers import INVOICE_RECORD, invoice_mapping, make_record

INVOICE_BYTES = (
    b'{"number":"INV-8","date":"20240517","statusIndex":3,"seller":{"name":"B"},"lines":[],"cents":"5","currency":978}'
)

# Pinned with the translate path as it was before caching and before dropping the evidence rebuild (the values
# below were produced by that code): credential id, sha256 of the RFC 8785 bytes, sha256 of json.dumps (key order
# included), and the record digest.
PINS: dict[str, tuple[str, str, str, str]] = {
    "json-object": (
        "urn:uuid:6990fa5f-7d46-5a8c-9f20-3f90c42649b8",
        "cdc4963a36d798a2da202ec7590a3645cbd9bc9376f0b80505c3ba39648a3616",
        "db574c1ddea76cc576a6789797fcde196432eda27b6d043f25887c883b19fec0",
        "sha256:639e3b8f6a7dc5d0724f3804c06cb157990debca0fc57508639a780979b5a3ca",
    ),
    "json-bytes": (
        "urn:uuid:6990fa5f-7d46-5a8c-9f20-3f90c42649b8",
        "f22d7738a2a711a03c1f3527e4df2f2b05181b095384fcddd04864eca23a7a65",
        "bc3c131ab89940a8d3ddb5d887b8cfa264a1fa75984351aed196ff2065af7431",
        "sha256:611991e5d445228472e93c68d5b58c0daa409875e344cee48cbf90fd97dc0c13",
    ),
}


def pinned_record(case: str) -> SourceRecord:
    if case == "json-object":
        return make_record(
            INVOICE_RECORD,
            finality={"finalBlock": 50, "mode": "depth"},
            channel="ch-1",
            ledger_time=datetime(2024, 5, 17, 12, 30, 45, 120000, tzinfo=UTC),
        )
    return make_record(INVOICE_BYTES, media_type="application/json")


@pytest.mark.parametrize("case", sorted(PINS))
def test_translation_bytes_are_pinned(case: str) -> None:
    record = pinned_record(case)
    t = apply_mapping(invoice_mapping(), record)
    cid, canonical_sha, dumps_sha, digest = PINS[case]
    assert t.credential_id == cid
    assert hashlib.sha256(canonical_json(t.credential)).hexdigest() == canonical_sha
    assert hashlib.sha256(json.dumps(t.credential).encode()).hexdigest() == dumps_sha
    assert record.record_digest() == digest
    assert t.evidence["recordDigest"] == digest
    assert replay(invoice_mapping(), json.loads(json.dumps(t.evidence))) == t.credential


def test_record_digest_is_the_digest_of_the_canonical_content() -> None:
    record = make_record(INVOICE_RECORD)
    assert record.record_digest() == "sha256:" + hashlib.sha256(canonical_json(INVOICE_RECORD)).hexdigest()
    raw = make_record(INVOICE_BYTES)
    assert raw.record_digest() == "sha256:" + hashlib.sha256(INVOICE_BYTES).hexdigest()


def test_callers_cannot_reach_cached_record_state() -> None:
    source: dict[str, Any] = json.loads(json.dumps(INVOICE_RECORD))
    record = make_record(source)
    digest = record.record_digest()
    source["seller"]["name"] = "changed through the caller's object"
    content = record.content
    content["seller"]["name"] = "changed through content"
    content["lines"].append({"qty": 1, "gtin": "0"})
    assert record.content == INVOICE_RECORD
    assert record.content is not record.content
    assert record.record_digest() == digest

    first = apply_mapping(invoice_mapping(), record)
    expected = json.loads(json.dumps(first.credential))
    # Mutate every container of the translation, its evidence and its JSON copy: nothing reaches the record.
    for value in (first.credential, first.to_json()):
        value["credentialSubject"]["seller"]["name"] = "x"
        value["credentialSubject"]["itemsShipped"].clear()
        value["evidence"][0]["rawRecord"]["seller"]["name"] = "y"
        value["evidence"][0]["proofMaterial"]["entryHash"] = "z"
        value["evidence"][0]["nativeSigner"]["did"] = "did:example:other"
    assert record.content == INVOICE_RECORD
    assert record.proof_material == {"entryHash": "ab" * 32}
    assert record.native_signer["did"] == "did:example:signer"
    assert apply_mapping(invoice_mapping(), record).credential == expected


def test_translation_json_copies_are_independent() -> None:
    t = apply_mapping(invoice_mapping(), make_record(INVOICE_RECORD))
    a, b = t.to_json(), t.to_json()
    a["evidence"][0]["rawRecord"]["lines"][0]["qty"] = "99"
    assert b == t.credential
    assert t.credential["evidence"][0]["rawRecord"]["lines"][0]["qty"] == "12"


def test_evidence_json_copies_are_independent() -> None:
    evidence = LedgerEvidence.from_record(make_record(INVOICE_RECORD), invoice_mapping())
    a = evidence.to_json()
    a["proofMaterial"]["entryHash"] = "changed"
    a["rawRecord"]["seller"]["name"] = "changed"
    assert evidence.to_json()["proofMaterial"] == {"entryHash": "ab" * 32}
    assert evidence.to_json()["rawRecord"] == INVOICE_RECORD


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_copy_json_equals_the_json_round_trip(value: Any) -> None:
    copied = copy_json(value)
    expected = json.loads(json.dumps(value))
    assert json.dumps(copied) == json.dumps(expected)  # same values, same key order
    assert copied == expected


def test_copy_json_shares_no_containers() -> None:
    inner = [1, {"a": [2]}]
    value = {"x": inner, "y": inner}
    copied = copy_json(value)
    assert copied == value
    assert copied["x"] is not inner
    assert copied["x"] is not copied["y"]  # like the round trip: one value in two places becomes two copies
    assert copied["x"][1] is not inner[1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"t": (1, 2)}, {"t": [1, 2]}),  # tuples become lists
        ({1: "a", None: "b"}, {"1": "a", "null": "b"}),  # non-string keys become strings
        ([True, 1.5, None], [True, 1.5, None]),
    ],
)
def test_copy_json_falls_back_to_the_round_trip(value: Any, expected: Any) -> None:
    assert copy_json(value) == expected


def test_copy_json_raises_like_the_round_trip() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="Circular reference"):
        copy_json(cyclic)
    with pytest.raises(TypeError, match="not JSON serializable"):
        copy_json({"a": object()})
    assert math.isnan(copy_json([float("nan")])[0])  # as json.dumps (allow_nan=True) and json.loads


def test_edits_to_public_raw_do_not_reach_cached_content_or_digest() -> None:
    record = make_record(INVOICE_RECORD)
    digest = record.record_digest()
    assert isinstance(record.raw, dict)
    record.raw["number"] = "INV-EDITED"
    assert record.content == INVOICE_RECORD
    assert record.record_digest() == digest
    t = apply_mapping(invoice_mapping(), record)
    assert t.evidence["rawRecord"] == INVOICE_RECORD
    assert t.credential["credentialSubject"]["invoiceNumber"] == "INV-7"


def test_values_taken_whole_from_the_record_are_copies() -> None:
    # A path to an object or array puts a container of the record into the credential: it must be a copy.
    mapping = invoice_mapping(
        credentialSubject={
            "fields": {
                "type": {"const": ["Invoice"]},
                "seller": {"path": "seller"},
                "lines": {"path": "lines"},
                "each": {"array": {"path": "lines", "each": {"path": "$"}}},
            }
        }
    )
    record = make_record(INVOICE_RECORD)
    t = apply_mapping(mapping, record)
    subject = t.credential["credentialSubject"]
    assert subject["seller"] == INVOICE_RECORD["seller"]
    assert subject["lines"] == subject["each"] == INVOICE_RECORD["lines"]
    subject["seller"]["name"] = "x"
    subject["lines"][0]["qty"] = "x"
    subject["each"][1]["qty"] = "x"
    assert record.content == INVOICE_RECORD
    again = apply_mapping(mapping, record).credential["credentialSubject"]
    assert again["seller"] == INVOICE_RECORD["seller"]
    assert again["lines"] == again["each"] == INVOICE_RECORD["lines"]


def test_content_field_is_one_copied_field() -> None:
    record = make_record(INVOICE_RECORD)
    seller = record.content_field("seller")
    assert seller == {"name": "Acme Manufacturing"}
    seller["name"] = "x"
    assert record.content_field("seller") == {"name": "Acme Manufacturing"}
    assert record.content_field("number") == "INV-7"
    assert record.content_field("absent") is None
    assert make_record(INVOICE_BYTES).content_field("currency") == 978


# --- property: building from the record equals building from the evidence's rebuild of it (the former path) ---

FACTS_MAPPING = invoice_mapping(
    credentialSubject={
        "fields": {
            "type": {"const": ["Invoice"]},
            "invoiceNumber": {"path": "number"},
            "seller": {"path": "seller"},
            "recordedAt": {"ledger": "time"},
            "height": {"ledger": "height"},
            "locator": {"ledger": "locator"},
            "ledger": {"template": "{number} on {seller.name}"},
            "ledgerId": {"ledger": "ledgerId"},
            "ledgerKind": {"ledger": "ledgerKind"},
            "channel": {"ledger": "channel", "optional": True},
            "signer": {"ledger": "signer.did"},
        }
    }
)


@settings(max_examples=80, deadline=None)
@given(
    number=st.text(min_size=1, max_size=10),
    name=st.text(max_size=10),
    extra=st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=20,
    ),
    as_bytes=st.booleans(),
    embed=st.booleans(),
    channel=st.none() | st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    finality=st.none() | st.fixed_dictionaries({"finalBlock": st.integers(0, 2**53 - 1)}),
    micros=st.integers(0, 999_999),
    height=st.integers(0, 2**53 - 1),
)
def test_property_translation_equals_building_from_the_evidence(
    number: str,
    name: str,
    extra: Any,
    as_bytes: bool,
    embed: bool,
    channel: str | None,
    finality: dict[str, Any] | None,
    micros: int,
    height: int,
) -> None:
    content = {"number": number, "seller": {"name": name}, "extra": extra}
    raw: dict[str, Any] | bytes = json.dumps(content).encode() if as_bytes else content
    document = json.loads(json.dumps(FACTS_MAPPING.document))
    del document["credential"]["credentialStatus"]  # it reads fields these records do not have
    mapping = CredentialMapping.from_json({**document, "evidence": {"embedRecord": embed}})
    record = make_record(
        raw,
        channel=channel,
        finality=finality,
        ledger_height=height,
        ledger_time=datetime(2024, 5, 17, 12, 30, 45, micros, tzinfo=UTC),
    )
    t = apply_mapping(mapping, record)
    evidence = LedgerEvidence.from_record(record, mapping)
    former = _build(mapping, evidence.to_source_record(record.raw), evidence, None)
    assert json.dumps(t.credential) == json.dumps(former)  # same values in the same key order
    wire = json.loads(json.dumps(t.credential))
    assert replay(mapping, wire["evidence"][0], record=None if embed else record.raw) == t.credential
