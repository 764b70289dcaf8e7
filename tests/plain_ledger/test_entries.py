"""Entries: signing and strict parsing (Ed25519 and P-256), exact problem codes for every kind of bad input."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.adapters.plain_ledger import (
    MAX_ENTRY_SIZE,
    EntryError,
    KeyFileError,
    LedgerEntry,
    LogLeaf,
    SubmitterKey,
    check_entry,
    unsigned_entry_bytes,
)
from vcgate.canonical_schema import b64url, public_key_from_cryptography


def record(key: SubmitterKey, record_id: str = "inv-1", **extra: Any) -> dict[str, Any]:
    return key.sign_entry({"kind": "record", "recordId": record_id, "record": {"gtin": "09506000134352"}, **extra})


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256"])
def test_signed_entries_verify(key_type: str) -> None:
    key = SubmitterKey.generate(key_type)  # type: ignore[arg-type]
    doc = record(key, issuedAt="2025-03-01T12:00:00Z")
    entry = LedgerEntry.from_json(doc)
    assert entry.kind == "record"
    assert entry.record_id == "inv-1"
    assert entry.signer.did == key.did
    assert entry.signer.public_key.key_type == key_type
    assert entry.canonical == rfc8785.dumps(doc)
    assert LedgerEntry.from_bytes(json.dumps(doc)) == entry


def test_the_signature_covers_the_jcs_bytes_of_the_entry_without_signature() -> None:
    key = SubmitterKey.generate("Ed25519")
    doc = record(key)
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    assert unsigned_entry_bytes(doc) == rfc8785.dumps(unsigned)
    public = key.public_key.to_cryptography()
    public.verify(base64.urlsafe_b64decode(doc["signature"] + "=="), rfc8785.dumps(unsigned))  # type: ignore[call-arg]


def test_p256_signatures_are_raw_r_s_and_high_s_is_accepted() -> None:
    key = SubmitterKey.generate("P-256")
    doc = record(key)
    sig = base64.urlsafe_b64decode(doc["signature"] + "==")
    assert len(sig) == 64
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    flipped = {**doc, "signature": b64url(r.to_bytes(32, "big") + (n - s).to_bytes(32, "big"))}
    assert LedgerEntry.from_json(flipped).signer.did == key.did  # low-S is not required


def test_a_revocation_by_index_or_record_id() -> None:
    key = SubmitterKey.generate("Ed25519")
    by_index = LedgerEntry.from_json(key.sign_entry({"kind": "revocation", "supersedes": 3, "reason": "expired"}))
    by_id = LedgerEntry.from_json(key.sign_entry({"kind": "revocation", "supersedes": "inv-1"}))
    assert (by_index.supersedes, by_id.supersedes) == (3, "inv-1")
    assert by_index.record_id is None


def _tamper(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**doc, **changes}
    return {k: v for k, v in out.items() if v is not _DROP}


_DROP = object()
_OTHER = SubmitterKey.generate("Ed25519")


def _cases() -> list[tuple[str, Any, str, str]]:
    key = SubmitterKey.generate("Ed25519")
    good = record(key)
    other_sig = record(_OTHER)["signature"]
    p384 = public_key_from_cryptography(ec.generate_private_key(ec.SECP384R1()).public_key()).to_multibase()
    return [
        ("unsigned: no signature", _tamper(good, signature=_DROP), "PLAIN_LEDGER_ENTRY_UNSIGNED", ""),
        ("unsigned: no signer", _tamper(good, signer=_DROP), "PLAIN_LEDGER_ENTRY_UNSIGNED", ""),
        ("wrong key signed it", _tamper(good, signature=other_sig), "PLAIN_LEDGER_SIGNATURE_INVALID", "/signature"),
        (
            "record changed after signing",
            _tamper(good, record={"gtin": "1"}),
            "PLAIN_LEDGER_SIGNATURE_INVALID",
            "/signature",
        ),
        ("signature not base64url", _tamper(good, signature="a+b/"), "PLAIN_LEDGER_ENTRY_INVALID", "/signature"),
        ("signature not a string", _tamper(good, signature=7), "PLAIN_LEDGER_ENTRY_INVALID", "/signature"),
        ("not an object", [good], "PLAIN_LEDGER_ENTRY_INVALID", ""),
        ("unknown kind", _tamper(good, kind="update"), "PLAIN_LEDGER_ENTRY_INVALID", "/kind"),
        ("unknown member", _tamper(good, extra=1), "PLAIN_LEDGER_ENTRY_INVALID", "/extra"),
        ("supersedes on a record", _tamper(good, supersedes=1), "PLAIN_LEDGER_ENTRY_INVALID", "/supersedes"),
        ("record not an object", _tamper(good, record=[1]), "PLAIN_LEDGER_ENTRY_INVALID", "/record"),
        ("record id empty", _tamper(good, recordId=""), "PLAIN_LEDGER_ENTRY_INVALID", "/recordId"),
        ("record id with control char", _tamper(good, recordId="a\nb"), "PLAIN_LEDGER_ENTRY_INVALID", "/recordId"),
        ("missing record", _tamper(good, record=_DROP), "PLAIN_LEDGER_ENTRY_INVALID", ""),
        ("bad issuedAt", _tamper(good, issuedAt="yesterday"), "PLAIN_LEDGER_ENTRY_INVALID", "/issuedAt"),
        (
            "issuedAt without zone",
            _tamper(good, issuedAt="2025-01-01T00:00:00"),
            "PLAIN_LEDGER_ENTRY_INVALID",
            "/issuedAt",
        ),
        ("float outside I-JSON", _tamper(good, record={"x": 2**60}), "PLAIN_LEDGER_ENTRY_INVALID", ""),
        (
            "signer with extra member",
            _tamper(good, signer={**good["signer"], "x": 1}),
            "PLAIN_LEDGER_ENTRY_INVALID",
            "/signer",
        ),
        (
            "signer DID malformed",
            _tamper(good, signer={**good["signer"], "did": "not a did"}),
            "PLAIN_LEDGER_ENTRY_INVALID",
            "/signer/did",
        ),
        (
            "did:key of another key",
            _tamper(good, signer={**good["signer"], "did": _OTHER.did}),
            "PLAIN_LEDGER_SIGNER_DID_MISMATCH",
            "/signer/publicKeyMultibase",
        ),
        (
            "P-384 signer key",
            _tamper(good, signer={"did": "did:web:example.com", "publicKeyMultibase": p384}),
            "PLAIN_LEDGER_SIGNER_KEY_UNSUPPORTED",
            "/signer/publicKeyMultibase",
        ),
        (
            "garbage signer key",
            _tamper(good, signer={"did": "did:web:example.com", "publicKeyMultibase": "zzz"}),
            "PLAIN_LEDGER_SIGNER_KEY_UNSUPPORTED",
            "/signer/publicKeyMultibase",
        ),
        ("revocation without target", key.sign_entry({"kind": "revocation"}), "PLAIN_LEDGER_ENTRY_INVALID", ""),
        (
            "revocation target bool",
            key.sign_entry({"kind": "revocation", "supersedes": True}),
            "PLAIN_LEDGER_ENTRY_INVALID",
            "/supersedes",
        ),
        (
            "revocation target negative",
            key.sign_entry({"kind": "revocation", "supersedes": -1}),
            "PLAIN_LEDGER_ENTRY_INVALID",
            "/supersedes",
        ),
        (
            "revocation with record",
            key.sign_entry({"kind": "revocation", "supersedes": 1, "record": {}}),
            "PLAIN_LEDGER_ENTRY_INVALID",
            "/record",
        ),
        (
            "oversized",
            record(key, record_id="big") | {"record": {"x": "a" * MAX_ENTRY_SIZE}},
            "PLAIN_LEDGER_ENTRY_TOO_LARGE",
            "",
        ),
    ]


@pytest.mark.parametrize(("name", "doc", "code", "pointer"), _cases(), ids=[c[0] for c in _cases()])
def test_bad_entries_are_refused_with_exact_codes(name: str, doc: Any, code: str, pointer: str) -> None:
    with pytest.raises(EntryError) as caught:
        LedgerEntry.from_json(doc)
    assert caught.value.problem.code == code, name
    assert caught.value.problem.pointer == pointer, name
    result = check_entry(doc)
    assert result.status == "invalid"
    assert result.problems[0].code == code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{", "PLAIN_LEDGER_ENTRY_MALFORMED"),
        (b'{"kind": "record", "kind": "record"}', "PLAIN_LEDGER_ENTRY_MALFORMED"),
        (b'{"x": NaN}', "PLAIN_LEDGER_ENTRY_MALFORMED"),
        (b'{"x": Infinity}', "PLAIN_LEDGER_ENTRY_MALFORMED"),
        (b"\xff\xfe{}", "PLAIN_LEDGER_ENTRY_MALFORMED"),
        (b"[" * 40 + b"]" * 40, "PLAIN_LEDGER_ENTRY_MALFORMED"),
        (b" " * (MAX_ENTRY_SIZE + 1), "PLAIN_LEDGER_ENTRY_TOO_LARGE"),
    ],
    ids=["truncated", "duplicate member", "NaN", "Infinity", "not UTF-8", "too deep", "too large"],
)
def test_malformed_json_is_refused(raw: bytes, code: str) -> None:
    with pytest.raises(EntryError) as caught:
        LedgerEntry.from_bytes(raw)
    assert caught.value.problem.code == code


def test_a_did_web_signer_is_accepted_and_left_for_the_verifier_to_bind() -> None:
    key = SubmitterKey.generate("Ed25519", did="did:web:brand.example")
    assert LedgerEntry.from_json(record(key)).signer.did == "did:web:brand.example"


def test_leaf_bytes_are_canonical_and_round_trip() -> None:
    key = SubmitterKey.generate("P-256")
    entry = LedgerEntry.from_json(record(key, record_id="é-ünïcode"))
    leaf = LogLeaf(entry, "2025-01-02T03:04:05.678Z")
    assert leaf.to_bytes() == rfc8785.dumps(leaf.to_json())
    assert LogLeaf.from_bytes(leaf.to_bytes()) == leaf
    spaced = json.dumps(leaf.to_json(), indent=1).encode()
    with pytest.raises(EntryError) as caught:
        LogLeaf.from_bytes(spaced)
    assert caught.value.problem.code == "PLAIN_LEDGER_LEAF_MALFORMED"
    with pytest.raises(EntryError):
        LogLeaf(entry, "not a time")


def test_key_files_round_trip_in_the_multikey_form(tmp_path: Path) -> None:
    for key_type in ("Ed25519", "P-256"):
        key = SubmitterKey.generate(key_type)  # type: ignore[arg-type]
        path = tmp_path / f"{key_type}.json"
        key.save(path)
        assert path.stat().st_mode & 0o777 == 0o600
        data = json.loads(path.read_text())
        assert data["type"] == "Multikey"
        assert data["controller"] == key.did
        assert data["keyType"] == key_type
        assert SubmitterKey.load(path) == key
        with pytest.raises(KeyFileError, match="refusing to overwrite"):
            key.save(path)


def test_short_key_file_form_and_mismatches(tmp_path: Path) -> None:
    key = SubmitterKey.generate("Ed25519", did="did:web:m.example")
    short = {
        "type": "Ed25519",
        "did": key.did,
        "publicKeyMultibase": key.public_key.to_multibase(),
        "secretKeyMultibase": key.to_json()["secretKeyMultibase"],
    }
    assert SubmitterKey.from_json(short) == key
    other = SubmitterKey.generate("Ed25519")
    with pytest.raises(KeyFileError, match="does not belong"):
        SubmitterKey.from_json({**short, "publicKeyMultibase": other.public_key.to_multibase()})
    with pytest.raises(KeyFileError, match="declared type"):
        SubmitterKey.from_json({**short, "type": "P-256"})


def test_gateway_key_files_sign_entries(tmp_path: Path) -> None:
    """`vcgate keys generate` files (the gateway's KeyPair) are submitter keys as they are."""
    from vcgate.gateway.verification._keys import KeyPair

    pair = KeyPair.generate("p256")
    pair.to_file(tmp_path / "k.json")
    key = SubmitterKey.load(tmp_path / "k.json")
    assert LedgerEntry.from_json(record(key)).signer.did == pair.controller


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_record_signs_and_verifies_and_any_change_breaks_it(value: Any) -> None:
    key = _OTHER
    doc = key.sign_entry({"kind": "record", "recordId": "r", "record": {"v": value}})
    assert LedgerEntry.from_json(json.loads(json.dumps(doc))).canonical == rfc8785.dumps(doc)
    changed = {**doc, "record": {"v": value, "w": 0}}
    with pytest.raises(EntryError) as caught:
        LedgerEntry.from_json(changed)
    assert caught.value.problem.code == "PLAIN_LEDGER_SIGNATURE_INVALID"


def test_ecdsa_signature_by_another_p256_key_fails() -> None:
    key = SubmitterKey.generate("P-256")
    doc = record(key)
    other = ec.generate_private_key(ec.SECP256R1())
    r, s = decode_dss_signature(other.sign(unsigned_entry_bytes(doc), ec.ECDSA(hashes.SHA256())))
    forged = {**doc, "signature": b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}
    with pytest.raises(EntryError) as caught:
        LedgerEntry.from_json(forged)
    assert caught.value.problem.code == "PLAIN_LEDGER_SIGNATURE_INVALID"
