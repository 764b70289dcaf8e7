"""did:key (four key types) and did:jwk: documents derived locally, keys round-trip exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vcgate.canonical_schema import b64url
from vcgate.gateway import (
    DidJwkMethod,
    DidKeyMethod,
    DidResolutionError,
    DidResolver,
    KeyPair,
    Policy,
    Verifier,
    sign,
    sign_vc_jwt,
    verify_signature,
)

KEY_TYPES = [("ed25519", "z6Mk"), ("p256", "zDn"), ("p384", "z82"), ("secp256k1", "zQ3s")]
AT = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("key_type", "prefix"), KEY_TYPES)
def test_did_key_round_trip(key_type: str, prefix: str) -> None:
    key = KeyPair.generate(key_type)
    assert key.controller.startswith("did:key:" + prefix)
    assert key.verification_method == f"{key.controller}#{key.controller.removeprefix('did:key:')}"
    resolver = DidResolver.offline()
    doc = resolver.resolve(key.controller)
    assert doc["id"] == key.controller
    assert doc["assertionMethod"] == [key.verification_method]
    vm = resolver.verification_method(key.verification_method, "assertionMethod")
    assert vm.public_key == key.public
    assert vm.controller == key.controller
    assert vm.type == "Multikey"
    # the resolved key checks a signature the pair made, and not one over other data
    sig = key.sign(b"payload")
    assert verify_signature(vm.public_key, b"payload", sig)
    assert not verify_signature(vm.public_key, b"payloaX", sig)


@pytest.mark.parametrize(
    ("key_type", "suite"),
    [("ed25519", "eddsa-jcs-2022"), ("p256", "ecdsa-jcs-2019"), ("p384", "ecdsa-jcs-2019")],
)
def test_did_key_issuer_verifies(key_type: str, suite: str) -> None:
    key = KeyPair.generate(key_type)
    cred = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": key.controller,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }
    signed = sign(cred, key, suite=suite, created=datetime(2025, 1, 1, tzinfo=UTC))
    assert Verifier(Policy.default(), DidResolver.offline()).check(signed, at=AT).status == "verified"


@pytest.mark.parametrize(
    "did",
    [
        "did:key:6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # not multibase 'z'
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ",  # truncated key
        "did:key:z0OIl",  # not base58
    ],
)
def test_malformed_did_key_is_refused(did: str) -> None:
    with pytest.raises(DidResolutionError) as info:
        DidKeyMethod().resolve(did)
    assert info.value.transient is False


@pytest.mark.parametrize("key_type", ["ed25519", "p256", "p384", "secp256k1"])
def test_did_jwk_round_trip(key_type: str) -> None:
    public = KeyPair.generate(key_type).public
    did = "did:jwk:" + b64url(json.dumps(public.to_jwk()).encode())
    resolver = DidResolver.offline()
    vm = resolver.verification_method(did + "#0", "assertionMethod")
    assert vm.public_key == public
    assert vm.type == "JsonWebKey"
    assert resolver.resolve(did)["verificationMethod"][0]["publicKeyJwk"] == public.to_jwk()


def test_did_jwk_issuer_signs_vc_jwt() -> None:
    pair = KeyPair.generate("p256")
    did = "did:jwk:" + b64url(json.dumps(pair.public.to_jwk()).encode())
    key = KeyPair.from_private(pair.private, controller=did, vm_id=did + "#0")
    cred = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }
    result = Verifier(Policy.default(), DidResolver.offline()).check(sign_vc_jwt(cred, key), at=AT)
    assert result.status == "verified", result.to_json()
    assert result.format == "jwt"


@pytest.mark.parametrize(
    ("jwk", "why"),
    [
        ({"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\x01" * 32), "d": b64url(b"\x02" * 32)}, "private"),
        ({"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\x01" * 31)}, "short key"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "unsupported kty"),
    ],
)
def test_bad_did_jwk_is_refused(jwk: dict[str, str], why: str) -> None:
    did = "did:jwk:" + b64url(json.dumps(jwk).encode())
    with pytest.raises(DidResolutionError) as info:
        DidJwkMethod().resolve(did)
    assert "invalid did:jwk" in info.value.reason, why


def test_did_jwk_not_base64url_is_refused() -> None:
    with pytest.raises(DidResolutionError):
        DidJwkMethod().resolve("did:jwk:not+base64/url")
