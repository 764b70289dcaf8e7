"""Tampering helpers: each change stays in the value's alphabet and really changes it."""

from __future__ import annotations

import hashlib

import pytest

from vcgate.canonical_schema import b64url, b64url_decode
from vcgate.conformance_tests._tamper import (
    changed_scalar,
    leaves,
    tampered_heights,
    tampered_proof_material,
    tampered_records,
    with_evidence,
)


@pytest.mark.parametrize(
    ("value", "changed"),
    [
        ("00ff", "000f"),
        ("ABCDEF", "ABCEEF"),
        ("zQ3s", "zQ3s".replace("3", "4")),
        ("did:web:x", "did:beb:x"),
        ("", "x"),
        (7, 8),
        (True, False),
        (1.5, 2.5),
    ],
)
def test_changed_scalar(value: object, changed: object) -> None:
    assert changed_scalar(value) == changed
    assert changed_scalar(value) != value


def test_leaves_skip_nulls_and_keep_paths() -> None:
    assert list(leaves({"a": [1, None, {"b": "x"}], "c": None})) == [(("a", 0), 1), (("a", 2, "b"), "x")]


def test_record_tampering_variants() -> None:
    raw = b"seq,total\n1,100"
    evidence = {"rawRecord": b64url(raw), "recordDigest": "sha256:" + hashlib.sha256(raw).hexdigest()}
    (left, recomputed) = tampered_records(evidence)
    assert left[1]["recordDigest"] == evidence["recordDigest"]
    flipped = b64url_decode(recomputed[1]["rawRecord"])
    assert flipped == b"seq,total\n1,101"
    assert recomputed[1]["recordDigest"] == "sha256:" + hashlib.sha256(flipped).hexdigest()
    json_variants = tampered_records({"rawRecord": {"n": 1}, "recordDigest": "sha256:00"})
    assert [v["rawRecord"] for _, v in json_variants] == [{"n": 2}, {"n": 2}]
    (digest_only,) = tampered_records({"recordDigest": "sha256:00"})
    assert digest_only[1]["recordDigest"] == "sha256:01"


def test_proof_material_and_height_variants() -> None:
    evidence = {"proofMaterial": {"root": "aa", "path": ["bb", "cc"], "index": 0}, "ledgerHeight": 0}
    labels = [label for label, _ in tampered_proof_material(evidence)]
    assert labels == [
        "proofMaterial/root changed",
        "proofMaterial/path/0 changed",
        "proofMaterial/path/1 changed",
        "proofMaterial/index changed",
    ]
    assert evidence["proofMaterial"] == {"root": "aa", "path": ["bb", "cc"], "index": 0}  # copies, not edits
    assert [e["ledgerHeight"] for _, e in tampered_heights(evidence)] == [1]
    assert [e["ledgerHeight"] for _, e in tampered_heights({"ledgerHeight": 5})] == [6, 4]


def test_with_evidence_replaces_only_the_ledger_evidence() -> None:
    credential = {"evidence": [{"type": ["Other"]}, {"type": ["LedgerEvidence"], "ledgerHeight": 1}]}
    out = with_evidence(credential, {"type": ["LedgerEvidence"], "ledgerHeight": 2})
    assert out["evidence"] == [{"type": ["Other"]}, {"type": ["LedgerEvidence"], "ledgerHeight": 2}]
    assert credential["evidence"][1]["ledgerHeight"] == 1
