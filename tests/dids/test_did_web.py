"""did:web against a real HTTPS server on 127.0.0.1 with a throwaway CA (DID Web method §3.2 "Read")."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from vcgate.gateway import (
    DidResolutionError,
    DidResolver,
    DidWebMethod,
    KeyPair,
    Policy,
    Verifier,
    sign,
    sign_vc_jwt,
)

from .conftest import LocalServer, ThrowawayCA

AT = datetime(2025, 6, 1, tzinfo=UTC)
CREATED = datetime(2025, 1, 1, tzinfo=UTC)

pytestmark = pytest.mark.server


def did_document(did: str, *keys: KeyPair) -> dict[str, Any]:
    vms = [
        {
            "id": k.verification_method,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": k.public.to_multibase(),
        }
        for k in keys
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": vms,
        "assertionMethod": [vm["id"] for vm in vms],
    }


def publish(server: LocalServer, path: str, doc: Any, status: int = 200) -> None:
    server.routes[path] = (status, json.dumps(doc).encode())


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- resolution over HTTPS ------------------------------------------------------------------------------


def test_resolves_with_port_over_https(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    did = f"did:web:{https_server.did_host}"
    key = KeyPair.generate("ed25519", controller=did)
    publish(https_server, "/.well-known/did.json", did_document(did, key))
    method = DidWebMethod(test_ca.client())
    vm = DidResolver({"web": method}).verification_method(key.verification_method, "assertionMethod")
    assert vm.public_key == key.public
    assert vm.controller == did
    assert https_server.hits["/.well-known/did.json"] == 1


def test_resolves_paths(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    did = f"did:web:{https_server.did_host}:org:acme"
    publish(https_server, "/org/acme/did.json", did_document(did, KeyPair.generate("p256", controller=did)))
    doc = DidWebMethod(test_ca.client()).resolve(did)
    assert doc["id"] == did
    assert https_server.hits == {"/org/acme/did.json": 1}


def test_ttl_cache_counts_requests(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    did = f"did:web:{https_server.did_host}"
    publish(https_server, "/.well-known/did.json", did_document(did, KeyPair.generate(controller=did)))
    clock = FakeClock()
    method = DidWebMethod(test_ca.client(), ttl=60.0, clock=clock)
    method.resolve(did)
    clock.now += 59.0
    method.resolve(did)
    assert https_server.hits["/.well-known/did.json"] == 1
    clock.now += 2.0
    method.resolve(did)
    assert https_server.hits["/.well-known/did.json"] == 2


def test_document_id_mismatch_is_refused(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    did = f"did:web:{https_server.did_host}"
    other = "did:web:attacker.example"
    publish(https_server, "/.well-known/did.json", did_document(other, KeyPair.generate(controller=other)))
    with pytest.raises(DidResolutionError) as info:
        DidWebMethod(test_ca.client()).resolve(did)
    assert "id does not equal the DID" in info.value.reason
    assert info.value.transient is False


def test_not_found_is_not_transient(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    with pytest.raises(DidResolutionError) as info:
        DidWebMethod(test_ca.client()).resolve(f"did:web:{https_server.did_host}:nobody")
    assert "404" in info.value.reason
    assert info.value.transient is False


def test_server_error_is_transient(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    publish(https_server, "/.well-known/did.json", {"error": "boom"}, status=500)
    with pytest.raises(DidResolutionError) as info:
        DidWebMethod(test_ca.client()).resolve(f"did:web:{https_server.did_host}")
    assert "HTTP 500" in info.value.reason
    assert info.value.transient is True


def test_connection_refused_is_transient(test_ca: ThrowawayCA) -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DidResolutionError) as info:
        DidWebMethod(test_ca.client()).resolve(f"did:web:localhost%3A{port}")
    assert info.value.transient is True


def test_oversized_document_is_refused(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    did = f"did:web:{https_server.did_host}"
    doc = did_document(did, KeyPair.generate(controller=did))
    doc["padding"] = "x" * (300 * 1024)
    publish(https_server, "/.well-known/did.json", doc)
    with pytest.raises(DidResolutionError) as info:
        DidWebMethod(test_ca.client()).resolve(did)
    assert "larger than" in info.value.reason
    assert info.value.transient is False


def test_untrusted_certificate_is_refused(https_server: LocalServer) -> None:
    did = f"did:web:{https_server.did_host}"
    publish(https_server, "/.well-known/did.json", did_document(did, KeyPair.generate(controller=did)))
    # The default trust store does not know the throwaway CA.
    with pytest.raises(DidResolutionError) as info:
        DidWebMethod(httpx.Client(timeout=5.0)).resolve(did)
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.reason
    assert https_server.hits["/.well-known/did.json"] == 0


def test_plain_http_refused_unless_unsafe_switch(http_server: LocalServer, test_ca: ThrowawayCA) -> None:
    did = f"did:web:{http_server.did_host}"
    publish(http_server, "/.well-known/did.json", did_document(did, KeyPair.generate(controller=did)))
    # Without the switch the resolver speaks TLS only, which a plain-http server cannot answer.
    with pytest.raises(DidResolutionError):
        DidWebMethod(test_ca.client()).resolve(did)
    assert http_server.hits["/.well-known/did.json"] == 0
    doc = DidWebMethod(httpx.Client(timeout=5.0), unsafe_allow_http_localhost=True).resolve(did)
    assert doc["id"] == did
    assert http_server.hits["/.well-known/did.json"] == 1


# --- end to end through the Verifier --------------------------------------------------------------------


def _credential(issuer: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:8d1f4a4e-5a5b-4b5c-9a8d-0d1c2b3a4f5e",
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "Acme Imports"},
    }


def test_did_web_issuer_verifies_end_to_end(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    did = f"did:web:{https_server.did_host}:parties:acme"
    ed, p256 = KeyPair.generate("ed25519", controller=did), KeyPair.generate("p256", controller=did)
    publish(https_server, "/parties/acme/did.json", did_document(did, ed, p256))
    resolver = DidResolver.default(web=DidWebMethod(test_ca.client()), load_plugins=False)
    verifier = Verifier(Policy.default(), resolver)

    for signed in (
        sign(_credential(did), ed, suite="eddsa-rdfc-2022", created=CREATED),
        sign(_credential(did), p256, suite="ecdsa-jcs-2019", created=CREATED),
        sign_vc_jwt(_credential(did), p256),
    ):
        result = verifier.check(signed if isinstance(signed, str) else json.dumps(signed), at=AT)
        assert result.status == "verified", result.to_json()
        assert result.issuer == did
    # one document fetch served all three credentials (the method's TTL cache)
    assert https_server.hits["/parties/acme/did.json"] == 1


def test_did_web_key_not_in_document_fails(https_server: LocalServer, test_ca: ThrowawayCA) -> None:
    did = f"did:web:{https_server.did_host}"
    published, rogue = KeyPair.generate(controller=did), KeyPair.generate(controller=did)
    publish(https_server, "/.well-known/did.json", did_document(did, published))
    resolver = DidResolver.default(web=DidWebMethod(test_ca.client()), load_plugins=False)
    result = Verifier(Policy.default(), resolver).check(sign(_credential(did), rogue, created=CREATED), at=AT)
    assert result.status == "invalid"
    assert [p.code for p in result.problems] == ["VERIFICATION_METHOD_INVALID"]


def test_did_web_unreachable_issuer_is_error_not_invalid(test_ca: ThrowawayCA) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    did = f"did:web:localhost%3A{port}"
    key = KeyPair.generate(controller=did)
    resolver = DidResolver.default(web=DidWebMethod(test_ca.client()), load_plugins=False)
    result = Verifier(Policy.default(), resolver).check(sign(_credential(did), key, created=CREATED), at=AT)
    assert result.status == "error"
    assert [p.code for p in result.problems] == ["DID_UNRESOLVABLE"]
