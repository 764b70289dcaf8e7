"""The did:key verification-method memo in ``DidResolver``: the same answers as an uncached dereference, copies
that callers cannot poison, failures never memoised, and no memo for replaced or non-did:key methods."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vcgate.canonical_schema import b64url
from vcgate.gateway import DidKeyMethod, DidResolutionError, DidResolver, KeyPair, VerificationMethod
from vcgate.gateway.verification._dids import VerificationRelationshipError

KEY_TYPES = ["ed25519", "p256", "p384", "secp256k1"]
RELATIONSHIPS = [None, "assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"]


def _as_tuple(vm: VerificationMethod) -> tuple[Any, ...]:
    return (vm.id, vm.type, vm.controller, vm.public_key, dict(vm.document))


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("relationship", RELATIONSHIPS)
def test_cached_equals_uncached(key_type: str, relationship: str | None) -> None:
    key = KeyPair.generate(key_type)
    cached = DidResolver.offline()
    first = cached.verification_method(key.verification_method, relationship)
    second = cached.verification_method(key.verification_method, relationship)  # from the memo
    fresh = DidResolver.offline().verification_method(key.verification_method, relationship)
    assert _as_tuple(first) == _as_tuple(second) == _as_tuple(fresh)
    assert second.public_key == key.public


def test_mutating_a_returned_method_does_not_change_the_next_answer() -> None:
    key = KeyPair.generate("ed25519")
    resolver = DidResolver.offline()
    expected = _as_tuple(DidResolver.offline().verification_method(key.verification_method, "assertionMethod"))
    for _ in range(3):
        vm = resolver.verification_method(key.verification_method, "assertionMethod")
        assert _as_tuple(vm) == expected
        doc = vm.document
        assert isinstance(doc, dict)
        doc["publicKeyMultibase"] = "zpoisoned"
        doc["controller"] = "did:example:attacker"


def test_failures_are_not_memoised() -> None:
    key = KeyPair.generate("ed25519")
    resolver = DidResolver.offline()
    wrong_fragment = key.controller + "#nope"
    for _ in range(2):
        with pytest.raises(DidResolutionError) as exc:
            resolver.verification_method(wrong_fragment, "assertionMethod")
        assert exc.value.malformed
        with pytest.raises(VerificationRelationshipError):
            resolver.verification_method(key.verification_method, "keyAgreement")
    # a success for one relationship does not answer for another
    resolver.verification_method(key.verification_method, "assertionMethod")
    with pytest.raises(VerificationRelationshipError):
        resolver.verification_method(key.verification_method, "keyAgreement")


class _CountingKeyMethod(DidKeyMethod):
    """A did:key method that is not the built-in one (a subclass), so the resolver must not memoise it."""

    def __init__(self) -> None:
        self.calls = 0

    def resolve(self, did: str) -> dict[str, Any]:
        self.calls += 1
        return super().resolve(did)


def test_replaced_key_method_is_consulted_every_time() -> None:
    key = KeyPair.generate("ed25519")
    resolver = DidResolver.offline()
    resolver.verification_method(key.verification_method, "assertionMethod")  # memoised under the built-in
    counting = _CountingKeyMethod()
    resolver.register(counting)  # replacing a method drops the memo
    for _ in range(3):
        resolver.verification_method(key.verification_method, "assertionMethod")
    assert counting.calls == 3


def test_did_jwk_is_not_memoised_but_answers_the_same() -> None:
    key = KeyPair.generate("p256")
    jwk_did = "did:jwk:" + b64url(json.dumps(key.public.to_jwk()).encode())
    resolver = DidResolver.offline()
    a = resolver.verification_method(jwk_did + "#0", "assertionMethod")
    b = resolver.verification_method(jwk_did + "#0", "assertionMethod")
    assert _as_tuple(a) == _as_tuple(b)
    assert a.public_key == key.public
    assert not resolver._key_vm_cache  # only did:key is memoised
