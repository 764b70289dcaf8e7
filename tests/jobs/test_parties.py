"""Parties: proof of control by signed challenge (Ed25519, Ethereum personal_sign, Fabric certificate) or by the
DID document; bindings keep their history so a key rotation does not break older credentials."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import coincurve
import pytest
from Crypto.Hash import keccak
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vcgate.canonical_schema import b64url
from vcgate.gateway import DidResolver, KeyPair
from vcgate.gateway._jobs import run_entries
from vcgate.gateway._parties import (
    Binding,
    ControlProof,
    Party,
    PartyError,
    PartyRegistry,
    binding_challenge,
    check_binding_proof,
    sign_binding_challenge,
)
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, World, plain_checkers

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def _party(key: KeyPair, *bindings: Binding) -> Party:
    return Party("p1", key.controller, ("P One",), (), tuple(bindings))


def _key_binding(key: KeyPair, since: datetime = T0, until: datetime | None = None) -> Binding:
    return Binding(
        "plain-ledger-key",
        {"publicKeyMultibase": key.public.to_multibase()},
        since,
        ControlProof("signed-challenge", nonce="n1"),
        until,
    )


def test_signed_challenge_with_the_bound_key() -> None:
    owner = KeyPair.generate()
    ledger_key = KeyPair.generate()
    b = sign_binding_challenge(owner.controller, _key_binding(ledger_key), ledger_key.sign)
    assert check_binding_proof(_party(owner, b), b).status == "passed"
    # Signed by another key, or for another party: refused.
    forged = sign_binding_challenge(owner.controller, _key_binding(ledger_key), KeyPair.generate().sign)
    assert check_binding_proof(_party(owner, forged), forged).problem.code == "BINDING_SIGNATURE_INVALID"  # type: ignore[union-attr]
    other = KeyPair.generate()
    assert check_binding_proof(_party(other, b), b).problem.code == "BINDING_SIGNATURE_INVALID"  # type: ignore[union-attr]
    unsigned = _key_binding(ledger_key)
    assert check_binding_proof(_party(owner, unsigned), unsigned).problem.code == "BINDING_SIGNATURE_MISSING"  # type: ignore[union-attr]


def _eth_address(public: coincurve.PublicKey) -> str:
    return "0x" + keccak.new(digest_bits=256, data=public.format(compressed=False)[1:]).digest()[-20:].hex()


def _personal_sign(secret: coincurve.PrivateKey, message: bytes) -> bytes:
    prefixed = b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message
    digest = keccak.new(digest_bits=256, data=prefixed).digest()
    sig = secret.sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes([sig[64] + 27])


def test_ethereum_account_proves_control_with_personal_sign() -> None:
    owner = KeyPair.generate()
    secret = coincurve.PrivateKey()
    address = _eth_address(secret.public_key)
    checksum_upper = "0x" + address[2:].upper()  # hex compares case-insensitively (EIP-55 spellings)
    b = Binding("ethereum-address", {"address": checksum_upper}, T0, ControlProof("signed-challenge", nonce="x"))
    signed = Binding(
        b.kind,
        b.match,
        b.valid_from,
        ControlProof("signed-challenge", "x", b64url(_personal_sign(secret, binding_challenge(owner.controller, b)))),
    )
    assert check_binding_proof(_party(owner, signed), signed).status == "passed"
    wrong = Binding(
        b.kind,
        b.match,
        b.valid_from,
        ControlProof(
            "signed-challenge",
            "x",
            b64url(_personal_sign(coincurve.PrivateKey(), binding_challenge(owner.controller, b))),
        ),
    )
    assert check_binding_proof(_party(owner, wrong), wrong).problem.code == "BINDING_SIGNATURE_INVALID"  # type: ignore[union-attr]


def _certificate() -> tuple[ec.EllipticCurvePrivateKey, str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "user1@acme.example.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return key, pem, fingerprint


def test_fabric_identity_proves_control_with_its_certificate() -> None:
    owner = KeyPair.generate()
    key, pem, fingerprint = _certificate()
    base = Binding(
        "fabric-msp",
        {"mspId": "AcmeMSP", "certificateSha256": fingerprint},
        T0,
        ControlProof("signed-challenge", "f", None, pem),
    )
    sig = key.sign(binding_challenge(owner.controller, base), ec.ECDSA(hashes.SHA256()))
    good = Binding(base.kind, base.match, T0, ControlProof("signed-challenge", "f", b64url(sig), pem))
    assert check_binding_proof(_party(owner, good), good).status == "passed"
    _, other_pem, _ = _certificate()
    swapped = Binding(base.kind, base.match, T0, ControlProof("signed-challenge", "f", b64url(sig), other_pem))
    assert check_binding_proof(_party(owner, swapped), swapped).problem.code == "BINDING_CERTIFICATE_MISMATCH"  # type: ignore[union-attr]


def test_key_listed_in_the_did_document_proves_control() -> None:
    owner = KeyPair.generate()
    listed = Binding(
        "plain-ledger-key", {"publicKeyMultibase": owner.public.to_multibase()}, T0, ControlProof("did-document")
    )
    assert check_binding_proof(_party(owner, listed), listed, DidResolver.offline()).status == "passed"
    other = KeyPair.generate()
    unlisted = Binding(
        "plain-ledger-key", {"publicKeyMultibase": other.public.to_multibase()}, T0, ControlProof("did-document")
    )
    result = check_binding_proof(_party(owner, unlisted), unlisted, DidResolver.offline())
    assert result.problem.code == "BINDING_NOT_IN_DID_DOCUMENT"  # type: ignore[union-attr]


def test_bindings_are_looked_up_as_of_the_ledger_time() -> None:
    owner = KeyPair.generate()
    old, new = KeyPair.generate(), KeyPair.generate()
    rotation = datetime(2024, 6, 1, tzinfo=UTC)
    party = _party(owner, _key_binding(old, T0, rotation), _key_binding(new, rotation))
    registry = PartyRegistry.of([party])
    signer_old: dict[str, Any] = {"kind": "plain-ledger-key", "publicKeyMultibase": old.public.to_multibase()}
    signer_new: dict[str, Any] = {"kind": "plain-ledger-key", "publicKeyMultibase": new.public.to_multibase()}
    assert registry.party_for_signer(signer_old, rotation - timedelta(seconds=1)) is not None
    assert registry.party_for_signer(signer_old, rotation) is None
    assert registry.party_for_signer(signer_new, rotation) is not None
    # A `did` member in the native signer never binds on its own.
    assert registry.party_for_signer({"kind": "plain-ledger-key", "did": owner.controller}, rotation) is None


def test_store_keeps_binding_history(world: World, store: Store) -> None:
    acme = world.actors["acme"].party()
    assert len(acme.bindings) == 1
    with pytest.raises(PartyError) as exc:
        store.put_party(Party(acme.id, acme.did, acme.names, acme.identifiers, ()))
    assert exc.value.code == "PARTY_BINDING_HISTORY"
    assert store.parties().get("acme") == acme


def test_key_rotation_keeps_older_credentials_attributed(
    world: World, rows: dict[str, dict[str, Any]], store: Store
) -> None:
    acme = world.actors["acme"]
    party = acme.party()
    (old,) = party.bindings
    rotation = datetime(2025, 1, 1, tzinfo=UTC)
    closed = Binding(old.kind, old.match, old.valid_from, old.proof, rotation)
    new_key = KeyPair.generate()
    fresh = sign_binding_challenge(party.did, _key_binding(new_key, rotation), new_key.sign)
    assert store.put_party(Party(party.id, party.did, party.names, party.identifiers, (closed, fresh)))
    policy = world.policy()
    (verdict,) = run_entries([rows["authorized"]], store, policy, checked_at=CHECKED_AT, checkers=plain_checkers())
    assert verdict.verdict == "authorized"


def test_a_binding_closed_before_the_record_does_not_attribute_it(
    world: World, rows: dict[str, dict[str, Any]], store: Store
) -> None:
    party = world.actors["acme"].party()
    (old,) = party.bindings
    closed = Binding(old.kind, old.match, old.valid_from, old.proof, datetime(2023, 6, 1, tzinfo=UTC))
    store.put_party(Party(party.id, party.did, party.names, party.identifiers, (closed,)))
    (verdict,) = run_entries(
        [rows["authorized"]], store, world.policy(), checked_at=CHECKED_AT, checkers=plain_checkers()
    )
    line = verdict.lines[0]
    assert verdict.verdict == "not_authorized"
    # The licence (recorded 2023-12-20 by a key no longer bound to Acme) has no effective issuer.
    assert [r.code for r in line.reasons] == ["ISSUER_NOT_BOUND"]
    assert line.reasons[0].step == "licence"
