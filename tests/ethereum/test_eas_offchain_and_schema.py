"""EAS schemas (parse, encode, decode, UIDs) and off-chain attestations (EIP-712), no server.

Off-chain attestations are signed here with eth-account's EIP-712 implementation and their UIDs computed with
eth-abi's packed encoder: both independent of vcgate's verifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_abi.packed import encode_packed
from eth_account import Account

from vcgate.adapters.ethereum import (
    EasSchema,
    OffchainAttestation,
    check_offchain_attestation,
    decode_attestation_data,
    encode_attestation_data,
    keccak256,
    load_offchain_attestation,
    parse_schema,
    schema_uid,
)
from vcgate.canonical_schema import InputError

from .conftest import DEV_KEYS, LICENCE_SCHEMA, ZERO_ADDRESS

EAS_ADDRESS = "0xA1207F3BBa224E2c9c3c6D5aF63D0eb1582Ce587"  # mainnet EAS
AT = datetime(2027, 1, 1, tzinfo=UTC)


def test_licence_schema_round_trip() -> None:
    fields = parse_schema(LICENCE_SCHEMA)
    assert [(f.type, f.name) for f in fields][:3] == [
        ("string", "licenseId"),
        ("bytes32", "ipRightsUid"),
        ("address", "licensee"),
    ]
    values = {
        "licenseId": "LIC-1",
        "ipRightsUid": b"\x01" * 32,
        "licensee": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "gtins": ["00012345600012"],
        "territory": "US",
        "validFrom": 1,
        "validUntil": 2,
    }
    decoded = decode_attestation_data(LICENCE_SCHEMA, encode_attestation_data(LICENCE_SCHEMA, values))
    assert decoded == {**values, "ipRightsUid": "0x" + "01" * 32}


def test_schema_uid_is_keccak_of_packed_record() -> None:
    expected = keccak256(encode_packed(["string", "address", "bool"], [LICENCE_SCHEMA, ZERO_ADDRESS, True]))
    assert schema_uid(LICENCE_SCHEMA) == expected == EasSchema(LICENCE_SCHEMA).uid
    assert schema_uid(LICENCE_SCHEMA, revocable=False) != expected


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("", "non-empty"),
        ("string", "is not 'type name'"),
        ("strang name", "is not an ABI type"),
        ("uint8 a,uint16 a", "repeats the name"),
    ],
)
def test_bad_schemas(schema: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_schema(schema)


def test_data_that_does_not_match_the_schema() -> None:
    with pytest.raises(InputError, match="does not decode"):
        decode_attestation_data(LICENCE_SCHEMA, b"\x00" * 10)


_TYPES: dict[int, list[dict[str, str]]] = {
    1: [
        {"name": "version", "type": "uint16"},
        {"name": "schema", "type": "bytes32"},
        {"name": "recipient", "type": "address"},
        {"name": "time", "type": "uint64"},
        {"name": "expirationTime", "type": "uint64"},
        {"name": "revocable", "type": "bool"},
        {"name": "refUID", "type": "bytes32"},
        {"name": "data", "type": "bytes"},
    ],
}
_TYPES[2] = [*_TYPES[1], {"name": "salt", "type": "bytes32"}]


def signed_offchain(version: int = 2, key: str = DEV_KEYS[0], **overrides: Any) -> dict[str, Any]:
    """An off-chain attestation in the EAS SDK's JSON shape, signed with eth-account."""
    schema = "0x" + schema_uid(LICENCE_SCHEMA).hex()
    message: dict[str, Any] = {
        "version": version,
        "schema": schema,
        "recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "time": 1_790_000_000,
        "expirationTime": 0,
        "revocable": True,
        "refUID": "0x" + "00" * 32,
        "data": "0x"
        + encode_attestation_data(
            LICENCE_SCHEMA,
            {
                "licenseId": "LIC-OFF-1",
                "ipRightsUid": b"\x02" * 32,
                "licensee": ZERO_ADDRESS,
                "gtins": [],
                "territory": "US",
                "validFrom": 0,
                "validUntil": 0,
            },
        ).hex(),
    }
    if version == 2:
        message["salt"] = "0x" + "5a" * 32
    message.update(overrides)
    domain = {"name": "EAS Attestation", "version": "1.4.0", "chainId": 1, "verifyingContract": EAS_ADDRESS}
    full = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Attest": _TYPES[version],
        },
        "primaryType": "Attest",
        "domain": domain,
        "message": message,
    }
    signed = Account.sign_typed_data(key, full_message=full)
    packed_types = ["uint16", "bytes", "address", "address", "uint64", "uint64", "bool", "bytes32", "bytes"]
    packed_values: list[Any] = [
        version, message["schema"].encode(), message["recipient"], ZERO_ADDRESS, message["time"],
        message["expirationTime"], message["revocable"], bytes.fromhex(message["refUID"][2:]),
        bytes.fromhex(message["data"][2:]),
    ]  # fmt: skip
    if version == 2:
        packed_types.append("bytes32")
        packed_values.append(bytes.fromhex(message["salt"][2:]))
    uid = keccak256(encode_packed([*packed_types, "uint32"], [*packed_values, 0]))
    return {
        "sig": {
            "version": version,
            "domain": domain,
            "primaryType": "Attest",
            "types": {"Attest": _TYPES[version]},
            "message": {**message, "time": str(message["time"])},  # the SDK writes bigints as strings
            "signature": {"r": hex(signed.r), "s": hex(signed.s), "v": signed.v},
            "uid": "0x" + uid.hex(),
        },
        "signer": Account.from_key(key).address,
    }


