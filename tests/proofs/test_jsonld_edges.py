"""JSON-LD edge cases the W3C suites send to the issuer: `"@vocab": null`, `@direction`, unmapped type values.

Inputs are vcgate's own (a customs vocabulary), reproducing what the suites exercise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vcgate.gateway.verification._canonical import CanonicalizationError, rdfc, undefined_terms
from vcgate.gateway.verification._keys import KeyPair
from vcgate.gateway.verification._proofs import ProofError, sign

V2 = "https://www.w3.org/ns/credentials/v2"
AT = datetime(2026, 3, 1, tzinfo=UTC)


def _vc(context: list[Any], types: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "@context": context,
        "type": types,
        "issuer": "did:web:customs.vcgate.test",
        "credentialSubject": {"id": "did:web:importer.vcgate.test"},
        **extra,
    }


def test_vocab_reset_to_null_is_processed_not_crashed() -> None:
    # `"@vocab": null` on a context that has no vocabulary used to raise KeyError('@vocab') inside PyLD (a 500).
    doc = _vc([V2, {"@vocab": None}], ["VerifiableCredential", "PortClearance"])
    assert undefined_terms(doc) == ("PortClearance",)
    assert rdfc(doc).undefined_terms == ("PortClearance",)
    with pytest.raises(ProofError, match="undefined terms PortClearance"):
        sign(doc, KeyPair.generate(), created=AT)


def test_vocab_reset_after_a_vocabulary_still_drops_it() -> None:
    doc = _vc([V2, {"@vocab": "https://vocab.vcgate.test#"}, {"@vocab": None}], ["VerifiableCredential", "Tariff"])
    assert undefined_terms(doc) == ("Tariff",)
    defined = _vc([V2, {"@vocab": "https://vocab.vcgate.test#"}], ["VerifiableCredential", "Tariff"])
    assert undefined_terms(defined) == ()


def test_undefined_type_value_is_an_undefined_term() -> None:
    doc = _vc([V2], ["VerifiableCredential", "ManifestSummary"])
    assert undefined_terms(doc) == ("ManifestSummary",)
    assert rdfc(doc).undefined_terms == ("ManifestSummary",)
    mapped = _vc([V2, {"ManifestSummary": "https://vocab.vcgate.test#ManifestSummary"}], doc["type"])
    assert undefined_terms(mapped) == ()


@pytest.mark.parametrize("direction", ["rtl", "ltr"])
def test_language_and_direction_are_signed_as_i18n_datatype(direction: str) -> None:
    name = {"@value": "شحنة", "@language": "ar", "@direction": direction}
    doc = _vc([V2], ["VerifiableCredential"], name=name, description=name)
    assert undefined_terms(doc) == ()
    nquads = rdfc(doc).nquads
    # JSON-LD 1.1 rdfDirection "i18n-datatype", as digitalbazaar's cryptosuites canonize
    assert f'"شحنة"^^<https://www.w3.org/ns/i18n#ar_{direction}>' in nquads
    # the direction is signed: flipping it changes the canonical form
    other = {**name, "@direction": "ltr" if direction == "rtl" else "rtl"}
    assert rdfc({**doc, "name": other}).nquads != nquads


def test_invalid_direction_is_refused() -> None:
    doc = _vc([V2], ["VerifiableCredential"], name={"@value": "x", "@language": "en", "@direction": "up"})
    with pytest.raises(CanonicalizationError) as info:
        rdfc(doc)
    assert info.value.code == "JSONLD_INVALID"
    with pytest.raises(CanonicalizationError):
        undefined_terms(doc)
