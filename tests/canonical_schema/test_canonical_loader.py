"""The offline document loader refuses unpinned contexts, and vcgate's edited context stays consistent."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from vcgate.canonical_schema import (
    CANONICAL_CONTEXT,
    VCGATE_CONTEXT_URL,
    ContextNotAllowedError,
    document_loader,
    pinned_contexts,
)

ROOT = Path(__file__).resolve().parents[2]


def test_loader_refuses_an_unpinned_url() -> None:
    loader = document_loader()
    with pytest.raises(ContextNotAllowedError) as caught:
        loader("https://ref.gs1.org/gs1/vc/license-context/")
    assert caught.value.url == "https://ref.gs1.org/gs1/vc/license-context/"


def test_expansion_with_an_unpinned_context_fails_with_the_loader_error() -> None:
    doc = {"@context": [*CANONICAL_CONTEXT, "https://evil.example/context"], "type": ["VerifiableCredential"]}
    with pytest.raises(jsonld.JsonLdError) as caught:
        jsonld.expand(doc, {"documentLoader": document_loader()})
    causes: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        causes.append(error)
        error = error.__cause__ or error.__context__ or getattr(error, "cause", None)
    assert any(isinstance(c, ContextNotAllowedError) for c in causes)


def test_loader_serves_every_canonical_context() -> None:
    loader = document_loader()
    for url in CANONICAL_CONTEXT:
        assert loader(url)["documentUrl"] == url


def test_vcgate_context_hash_is_pinned() -> None:
    pinned = pinned_contexts()[VCGATE_CONTEXT_URL]
    raw = (ROOT / "canonical_schema" / "contexts" / pinned.file).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == pinned.sha256


def _expand(doc: dict[str, Any]) -> Any:
    return jsonld.expand(doc, {"documentLoader": document_loader()})


def test_borrowed_terms_do_not_clash_with_traceability_type_scoped_terms() -> None:
    # vcgate's context is @protected, but the steel terms it borrows are not, so traceability types that
    # define
    # the same names (TradeLineItem.purchaseOrderNumber, Phytosanitary.certificateNumber) keep their own
    # meaning.
    doc = {
        "@context": list(CANONICAL_CONTEXT),
        "type": ["VerifiableCredential"],
        "credentialSubject": {
            "type": ["TradeLineItem"],
            "purchaseOrderNumber": "PO-1",
            "certificate": {"type": ["Phytosanitary"], "certificateNumber": "PH-9"},
        },
    }
    text = json.dumps(_expand(doc))
    assert "https://schema.org/orderNumber" in text
    assert "https://schema.org/identifier" in text
    assert "https://w3id.org/vcgate#certificateNumber" not in text


def test_protected_vcgate_terms_cannot_be_redefined() -> None:
    doc = {
        "@context": [*CANONICAL_CONTEXT, {"licensee": "https://evil.example/licensee"}],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"licensee": "did:example:m"},
    }
    with pytest.raises(jsonld.JsonLdError) as caught:
        _expand(doc)
    assert "protected" in str(caught.value).lower()
