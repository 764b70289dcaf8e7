"""The memoised context processing (ADR 0004) gives byte-identical N-Quads to plain PyLD."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from vcgate.canonical_schema import document_loader
from vcgate.gateway import rdfc

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(
    [
        *ROOT.joinpath("examples", "credentials").glob("*.json"),
        ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json",
    ]
    + [p for p in ROOT.joinpath("tests", "fixtures", "w3c-vectors").rglob("signed*.json")]
)


def plain_pyld(doc: dict[str, Any]) -> str:
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader()}
    return str(jsonld.normalize(doc, options))


def test_there_are_documents_to_compare() -> None:
    assert len(DOCS) >= 10


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_memoised_canonicalization_equals_plain_pyld(path: Path) -> None:
    doc = json.loads(path.read_text())
    doc.pop("proof", None)
    expected = plain_pyld(doc)
    assert rdfc(doc).nquads == expected
    assert rdfc(doc).nquads == expected  # and again, from a warm memo


def test_memo_does_not_confuse_documents_of_the_same_shape() -> None:
    doc = json.loads((ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json").read_text())
    first = rdfc(doc).nquads
    doc["credentialSubject"]["invoiceNumber"] = "INV-2"
    second = rdfc(doc).nquads
    assert first != second
    assert second == plain_pyld(doc)