@pytest.mark.parametrize("version", [1, 2])
def test_offchain_attestation_from_file_verifies(tmp_path: Path, version: int) -> None:
    path = tmp_path / "attestation.json"
    path.write_text(json.dumps(signed_offchain(version)))
    attestation = load_offchain_attestation(path)
    result = check_offchain_attestation(attestation, at=AT, chain_id=1, eas_address=EAS_ADDRESS)
    assert result.status == "verified", result.problems
    assert result.attester == Account.from_key(DEV_KEYS[0]).address
    assert decode_attestation_data(LICENCE_SCHEMA, attestation.data)["licenseId"] == "LIC-OFF-1"


def _tamper_data(doc: dict[str, Any]) -> None:
    doc["sig"]["message"]["data"] = doc["sig"]["message"]["data"][:-2] + "01"


def _tamper_uid_too(doc: dict[str, Any]) -> None:
    # Content changed and UID recomputed to match: only the signature can catch it.
    forged = signed_offchain(time=1_790_000_001)
    doc["sig"]["message"]["time"] = "1790000001"
    doc["sig"]["uid"] = forged["sig"]["uid"]


def _claim_other_signer(doc: dict[str, Any]) -> None:
    doc["signer"] = Account.from_key(DEV_KEYS[1]).address


def _other_domain(doc: dict[str, Any]) -> None:
    doc["sig"]["domain"]["chainId"] = 10


def _future(doc: dict[str, Any]) -> None:
    replacement = signed_offchain(time=2_000_000_000)
    doc.clear()
    doc.update(replacement)


def _malformed(doc: dict[str, Any]) -> None:
    doc["sig"]["message"]["recipient"] = "not an address"


@pytest.mark.parametrize(
    ("tamper", "codes"),
    [
        (_tamper_data, ["eas.offchain_uid_mismatch", "eas.offchain_signature_invalid"]),
        (_tamper_uid_too, ["eas.offchain_signature_invalid"]),
        (_claim_other_signer, ["eas.offchain_signature_invalid"]),
        (_other_domain, ["eas.offchain_domain_mismatch", "eas.offchain_signature_invalid"]),
        (_future, ["eas.offchain_from_future"]),
        (_malformed, ["eas.offchain_malformed"]),
    ],
)
def test_tampered_offchain_attestations_fail(tamper: Any, codes: list[str]) -> None:
    document = signed_offchain()
    tamper(document)
    result = check_offchain_attestation(document, at=AT, chain_id=1)
    assert result.status == "invalid"
    assert [p.code for p in result.problems] == codes
    assert result.attester is None


def test_high_s_signature_is_refused() -> None:
    document = signed_offchain()
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    signature = document["sig"]["signature"]
    # (r, n - s, flipped v) is the same signature mathematically; OpenZeppelin's ECDSA refuses it (EIP-2).
    signature["s"] = hex(n - int(signature["s"], 16))
    signature["v"] = 55 - signature["v"]
    result = check_offchain_attestation(document, at=AT)
    assert [p.code for p in result.problems] == ["eas.offchain_signature_invalid"]


def test_offchain_parse_errors_name_the_field() -> None:
    document = signed_offchain()
    document["sig"]["message"]["time"] = -5
    with pytest.raises(InputError, match="time must be a non-negative integer"):
        OffchainAttestation.from_json(document)
