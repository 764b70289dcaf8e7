"""The bitstring itself: layout (index 0 = most significant bit of byte 0), encoding, strict decoding."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.gateway import StatusList, StatusListError, decode_bitstring, read_status

URL = "https://status.example/lists/1"


def _u(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_new_list_is_all_zero_and_long_enough() -> None:
    sl = StatusList.create(URL)
    assert sl.length == 131_072
    bits = decode_bitstring(sl.encode())
    assert len(bits) == 16 * 1024
    assert not any(bits)


def test_index_zero_is_the_most_significant_bit_of_byte_zero() -> None:
    sl = StatusList.create(URL)
    sl.set(0)
    sl.set(9)
    bits = decode_bitstring(sl.encode())
    assert bits[0] == 0b1000_0000
    assert bits[1] == 0b0100_0000
    assert read_status(bits, 0) == 1
    assert read_status(bits, 1) == 0
    assert read_status(bits, 9) == 1


def test_set_and_clear() -> None:
    sl = StatusList.create(URL)
    sl.set(94567)
    assert sl.get(94567) == 1
    assert sl.get(94566) == 0
    sl.clear(94567)
    assert sl.get(94567) == 0
    assert not any(decode_bitstring(sl.encode()))


def test_encoding_is_multibase_base64url_of_gzip() -> None:
    sl = StatusList.create(URL)
    sl.set(3)
    encoded = sl.encode()
    assert encoded.startswith("u")
    assert "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw[0] == 0b0001_0000
    # deterministic: same bits, same text (gzip mtime fixed)
    assert StatusList.from_encoded(URL, encoded).encode() == encoded


def test_spec_example_encoded_list_decodes() -> None:
    # Bitstring Status List §2.2 example BitstringStatusListCredential: an all-zero 16 KB list.
    bits = decode_bitstring("uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA")
    assert len(bits) == 16 * 1024
    assert not any(bits)


def test_status_size_two_with_messages() -> None:
    messages = {0: "pending_review", 1: "accepted", 2: "rejected", 3: "undefined"}
    sl = StatusList.create(URL, status_size=2, status_messages=messages)
    assert sl.length == 131_072
    sl.set(5, 2)
    sl.set(6, 3)
    assert [sl.get(i) for i in (4, 5, 6, 7)] == [0, 2, 3, 0]
    bits = decode_bitstring(sl.encode())
    # two bits per entry: entries 4..7 occupy byte 1 as 00 10 11 00
    assert bits[1] == 0b0010_1100
    entry = sl.entry(5, "message")
    assert entry["statusSize"] == 2
    assert entry["statusMessage"] == [
        {"status": "0x0", "message": "pending_review"},
        {"status": "0x1", "message": "accepted"},
        {"status": "0x2", "message": "rejected"},
        {"status": "0x3", "message": "undefined"},
    ]


def test_status_size_two_needs_all_messages() -> None:
    with pytest.raises(StatusListError, match="one message for each of the 4 values"):
        StatusList.create(URL, status_size=2, status_messages={0: "a", 1: "b"})


def test_list_shorter_than_minimum_cannot_be_created() -> None:
    with pytest.raises(StatusListError, match="at least 131072 entries"):
        StatusList.create(URL, length=1000)


def test_set_outside_the_list() -> None:
    sl = StatusList.create(URL)
    with pytest.raises(StatusListError) as info:
        sl.set(131_072)
    assert info.value.code == "STATUS_INDEX_OUT_OF_RANGE"


def test_value_must_fit_status_size() -> None:
    with pytest.raises(StatusListError, match="does not fit"):
        StatusList.create(URL).set(1, 2)


def test_entry_and_credential_shapes() -> None:
    sl = StatusList.create(URL)
    assert sl.entry(42, "revocation") == {
        "id": f"{URL}#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "42",
        "statusListCredential": URL,
    }
    cred = sl.to_credential("did:example:issuer", "revocation", datetime(2025, 1, 1, tzinfo=UTC), ttl_ms=60_000)
    assert cred["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert cred["id"] == URL
    assert cred["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert cred["validFrom"] == "2025-01-01T00:00:00Z"
    assert cred["credentialSubject"]["type"] == "BitstringStatusList"
    assert cred["credentialSubject"]["ttl"] == 60_000
    assert cred["credentialSubject"]["encodedList"] == sl.encode()


def test_status_list_2021_shapes() -> None:
    sl = StatusList.create(URL, list_format="2021")
    sl.set(7)
    encoded = sl.encode()
    assert not encoded.startswith("u")
    assert read_status(decode_bitstring(encoded, list_format="2021"), 7) == 1
    assert sl.entry(7, "revocation")["type"] == "StatusList2021Entry"
    cred = sl.to_credential("did:example:issuer", "revocation", datetime(2025, 1, 1, tzinfo=UTC))
    assert cred["@context"][:2] == [
        "https://www.w3.org/2018/credentials/v1",
        "https://w3id.org/vc/status-list/2021/v1",
    ]
    assert cred["type"] == ["VerifiableCredential", "StatusList2021Credential"]
    assert cred["issuanceDate"] == "2025-01-01T00:00:00Z"
    assert cred["credentialSubject"]["type"] == "StatusList2021"


@pytest.mark.parametrize(
    ("encoded", "code"),
    [
        (
            "H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
            "STATUS_LIST_DECODING_FAILED",
        ),
        (
            "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA==",
            "STATUS_LIST_DECODING_FAILED",
        ),
        (
            "uH4sIAAAAAAAAA+3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
            "STATUS_LIST_DECODING_FAILED",
        ),
        (
            "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAA!AAAAAAIC3AYbSVKsAQAAA",
            "STATUS_LIST_DECODING_FAILED",
        ),
        (_u(b"definitely not gzip"), "STATUS_LIST_DECODING_FAILED"),
        (_u(gzip.compress(bytes(16 * 1024), mtime=0)[:-6]), "STATUS_LIST_DECODING_FAILED"),
        (_u(gzip.compress(bytes(16 * 1024), mtime=0) + b"trailing"), "STATUS_LIST_DECODING_FAILED"),
        (_u(gzip.compress(bytes(1024), mtime=0)), "STATUS_LIST_TOO_SHORT"),
        (_u(gzip.compress(bytes(17 * 1024 * 1024), mtime=0)), "STATUS_LIST_TOO_LARGE"),
    ],
    ids=[
        "no-multibase-prefix",
        "padding",
        "standard-base64-alphabet",
        "foreign-character",
        "not-gzip",
        "truncated-gzip",
        "data-after-gzip",
        "shorter-than-16KB",
        "gzip-bomb",
    ],
)
def test_strict_decoding(encoded: str, code: str) -> None:
    with pytest.raises(StatusListError) as info:
        decode_bitstring(encoded)
    assert info.value.code == code


def test_read_out_of_range() -> None:
    bits = bytes(16 * 1024)
    with pytest.raises(StatusListError) as info:
        read_status(bits, 131_072)
    assert info.value.code == "STATUS_INDEX_OUT_OF_RANGE"
    with pytest.raises(StatusListError):
        read_status(bits, 65_536, status_size=2)
    assert read_status(bits, 65_535, status_size=2) == 0


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=4),
    writes=st.lists(st.tuples(st.integers(0, 131_071), st.integers(0, 15)), max_size=20),
)
def test_round_trip(size: int, writes: list[tuple[int, int]]) -> None:
    messages = {v: f"m{v}" for v in range(2**size)} if size > 1 else None
    sl = StatusList.create(URL, status_size=size, status_messages=messages)
    expected: dict[int, int] = {}
    for index, value in writes:
        value %= 2**size
        sl.set(index, value)
        expected[index] = value
    decoded = decode_bitstring(sl.encode())
    for index, value in expected.items():
        assert read_status(decoded, index, size) == value
    assert sum(1 for i in range(0, 131_072, 997) if read_status(decoded, i, size) != expected.get(i, 0)) == 0
