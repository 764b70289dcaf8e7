"""The seven W3C Data Integrity known-answer sets reproduce byte for byte (VECTORS.md in tests/fixtures)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import base58
import pytest

from vcgate.gateway import SUITES, DidResolver, KeyPair, hash_data, sign, verify_proof

VECTORS = Path(__file__).resolve().parent.parent / "fixtures" / "w3c-vectors"
MANIFEST = json.loads((VECTORS / "MANIFEST.json").read_text())
SETS = {s["name"]: s for s in MANIFEST["sets"]}
AT = datetime(2025, 1, 1, tzinfo=UTC)


def _text(s: dict[str, Any], stem: str) -> str:
    return (VECTORS / s["dir"] / f"{stem}{s['suffix']}.txt").read_text()


def _json(s: dict[str, Any], stem: str) -> dict[str, Any]:
    return json.loads((VECTORS / s["dir"] / f"{stem}{s['suffix']}.json").read_text())


def _key(s: dict[str, Any]) -> KeyPair:
    return KeyPair.from_multikey(json.loads((VECTORS / s["key"]).read_text()))


@pytest.mark.parametrize("name", sorted(SETS))
def test_intermediate_values_match(name: str) -> None:
    s = SETS[name]
    signed = _json(s, "signed")
    proof = signed["proof"]
    key = _key(s)
    hd = hash_data(signed, _json(s, "proofConfig"), SUITES[s["suite"]], key.key_type)
    assert hd.canonical_document.decode() == _text(s, "canonDoc")
    assert hd.canonical_proof_config.decode() == _text(s, "proofCanon")
    assert hd.document_hash.hex() == _text(s, "docHash").strip()
    assert hd.proof_hash.hex() == _text(s, "proofHash").strip()
    assert hd.combined.hex() == _text(s, "combinedHash").strip()
    assert proof["proofValue"] == _text(s, "sigBTC58").strip()
    assert base58.b58decode(proof["proofValue"][1:]).hex() == _text(s, "sigHex").strip()


@pytest.mark.parametrize("name", sorted(SETS))
def test_published_proof_verifies(name: str) -> None:
    result = verify_proof(_json(SETS[name], "signed"), DidResolver.offline(), at=AT)
    assert [c.status for c in result.checks] == ["passed"] * len(result.checks)
    assert result.checks[-1].name == "signature"
    assert result.suite == SETS[name]["suite"]


@pytest.mark.parametrize("name", sorted(n for n, s in SETS.items() if s["deterministic"] and s["unsigned"]))
def test_ed25519_resigning_is_identical(name: str) -> None:
    s = SETS[name]
    unsigned = json.loads((VECTORS / s["unsigned"]).read_text())
    expected = _json(s, "signed")
    created = datetime.fromisoformat(expected["proof"]["created"].replace("Z", "+00:00"))
    assert sign(unsigned, _key(s), suite=s["suite"], created=created) == expected


def test_ed25519_signature_2020_resigning_is_identical() -> None:
    s = SETS["Ed25519Signature2020"]
    expected = _json(s, "signed")
    unsigned = {k: v for k, v in expected.items() if k != "proof"}
    created = datetime.fromisoformat(expected["proof"]["created"].replace("Z", "+00:00"))
    assert sign(unsigned, _key(s), suite="Ed25519Signature2020", created=created) == expected


@pytest.mark.parametrize("name", sorted(SETS))
def test_one_changed_character_fails(name: str) -> None:
    signed = _json(SETS[name], "signed")
    signed["credentialSubject"]["alumniOf"] = signed["credentialSubject"]["alumniOf"].replace("S", "T", 1)
    result = verify_proof(signed, DidResolver.offline(), at=AT)
    assert result.checks[-1].name == "signature"
    assert result.checks[-1].status == "failed"
    assert result.checks[-1].problem is not None
    assert result.checks[-1].problem.code == "SIGNATURE_INVALID"


@pytest.mark.parametrize("name", sorted(n for n, s in SETS.items() if not s["deterministic"]))
def test_ecdsa_resign_then_verify(name: str) -> None:
    s = SETS[name]
    unsigned = json.loads((VECTORS / s["unsigned"]).read_text())
    signed = sign(unsigned, _key(s), suite=s["suite"], created=datetime(2023, 2, 24, tzinfo=UTC))
    result = verify_proof(signed, DidResolver.offline(), at=AT)
    assert result.checks[-1].status == "passed"
