"""VC 2.0 rules the W3C data-model suite exercises on the issuer: typed objects, non-empty subjects and
relatedResource (inputs written for vcgate; the suite's own fixtures are not copied)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from vcgate.canonical_schema import validate

V2 = "https://www.w3.org/ns/credentials/v2"


def _vc(**extra: Any) -> dict[str, Any]:
    vc: dict[str, Any] = {
        "@context": [V2, {"ShipmentAudit": "https://vocab.vcgate.test#ShipmentAudit"}],
        "type": ["VerifiableCredential"],
        "issuer": "did:web:customs.vcgate.test",
        "credentialSubject": {"id": "did:web:importer.vcgate.test"},
    }
    vc.update(extra)
    return vc


def _codes(vc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.code, p.pointer) for p in validate(vc)]


@pytest.mark.parametrize("name", ["credentialStatus", "termsOfUse", "evidence", "refreshService"])
def test_typed_member_without_type_is_refused(name: str) -> None:
    assert _codes(_vc(**{name: {"id": "https://registry.vcgate.test/items/7"}})) == [
        ("TYPED_OBJECT_INVALID", f"/{name}")
    ]
    # the second object of an array is named by its index
    typed = {"type": "ShipmentAudit", "id": "https://registry.vcgate.test/items/7"}
    assert _codes(_vc(**{name: [typed, {"id": "https://registry.vcgate.test/items/8"}]})) == [
        ("TYPED_OBJECT_INVALID", f"/{name}/1")
    ]
    assert _codes(_vc(**{name: typed})) == []


@pytest.mark.parametrize(
    "schema",
    [
        {"id": "https://schemas.vcgate.test/audit.json"},  # no type
        {"type": "JsonSchema"},  # no id
        {"type": "JsonSchema", "id": "audit schema v1"},  # id not a URL
        {"type": 7, "id": "https://schemas.vcgate.test/audit.json"},  # type not a string
    ],
)
def test_credential_schema_needs_type_and_url_id(schema: dict[str, Any]) -> None:
    assert _codes(_vc(credentialSchema=schema)) == [("TYPED_OBJECT_INVALID", "/credentialSchema")]


def test_status_id_must_be_a_url() -> None:
    bad = {"type": "ShipmentAudit", "id": "status list / 12"}
    assert _codes(_vc(credentialStatus=bad)) == [("TYPED_OBJECT_INVALID", "/credentialStatus")]
    two_ids = {"type": "ShipmentAudit", "id": ["https://a.vcgate.test/1", "https://a.vcgate.test/2"]}
    assert _codes(_vc(credentialStatus=two_ids)) == [("TYPED_OBJECT_INVALID", "/credentialStatus")]
    assert _codes(_vc(credentialStatus={"type": "ShipmentAudit"})) == []  # the id is optional


def test_empty_subject_object_is_refused() -> None:
    assert _codes(_vc(credentialSubject={})) == [("CREDENTIAL_SUBJECT_INVALID", "/credentialSubject")]
    many = [{"id": "did:web:importer.vcgate.test"}, {}]
    assert _codes(_vc(credentialSubject=many)) == [("CREDENTIAL_SUBJECT_INVALID", "/credentialSubject")]
    assert _codes(_vc(credentialSubject=[{"id": "did:web:a.vcgate.test"}, {"id": "did:web:b.vcgate.test"}])) == []


def _pinned_bytes() -> bytes:
    from importlib import resources

    return resources.files("vcgate.canonical_schema").joinpath("contexts/credentials-v2.jsonld").read_bytes()


def test_related_resource_shape() -> None:
    sri = "sha256-" + base64.b64encode(hashlib.sha256(b"customs manual").digest()).decode()
    url = "https://docs.vcgate.test/manual.pdf"
    assert _codes(_vc(relatedResource=[{"id": url, "digestSRI": sri}])) == []
    assert _codes(_vc(relatedResource=[url])) == [("RELATED_RESOURCE_INVALID", "/relatedResource/0")]
    assert _codes(_vc(relatedResource=[{"digestSRI": sri}])) == [("RELATED_RESOURCE_INVALID", "/relatedResource/0/id")]
    assert _codes(_vc(relatedResource=[{"id": url}])) == [("RELATED_RESOURCE_INVALID", "/relatedResource/0")]
    twice = [{"id": url, "digestSRI": sri}, {"id": url, "digestSRI": sri}]
    assert _codes(_vc(relatedResource=twice)) == [("RELATED_RESOURCE_INVALID", "/relatedResource/1/id")]
    # SRI uses the standard base64 alphabet; a base64url value is malformed
    urlsafe = "sha384-" + base64.urlsafe_b64encode(b"\xfb\xff" * 24).decode()
    assert _codes(_vc(relatedResource={"id": url, "digestSRI": urlsafe})) == [
        ("RELATED_RESOURCE_INVALID", "/relatedResource/digestSRI")
    ]


def test_related_resource_digest_of_a_known_context_is_checked() -> None:
    raw = _pinned_bytes()
    good_sri = "sha384-" + base64.b64encode(hashlib.sha384(raw).digest()).decode()
    multihash = b"\x12\x20" + hashlib.sha256(raw).digest()
    good_mb = "u" + base64.urlsafe_b64encode(multihash).decode().rstrip("=")
    bare_mb = "u" + base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    for entry in ({"digestSRI": good_sri}, {"digestMultibase": good_mb}, {"digestMultibase": bare_mb}):
        assert _codes(_vc(relatedResource={"id": V2, **entry})) == []
    # the digest the VC 2.0 Recommendation prints for its base context (an earlier revision of the file) is known
    published = bytes.fromhex("24a18c90e9856d526111f29376e302d970b2bd10182e33959995b0207d7043b9")
    mb = "u" + base64.urlsafe_b64encode(published).decode().rstrip("=")
    assert _codes(_vc(relatedResource={"id": V2, "digestMultibase": mb})) == []
    wrong = "u" + base64.urlsafe_b64encode(hashlib.sha256(raw + b" ").digest()).decode().rstrip("=")
    assert _codes(_vc(relatedResource={"id": V2, "digestMultibase": wrong})) == [
        ("RELATED_RESOURCE_DIGEST_MISMATCH", "/relatedResource")
    ]
