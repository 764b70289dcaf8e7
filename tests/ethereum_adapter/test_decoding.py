"""The checker's fast ABI decoder for EAS attestation data gives exactly what eth-abi gives, and refuses what eth-abi
refuses (padding, offsets, UTF-8); unusual types fall back to eth-abi. Offline, no node."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.adapters.ethereum import (
    IP_LICENCE_SCHEMA,
    EasSchema,
    decode_attestation_data,
    encode_attestation_data,
)
from vcgate.adapters.ethereum._checker import decode_fields, json_value
from vcgate.canonical_schema import InputError

MIXED = (
    "uint8 small,uint256 big,address who,bool flag,bytes32 id,bytes4 tag,bytes blob,string text,uint64[] times,"
    "address[] parties,string[] names,bytes[] blobs"
)
FALLBACK = "int16 signed,uint8[2] pair,string[][] nested"


def reference(definition: str, data: bytes) -> dict[str, Any]:
    return {k: json_value(v) for k, v in decode_attestation_data(definition, data).items()}


mixed_values = st.fixed_dictionaries(
    {
        "small": st.integers(0, 255),
        "big": st.integers(0, 2**256 - 1),
        "who": st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
        "flag": st.booleans(),
        "id": st.binary(min_size=32, max_size=32),
        "tag": st.binary(min_size=4, max_size=4),
        "blob": st.binary(max_size=70),
        "text": st.text(max_size=40),
        "times": st.lists(st.integers(0, 2**64 - 1), max_size=4),
        "parties": st.lists(st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()), max_size=3),
        "names": st.lists(st.text(max_size=12), max_size=4),
        "blobs": st.lists(st.binary(max_size=40), max_size=3),
    }
)


@settings(max_examples=150, deadline=None)
@given(mixed_values)
def test_fast_decoder_equals_eth_abi(values: dict[str, Any]) -> None:
    data = encode_attestation_data(MIXED, values)
    assert decode_fields(EasSchema(MIXED), data) == reference(MIXED, data)


def test_licence_schema_and_fallback_types() -> None:
    values = {
        "licenseId": "LIC-ü-1", "ipRightsCredential": "urn:uuid:1", "ipRightsType": "Trademark",
        "recordationNumber": "TMK 1", "licenseeDid": "did:web:x", "licenseeName": "", "gtins": [],
        "territories": ["US"], "termStart": 1, "termEnd": 2**64 - 1, "conditions": "",
    }  # fmt: skip
    data = encode_attestation_data(IP_LICENCE_SCHEMA, values)
    decoded = decode_fields(EasSchema(IP_LICENCE_SCHEMA), data)
    assert decoded == reference(IP_LICENCE_SCHEMA, data)
    assert decoded["termEnd"] == str(2**64 - 1)  # beyond 2^53: I-JSON carries it as text
    fallback = encode_attestation_data(FALLBACK, {"signed": -5, "pair": [1, 2], "nested": [["a"], []]})
    assert decode_fields(EasSchema(FALLBACK), fallback) == {"signed": -5, "pair": [1, 2], "nested": [["a"], []]}


@pytest.mark.parametrize(
    ("definition", "mutate"),
    [
        ("address a", lambda d: b"\x01" + d[1:]),  # non-zero address padding
        ("bool b", lambda d: d[:-1] + b"\x02"),
        ("bytes4 t", lambda d: d[:-1] + b"\x01"),  # non-zero bytesN padding
        ("uint8 n", lambda d: d[:-2] + b"\x01\x00"),  # out of range
        ("string s", lambda d: d[:64] + b"\xff" + d[65:]),  # not UTF-8
        ("string s", lambda d: d[:32] + (10**6).to_bytes(32, "big") + d[64:]),  # length beyond the data
        ("string s", lambda d: (10**6).to_bytes(32, "big") + d[32:]),  # offset beyond the data
        ("string[] s", lambda d: d[:32] + (2**40).to_bytes(32, "big") + d[64:]),  # array length beyond the data
        ("uint64 a,uint64 b", lambda d: d[:40]),  # truncated
    ],
)
def test_malformed_data_is_refused_like_eth_abi(definition: str, mutate: Any) -> None:
    values = {"a": "0x" + "11" * 20, "b": True, "t": b"abcd", "n": 7, "s": "hello" if "[]" not in definition else ["x"]}
    names = [item.split()[1] for item in definition.split(",")]
    if definition == "uint64 a,uint64 b":
        values = {"a": 1, "b": 2}
    data = mutate(encode_attestation_data(definition, {n: values[n] for n in names}))
    with pytest.raises(InputError):
        decode_fields(EasSchema(definition), data)
    with pytest.raises(InputError):
        decode_attestation_data(definition, data)
