"""Regression for a gap the demo hit (named after it, STYLE.md 9): the Fabric adapter's ``nativeSigner`` names the
submitting certificate as ``certificateFingerprint``, so a party binds its Fabric identity with that member; the proof
of control must tie that fingerprint to the certificate that signed the challenge (it was only checked for
``certificateSha256``, so any certificate could "prove" a binding naming someone else's fingerprint)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vcgate.adapters.fabric.testing import TestOrg
from vcgate.canonical_schema import b64url
from vcgate.gateway import Binding, ControlProof, KeyPair, Party, binding_challenge, check_binding_proof


def _binding(party: Party, identity_pem: bytes, fingerprint: str, sign: Callable[[bytes], bytes]) -> Binding:
    unsigned = Binding(
        "fabric-msp",
        {"mspId": "SummitMSP", "certificateFingerprint": fingerprint},
        datetime(2024, 1, 1, tzinfo=UTC),
        ControlProof("signed-challenge", "n1", certificate=identity_pem.decode()),
    )
    signature = b64url(sign(binding_challenge(party.did, unsigned)))
    proof = ControlProof("signed-challenge", "n1", signature, identity_pem.decode())
    return Binding(unsigned.kind, unsigned.match, unsigned.valid_from, proof)


@pytest.mark.parametrize("own", [True, False])
def test_fabric_binding_by_certificate_fingerprint_is_tied_to_the_signing_certificate(own: bool) -> None:
    org = TestOrg.create("SummitMSP")
    mine, theirs = org.issue("client", "user1"), org.issue("client", "victim")
    party = Party("summit", KeyPair.generate().controller)
    target = mine if own else theirs
    cert = x509.load_pem_x509_certificate(target.certificate_pem)
    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    check = check_binding_proof(party, _binding(party, mine.certificate_pem, fingerprint, mine.sign))
    if own:
        assert check.status == "passed"
    else:
        assert check.status == "failed"
        assert check.problem is not None
        assert check.problem.code == "BINDING_CERTIFICATE_MISMATCH"
