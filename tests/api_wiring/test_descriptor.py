"""The registration descriptor's shape, registration ids, endpoint checks and settings (no server)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.adapters.sdk import CredentialMapping
from vcgate.canonical_schema import InputError
from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier, sign
from vcgate.gateway.api._registrations import (
    AdapterDescriptor,
    DescriptorError,
    is_loopback_host,
    registration_id,
)
from vcgate.gateway.api._wiring import WiringSettings

ROOT = Path(__file__).resolve().parents[2]
DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
MAPPING = yaml.safe_load(
    (ROOT / "examples/third_party_adapter/src/vcgate_example_csv/mappings/invoice.yaml").read_text(encoding="utf-8")
)


def valid() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/vcgate/v1"],
        "type": ["VerifiableCredential", "AdapterRegistrationCredential"],
        "issuer": DID,
        "credentialSubject": {
            "id": DID,
            "type": "AdapterRegistration",
            "adapterName": "acme-invoices",
            "adapterEndpoint": "https://adapter.acme.example/",
            "conformance": {"at": "2025-01-01T00:00:00Z"},
            "publishedMappings": [MAPPING],
        },
    }


def test_a_valid_descriptor_parses() -> None:
    d = AdapterDescriptor.from_credential(valid())
    assert (d.party, d.name, d.endpoint) == (DID, "acme-invoices", "https://adapter.acme.example")
    assert [m.id for m in d.mappings] == ["https://example.org/vcgate/mappings/csv-invoice"]
    assert d.mappings[0].digest == CredentialMapping.from_json(MAPPING).digest
    assert d.registration_id == registration_id(DID, "acme-invoices")
    assert d.registration_id != registration_id(DID, "acme-other")
    assert d.registration_id.startswith("adp-")
    assert len(d.registration_id) == 24


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(valid())
    *parents, last = path.split("/")
    node = doc
    for p in parents:
        node = node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "pointer"),
    [
        ("type", ["VerifiableCredential"], "/type"),
        ("issuer", "https://acme.example", "/issuer"),
        ("credentialSubject", [], "/credentialSubject"),
        ("credentialSubject/type", "Organization", "/credentialSubject/type"),
        ("credentialSubject/id", "did:key:someone-else", "/credentialSubject/id"),
        ("credentialSubject/adapterName", "Acme Invoices", "/credentialSubject/adapterName"),
        ("credentialSubject/adapterEndpoint", "ftp://adapter.acme.example", "/credentialSubject/adapterEndpoint"),
        ("credentialSubject/adapterEndpoint", "https://u:p@adapter.acme.example", "/credentialSubject/adapterEndpoint"),
        (
            "credentialSubject/adapterEndpoint",
            "https://adapter.acme.example/?x=1",
            "/credentialSubject/adapterEndpoint",
        ),
        ("credentialSubject/conformance", {"mappings": ["/etc/passwd"]}, "/credentialSubject/conformance/mappings"),
        ("credentialSubject/conformance", {"referencePeer": "x.mjs"}, "/credentialSubject/conformance/referencePeer"),
        ("credentialSubject/publishedMappings", [], "/credentialSubject/publishedMappings"),
        ("credentialSubject/publishedMappings", _DELETE, "/credentialSubject/publishedMappings"),
        ("credentialSubject/publishedMappings", [{"id": "x"}], "/credentialSubject/publishedMappings/0"),
    ],
)
def test_malformed_descriptors_name_the_member(path: str, value: Any, pointer: str) -> None:
    with pytest.raises(DescriptorError) as caught:
        AdapterDescriptor.from_credential(_with(path, value))
    assert (caught.value.code, caught.value.pointer) == ("DESCRIPTOR_MALFORMED", pointer)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", True),
        ("localhost", True),
        ("api.localhost", True),
        ("10.0.0.1", False),
        ("adapter.acme.example", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_settings_from_environment() -> None:
    assert WiringSettings.from_env({}) == WiringSettings()
    s = WiringSettings.from_env(
        {
            "VCGATE_API_CHECKERS": "pkg.mod:fn",
            "VCGATE_API_JOB_WORKERS": "2",
            "VCGATE_API_CONFORMANCE_TIMEOUT": "60",
            "VCGATE_API_UNSAFE_LOOPBACK_ADAPTERS": "1",
            "VCGATE_REFERENCE_PEER": "/opt/peer/vc-peer.mjs",
        }
    )
    assert (s.checker_factory, s.job_workers, s.conformance_timeout) == ("pkg.mod:fn", 2, 60.0)
    assert s.unsafe_allow_loopback_adapters is True
    assert s.reference_peer == Path("/opt/peer/vc-peer.mjs")
    with pytest.raises(InputError, match="invalid VCGATE_API_"):
        WiringSettings.from_env({"VCGATE_API_JOB_WORKERS": "many"})


def test_the_descriptor_verifies_with_strict_terms_and_an_unknown_member_does_not() -> None:
    """vcgate's context defines every descriptor term, so a signed descriptor verifies under the default policy
    (strict terms); a member the context does not define is refused."""
    key = KeyPair.generate("ed25519")
    doc = valid()
    doc["issuer"] = doc["credentialSubject"]["id"] = key.controller
    doc["validFrom"] = "2025-01-01T00:00:00Z"
    at = datetime(2025, 6, 1, tzinfo=UTC)
    verifier = Verifier(Policy.default(), DidResolver.offline())
    assert verifier.check(sign(doc, key, suite="eddsa-rdfc-2022", created=at), at=at).status == "verified"
    doc["credentialSubject"]["adapterColour"] = "blue"
    signed = sign(doc, key, suite="eddsa-rdfc-2022", created=at, allow_undefined_terms=True)
    result = verifier.check(signed, at=at)
    assert result.status == "invalid"
    assert "UNDEFINED_TERM" in [p.code for p in result.problems]
