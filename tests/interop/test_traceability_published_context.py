"""Credentials as real partners write them: only the *published* Traceability context, no vcgate context.

digitalbazaar's libraries (the reference implementation, Node peer) sign credentials whose contexts are just
``credentials/v2`` + ``traceability/v1``: terms vcgate's own context adds (``licensee``, ``extendsCredential``,
``partyGLN`` …) expand under traceability/v1's ``@vocab`` to ``issuer-dependent#`` IRIs. They are signed, so
the default policy accepts them with an ``ISSUER_DEPENDENT_TERM`` warning per term; ``strict_vocabulary`` refuses
them; a term JSON-LD would drop stays refused. Also a VC 1.1 credential whose contexts put a proof-suite context
before traceability/v1 (order beyond the first entry is free in the canonical schemas).
"""

from __future__ import annotations

from typing import Any

import pytest

from vcgate.canonical_schema import validate
from vcgate.gateway import DidResolver, Policy, Verifier

from .conftest import NodePeer
from .test_digitalbazaar_interop import POLICY, Peer, instants, load, reissue

pytestmark = pytest.mark.node

V1 = "https://www.w3.org/2018/credentials/v1"
V2 = "https://www.w3.org/ns/credentials/v2"
TRACE = "https://w3id.org/traceability/v1"
ED2020 = "https://w3id.org/security/suites/ed25519-2020/v1"
VCGATE = "https://w3id.org/vcgate/v1"


@pytest.fixture(scope="module")
def peer(node_peer: NodePeer) -> Peer:
    """The reference library (the session's Node peer)."""
    return Peer(node_peer)


def _published_only(stem: str, did: str) -> dict[str, Any]:
    doc = reissue(load(stem), did)
    doc["@context"] = [c for c in doc["@context"] if c != VCGATE]
    # The examples' LedgerEvidence points at made-up ledgers no policy anchors (the verifier would answer `error`
    # for it); these tests are about the vocabulary, and status lists are not checked offline.
    doc.pop("evidence", None)
    doc.pop("credentialStatus", None)
    assert doc["@context"] == [V2, TRACE]
    return doc


def _verifier(**overrides: Any) -> Verifier:
    return Verifier(Policy.from_mapping({**POLICY.raw, **overrides}), DidResolver.offline())


def _warned_terms(result: Any) -> set[str]:
    codes = {w.code for w in result.warnings}
    assert codes <= {"ISSUER_DEPENDENT_TERM"}
    return {w.detail.split("'")[1] for w in result.warnings}


@pytest.mark.parametrize(
    ("stem", "expected_terms"),
    [
        ("intellectual-property-rights-license", {"licensee", "licensor", "extendsCredential", "licenseTerm"}),
        ("gs1-company-prefix-license", {"extendsCredential", "licenseValue", "partyGLN"}),
    ],
)
def test_reference_signed_with_published_context_verifies_with_warning(
    peer: Peer, stem: str, expected_terms: set[str]
) -> None:
    key = peer.generate("Ed25519")
    doc = _published_only(stem, key["controller"])
    created, at = instants(doc)
    signed = peer.sign(doc, key, "eddsa-rdfc-2022", created)
    assert peer.verify(signed, at) == {"verified": True, "errors": []}

    result = _verifier().check(signed, at=at)
    assert result.status == "verified", [p.code for p in result.problems]
    warned = _warned_terms(result)
    assert expected_terms <= warned
    assert result.to_json()["warnings"], "the warnings are part of the result object"

    strict = _verifier(strict_vocabulary=True).check(signed, at=at)
    assert strict.status == "invalid"
    assert {p.code for p in strict.problems} == {"UNDEFINED_TERM"}
    assert {p.detail.split("'")[1] for p in strict.problems} == warned


def test_dropped_term_stays_refused(peer: Peer) -> None:
    # A member JSON-LD drops (here a keyword-like key) is not signed at all: anyone can add one after signing
    # without breaking the proof. vcgate refuses it whatever strict_vocabulary says; the reference library refuses
    # it too (safe mode).
    key = peer.generate("Ed25519")
    doc = _published_only("intellectual-property-rights", key["controller"])
    created, at = instants(doc)
    signed = peer.sign(doc, key, "eddsa-rdfc-2022", created)
    assert _verifier().check(signed, at=at).status == "verified"
    signed["credentialSubject"]["@internalNote"] = "added after signing"
    reference = peer.verify(signed, at)
    assert reference["verified"] is False
    assert any("Safe mode" in e for e in reference["errors"]), reference
    result = _verifier().check(signed, at=at)
    assert [(p.code, p.detail.split("'")[1]) for p in result.problems] == [("UNDEFINED_TERM", "@internalNote")]
    # the signature itself still verifies: the dropped member was never part of what is signed
    assert any(c.name == "signature" and c.status == "passed" for c in result.checks)
    strict = _verifier(strict_vocabulary=True).check(signed, at=at)
    assert "@internalNote" in {p.detail.split("'")[1] for p in strict.problems if p.code == "UNDEFINED_TERM"}


def test_vc11_with_suite_context_before_traceability(peer: Peer) -> None:
    key = peer.generate("Ed25519")
    doc = reissue(load("entry-number"), key["controller"])
    doc["@context"] = [V1, ED2020, TRACE]
    doc.pop("evidence", None)
    doc["issuanceDate"] = doc.pop("validFrom")
    doc.pop("validUntil", None)
    doc.pop("credentialStatus", None)
    assert validate(doc) == []
    created, at = instants(doc)
    signed = peer.sign(doc, key, "eddsa-rdfc-2022", created)
    assert signed["@context"][:3] == [V1, ED2020, TRACE]
    assert peer.verify(signed, at) == {"verified": True, "errors": []}
    result = _verifier().check(signed, at=at)
    assert result.status == "verified", [(p.code, p.pointer, p.detail) for p in result.problems]
