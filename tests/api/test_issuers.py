"""VC-API issuing as the W3C suites drive it: issuer instances (did:key / did:web, Ed25519 / P-256 / P-384, vc+jwt),
validation before the 409, proof sets, VC 1.1 contexts, JSON-string credentials, enveloped credentials, and the
w3c-interop policy profile. Credentials are vcgate's own (the Traceability commercial invoice, a small VC 2.0
credential), not the suites' fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier, sign
from vcgate.gateway.api import NewClient

from .conftest import Gateway, run_gateway

pytestmark = pytest.mark.server

V1 = "https://www.w3.org/2018/credentials/v1"
V2 = "https://www.w3.org/ns/credentials/v2"
DI_V2 = "https://w3id.org/security/data-integrity/v2"
VOCAB = {"@vocab": "https://vocab.vcgate.test#"}


def _issuers_file(tmp: Path) -> Path:
    for kt in ("ed25519", "p256", "p384"):
        KeyPair.generate(kt).to_file(tmp / f"{kt}.json")
    path = tmp / "issuers.yaml"
    path.write_text(
        "issuers:\n"
        "  - {name: ed25519, key: ed25519.json, did: key}\n"
        "  - {name: p256, key: p256.json, did: key}\n"
        "  - {name: p384, key: p384.json, did: key, cryptosuites: [ecdsa-jcs-2019]}\n"
        "  - {name: web, key: ed25519.json, did: web}\n"
        "  - {name: jose, key: p256.json, did: key, format: vc+jwt}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("issuers")
    with run_gateway(tmp, issuers_file=str(_issuers_file(tmp))) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def interop_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("interop")
    with run_gateway(tmp, issuers_file=str(_issuers_file(tmp)), policy=Policy.load("w3c-interop")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def client(gw: Gateway) -> NewClient:
    return gw.client("did:web:customs-broker.vcgate.test")


def _did(gw: Gateway, name: str) -> str:
    return gw.ctx.issuers[name].did


def _vc(issuer: str, **extra: Any) -> dict[str, Any]:
    return {
        "@context": [V2, VOCAB],
        "type": ["VerifiableCredential", "BrokerLicence"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:web:broker.vcgate.test", "licenceNumber": "B-2231"},
        **extra,
    }


def _post(gw: Gateway, client: NewClient, path: str, body: dict[str, Any]) -> Any:
    return gw.http.post(path, json=body, headers=gw.auth(client))


def _offline_verify(doc: dict[str, Any]) -> Any:
    return Verifier(Policy.default(), DidResolver.offline()).check(doc, at=datetime.now(UTC))


@pytest.mark.parametrize(
    ("name", "suite"),
    [
        ("ed25519", "eddsa-rdfc-2022"),
        ("ed25519", "eddsa-jcs-2022"),
        ("p256", "ecdsa-rdfc-2019"),
        ("p256", "ecdsa-jcs-2019"),
        ("p384", "ecdsa-jcs-2019"),
    ],
)
def test_did_key_instances_sign_with_their_suites(gw: Gateway, client: NewClient, name: str, suite: str) -> None:
    did = _did(gw, name)
    assert did.startswith("did:key:z")
    r = _post(
        gw, client, f"/issuers/{name}/credentials/issue", {"credential": _vc(did), "options": {"cryptosuite": suite}}
    )
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["proof"]["cryptosuite"] == suite
    assert vc["proof"]["verificationMethod"].startswith(did + "#")
    result = _offline_verify(vc)  # did:key: no gateway needed to verify
    assert result.status == "verified", [p.code for p in result.problems]


def test_instances_refuse_what_they_do_not_offer(gw: Gateway, client: NewClient) -> None:
    r = _post(
        gw,
        client,
        "/issuers/p384/credentials/issue",
        {"credential": _vc(_did(gw, "p384")), "options": {"cryptosuite": "ecdsa-rdfc-2019"}},
    )
    assert (r.status_code, r.json()["code"]) == (400, "CRYPTOSUITE_UNSUPPORTED")
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": _vc(_did(gw, "p256"))})
    assert (r.status_code, r.json()["code"]) == (400, "ISSUER_MISMATCH")
    r = _post(gw, client, "/issuers/nobody/credentials/issue", {"credential": _vc(_did(gw, "p256"))})
    assert (r.status_code, r.json()["code"]) == (404, "ISSUER_NOT_FOUND")


def test_did_web_instance_is_served_and_verified(gw: Gateway, client: NewClient) -> None:
    did = _did(gw, "web")
    assert did == gw.did + ":issuers:web"
    doc = gw.http.get("/issuers/web/did.json").json()
    assert doc["id"] == did
    assert doc["assertionMethod"] == [doc["verificationMethod"][0]["id"]]
    assert gw.http.get("/issuers/ed25519/did.json").status_code == 404  # a did:key instance has no document here
    vc = _post(gw, client, "/issuers/web/credentials/issue", {"credential": _vc(did)}).json()["verifiableCredential"]
    r = _post(gw, client, "/credentials/verify", {"verifiableCredential": vc})
    assert r.status_code == 200, r.text
    assert r.json()["issuer"] == did


def test_vc_jwt_instance_envelopes_and_verify_unwraps(gw: Gateway, client: NewClient) -> None:
    did = _did(gw, "jose")
    r = _post(gw, client, "/issuers/jose/credentials/issue", {"credential": _vc(did)})
    assert r.status_code == 201, r.text
    env = r.json()["verifiableCredential"]
    assert env["type"] == "EnvelopedVerifiableCredential"
    assert env["id"].startswith("data:application/vc+jwt,ey")
    ok = _post(gw, client, "/credentials/verify", {"verifiableCredential": env})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["format"], ok.json()["issuer"]) == ("jwt", did)
    token = env["id"].split(",", 1)[1]
    assert _post(gw, client, "/credentials/verify", {"verifiableCredential": token}).status_code == 200
    for broken, code in (
        ({**env, "id": token}, "ENVELOPE_INVALID"),  # not a data: URL
        ({**env, "type": "VerifiableCredential"}, None),  # not an envelope: verified as a credential, and fails
        ({**env, "@context": []}, "CONTEXT_INVALID"),
        ({**env, "id": env["id"][:-4] + "AAAA"}, "SIGNATURE_INVALID"),
    ):
        bad = _post(gw, client, "/credentials/verify", {"verifiableCredential": broken})
        assert bad.status_code == 400, bad.text
        if code:
            assert code in [p["code"] for p in bad.json()["problemDetails"]]


def test_json_text_in_a_string_is_not_a_credential(gw: Gateway, client: NewClient) -> None:
    import json

    did = _did(gw, "ed25519")
    vc = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": _vc(did)}).json()[
        "verifiableCredential"
    ]
    assert _post(gw, client, "/credentials/verify", {"verifiableCredential": vc}).status_code == 200
    r = _post(gw, client, "/credentials/verify", {"verifiableCredential": json.dumps(vc)})
    assert (r.status_code, r.json()["code"]) == (400, "CREDENTIAL_NOT_OBJECT")


def test_invalid_body_is_400_even_when_the_id_was_issued(gw: Gateway, client: NewClient) -> None:
    did = _did(gw, "ed25519")
    cid = "urn:uuid:5a0c2f5e-7d2b-4c8e-9a51-0f3c1e6b7d20"
    assert _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": _vc(did, id=cid)}).status_code == 201
    bad = _vc(did, id=cid, credentialSubject={})
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": bad})
    assert (r.status_code, r.json()["code"]) == (400, "CREDENTIAL_INVALID")
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": _vc(did, id=cid)})
    assert (r.status_code, r.json()["code"]) == (409, "CREDENTIAL_EXISTS")


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("credentialStatus", {"id": "https://status.vcgate.test/1#4"}),
        ("termsOfUse", {"id": "https://terms.vcgate.test/v1"}),
        ("evidence", {"id": "https://evidence.vcgate.test/7"}),
        ("credentialSchema", {"id": "https://schemas.vcgate.test/licence.json"}),
        ("relatedResource", ["https://docs.vcgate.test/manual.pdf"]),
    ],
)
def test_issuer_refuses_malformed_members(gw: Gateway, client: NewClient, member: str, value: Any) -> None:
    r = _post(
        gw, client, "/issuers/ed25519/credentials/issue", {"credential": _vc(_did(gw, "ed25519"), **{member: value})}
    )
    assert (r.status_code, r.json()["code"]) == (400, "CREDENTIAL_INVALID")
    codes = [p["code"] for p in r.json()["problemDetails"]]
    assert codes[0] in ("TYPED_OBJECT_INVALID", "RELATED_RESOURCE_INVALID")


def test_vc11_credential_gets_the_data_integrity_context(gw: Gateway, client: NewClient) -> None:
    did = _did(gw, "ed25519")
    vc11 = {
        "@context": [V1, VOCAB],
        "type": ["VerifiableCredential", "BrokerLicence"],
        "issuer": did,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:web:broker.vcgate.test", "licenceNumber": "B-2232"},
    }
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": vc11})
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["@context"] == [V1, VOCAB, DI_V2]
    assert _offline_verify(vc).status == "verified"


def test_vocab_null_is_400_and_the_connection_survives(gw: Gateway, client: NewClient) -> None:
    doc = _vc(_did(gw, "ed25519"))
    doc["@context"] = [V2, {"@vocab": None}]
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": doc})
    assert r.status_code == 400, r.text
    assert "UNDEFINED_TERM" in [p["code"] for p in r.json()["problemDetails"]]
    # the same keep-alive connection answers the next request
    assert gw.http.get("/health").status_code == 200


def _cosigned(did: str, cid: str) -> dict[str, Any]:
    notary = KeyPair.generate("p256")
    created = datetime.now(UTC) - timedelta(minutes=1)
    return sign(_vc(did, id=cid), notary, suite="ecdsa-rdfc-2019", created=created, extra={"id": "urn:uuid:notary"})


def test_issue_adds_to_a_proof_set(gw: Gateway, client: NewClient) -> None:
    did = _did(gw, "ed25519")
    cosigned = _cosigned(did, "urn:uuid:6f1e0d2c-3b4a-4c5d-8e9f-0a1b2c3d4e5f")
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": cosigned})
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert [p["cryptosuite"] for p in vc["proof"]] == ["ecdsa-rdfc-2019", "eddsa-rdfc-2022"]
    assert "previousProof" not in vc["proof"][1]
    assert _offline_verify(vc).status == "verified"


def test_issue_chains_to_a_named_proof(gw: Gateway, client: NewClient) -> None:
    did = _did(gw, "ed25519")
    cosigned = _cosigned(did, "urn:uuid:7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d")
    body = {"credential": cosigned, "options": {"previousProof": "urn:uuid:notary"}}
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", body)
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["proof"][1]["previousProof"] == "urn:uuid:notary"
    assert _offline_verify(vc).status == "verified"
    # an existing proof that does not verify is refused before anything is added
    tampered = {**cosigned, "id": "urn:uuid:8b3c4d5e-6f7a-4b2c-8d3e-4f5a6b7c8d9e"}
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": tampered})
    assert r.status_code == 400
    assert "SIGNATURE_INVALID" in [p["code"] for p in r.json()["problemDetails"]]


def test_default_policy_keeps_the_divergences(gw: Gateway, client: NewClient) -> None:
    did = _did(gw, "ed25519")
    no_issuer = {k: v for k, v in _vc(did).items() if k != "issuer"}
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": no_issuer})
    assert r.status_code == 201
    assert r.json()["verifiableCredential"]["issuer"] == did
    expired = _vc(did, validFrom="2020-01-01T00:00:00Z", validUntil="2021-01-01T00:00:00Z")
    r = _post(gw, client, "/issuers/ed25519/credentials/issue", {"credential": expired})
    assert (r.status_code, [p["code"] for p in r.json()["problemDetails"]]) == (400, ["EXPIRED"])


def test_w3c_interop_profile_switches_them_off(interop_gw: Gateway) -> None:
    client = interop_gw.client("did:web:customs-broker.vcgate.test")
    did = _did(interop_gw, "ed25519")
    no_issuer = {k: v for k, v in _vc(did).items() if k != "issuer"}
    r = _post(interop_gw, client, "/issuers/ed25519/credentials/issue", {"credential": no_issuer})
    assert (r.status_code, r.json()["code"]) == (400, "ISSUER_MISSING")
    expired = _vc(did, validFrom="2020-01-01T00:00:00Z", validUntil="2021-01-01T00:00:00Z")
    r = _post(interop_gw, client, "/issuers/ed25519/credentials/issue", {"credential": expired})
    assert r.status_code == 201, r.text
    # issuer not the key's controller: verified under the profile, ISSUER_KEY_MISMATCH under the default
    stranger = KeyPair.generate("ed25519")
    vc = sign(_vc("https://issuers.vcgate.test/5678"), stranger, created=datetime.now(UTC) - timedelta(minutes=1))
    assert _post(interop_gw, client, "/credentials/verify", {"verifiableCredential": vc}).status_code == 200
    assert [p.code for p in _offline_verify(vc).problems] == ["ISSUER_KEY_MISMATCH"]


def test_presentation_carrying_an_enveloped_credential(gw: Gateway, client: NewClient) -> None:
    from .conftest import presentation

    env = _post(gw, client, "/issuers/jose/credentials/issue", {"credential": _vc(_did(gw, "jose"))}).json()[
        "verifiableCredential"
    ]
    holder = KeyPair.generate("ed25519")
    vp = presentation(holder, [env], challenge="c-91", domain="customs.vcgate.test")
    body = {"verifiablePresentation": vp, "options": {"challenge": "c-91", "domain": "customs.vcgate.test"}}
    r = _post(gw, client, "/presentations/verify", body)
    assert r.status_code == 200, r.text
    broken = presentation(
        holder, [{**env, "id": env["id"][:-4] + "AAAA"}], challenge="c-91", domain="customs.vcgate.test"
    )
    r = _post(gw, client, "/presentations/verify", {**body, "verifiablePresentation": broken})
    assert r.status_code == 400
    assert [p["code"] for p in r.json()["problemDetails"]] == ["CREDENTIAL_INVALID"]
