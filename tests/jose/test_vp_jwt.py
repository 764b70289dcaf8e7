"""vp+jwt presentations (VC-JOSE-COSE §3.2.1): bare compact JWS and EnvelopedVerifiablePresentation, signed with
the project's key code, and each way one can be wrong."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vcgate.canonical_schema import b64url, b64url_decode
from vcgate.gateway import DidResolver, JoseError, KeyPair, Policy, Verifier, sign_vc_jwt, sign_vp_jwt
from vcgate.gateway.api._presentations import PresentationResult, check_presentation

from .test_vc_jwt import cred, forge

AT = datetime(2025, 6, 1, tzinfo=UTC)
V2 = "https://www.w3.org/ns/credentials/v2"


def enveloped_vc(key: KeyPair, **extra: Any) -> dict[str, Any]:
    token = sign_vc_jwt(cred(key.controller, **extra), key)
    return {"@context": [V2], "type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt," + token}


def vp(holder: str, credentials: list[Any]) -> dict[str, Any]:
    return {"@context": [V2], "type": ["VerifiablePresentation"], "holder": holder, "verifiableCredential": credentials}


def envelope(token: str, media: str = "application/vp+jwt") -> dict[str, Any]:
    return {"@context": [V2], "type": "EnvelopedVerifiablePresentation", "id": f"data:{media},{token}"}


def check(data: dict[str, Any] | str, challenge: str | None = "n-1", domain: str | None = "customs.example") -> Any:
    verifier = Verifier(Policy.default(), DidResolver.offline())
    return check_presentation(data, verifier, at=AT, domain=domain, challenge=challenge)


def codes(result: PresentationResult) -> list[str]:
    return [p.code for p in result.problems]


@pytest.fixture
def holder() -> KeyPair:
    return KeyPair.generate("ed25519")


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
@pytest.mark.parametrize("wrapped", [True, False])
def test_verified(key_type: str, wrapped: bool) -> None:
    holder, issuer = KeyPair.generate(key_type), KeyPair.generate("p384")
    token = sign_vp_jwt(vp(holder.controller, [enveloped_vc(issuer)]), holder, nonce="n-1", aud="customs.example")
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {"alg": header["alg"], "kid": holder.verification_method, "typ": "vp+jwt", "cty": "vp"}
    result = check(envelope(token) if wrapped else token)
    assert result.status == "verified", result.to_json()
    assert result.holder == holder.controller
    assert [r.issuer for r in result.credentials] == [issuer.controller]
    names = {c.name: c.status for c in result.checks}
    assert names["presentation_signature"] == names["holder_binding"] == names["credential"] == "passed"
    assert names["presentation_challenge"] == names["presentation_domain"] == "passed"


def test_challenge_and_domain_are_the_nonce_and_aud_claims(holder: KeyPair) -> None:
    token = sign_vp_jwt(vp(holder.controller, []), holder, nonce="n-1", aud="customs.example")
    assert codes(check(token, challenge="n-2")) == ["CHALLENGE_MISMATCH"]
    assert codes(check(token, domain="evil.example")) == ["DOMAIN_MISMATCH"]
    bare = sign_vp_jwt(vp(holder.controller, []), holder)
    assert codes(check(bare)) == ["CHALLENGE_MISMATCH", "DOMAIN_MISMATCH"]
    assert check(bare, challenge=None, domain=None).status == "verified"


def test_wrong_key(holder: KeyPair) -> None:
    other = KeyPair.generate("ed25519")
    payload = vp(holder.controller, []) | {"nonce": "n-1", "aud": "customs.example"}
    # Signed by another key but naming the holder's: the signature fails.
    header = {"alg": "EdDSA", "kid": holder.verification_method, "typ": "vp+jwt"}
    assert codes(check(forge(header, payload, other))) == ["SIGNATURE_INVALID"]
    # Signed by another key naming itself: the holder does not control it.
    token = sign_vp_jwt(vp(holder.controller, []), other, nonce="n-1", aud="customs.example")
    assert codes(check(token)) == ["HOLDER_KEY_MISMATCH"]


@pytest.mark.parametrize("typ", ["vc+jwt", "jwt", None])
def test_wrong_typ(holder: KeyPair, typ: str | None) -> None:
    header = {"alg": "EdDSA", "kid": holder.verification_method} | ({"typ": typ} if typ else {})
    token = forge(header, vp(holder.controller, []) | {"nonce": "n-1", "aud": "customs.example"}, holder)
    assert codes(check(token)) == ["MEDIA_TYPE_INVALID"]


def test_tampered_payload(holder: KeyPair) -> None:
    token = sign_vp_jwt(vp(holder.controller, []), holder, nonce="n-1", aud="customs.example")
    h, _, s = token.split(".")
    evil = vp(holder.controller, []) | {"nonce": "n-1", "aud": "customs.example", "id": "urn:uuid:evil"}
    assert codes(check(f"{h}.{b64url(json.dumps(evil).encode())}.{s}")) == ["SIGNATURE_INVALID"]
    assert codes(check(token[:-4] + "AAAA")) == ["SIGNATURE_INVALID"]


def test_vc11_vp_claim_is_refused(holder: KeyPair) -> None:
    legacy = {"iss": holder.controller, "nonce": "n-1", "aud": "customs.example", "vp": vp(holder.controller, [])}
    header = {"alg": "EdDSA", "kid": holder.verification_method, "typ": "vp+jwt"}
    result = check(forge(header, legacy, holder))
    assert codes(result) == ["JWT_CLAIM_FORBIDDEN"]
    assert result.problems[0].pointer == "/vp"
    with pytest.raises(JoseError):
        sign_vp_jwt({"vp": {}}, holder)


def test_bad_embedded_credential_makes_it_invalid(holder: KeyPair) -> None:
    issuer = KeyPair.generate("ed25519")
    good = enveloped_vc(issuer)
    h, p, s = good["id"].split(",", 1)[1].split(".")
    claims = json.loads(b64url_decode(p))
    claims["credentialSubject"]["name"] = "Forged"
    bad = dict(good, id=f"data:application/vc+jwt,{h}.{b64url(json.dumps(claims).encode())}.{s}")
    token = sign_vp_jwt(vp(holder.controller, [good, bad]), holder, nonce="n-1", aud="customs.example")
    result = check(envelope(token))
    assert result.status == "invalid"
    assert codes(result) == ["CREDENTIAL_INVALID"]
    assert result.problems[0].pointer == "/verifiableCredential/1"
    assert [r.status for r in result.credentials] == ["verified", "invalid"]


def test_envelope_and_data_model(holder: KeyPair) -> None:
    token = sign_vp_jwt(vp(holder.controller, []), holder, nonce="n-1", aud="customs.example")
    assert codes(check(envelope(token, "application/vc+jwt"))) == ["ENVELOPE_INVALID"]
    assert codes(check("not a jws")) == ["JWS_MALFORMED"]
    v1 = vp(holder.controller, []) | {"@context": ["https://www.w3.org/2018/credentials/v1"]}
    assert codes(check(sign_vp_jwt(v1, holder, nonce="n-1", aud="customs.example"))) == ["PRESENTATION_MALFORMED"]
    iss = vp(holder.controller, []) | {"iss": "did:example:else", "nonce": "n-1", "aud": "customs.example"}
    assert codes(check(forge({"alg": "EdDSA", "kid": holder.verification_method, "typ": "vp+jwt"}, iss, holder))) == [
        "HOLDER_KEY_MISMATCH"
    ]


def test_expired_presentation(holder: KeyPair) -> None:
    payload = vp(holder.controller, []) | {"nonce": "n-1", "aud": "customs.example", "exp": 1_700_000_000}
    token = forge({"alg": "EdDSA", "kid": holder.verification_method, "typ": "vp+jwt"}, payload, holder)
    assert codes(check(token)) == ["EXPIRED"]


@pytest.mark.node
def test_independent_node_producer() -> None:
    """A vp+jwt made by Node's built-in crypto (did:jwk keys vcgate never saw) verifies; a changed nonce does not."""
    script = Path(__file__).resolve().parent.parent / "node" / "vp-jwt-peer.mjs"
    request = {"credential": cred("did:example:placeholder"), "nonce": "n-1", "aud": "customs.example"}
    run = subprocess.run(
        ["node", str(script)], input=json.dumps(request), capture_output=True, text=True, timeout=60, check=True
    )
    out = json.loads(run.stdout)
    result = check(out["token"])
    assert result.status == "verified", result.to_json()
    assert result.holder == out["holder"]
    assert [r.issuer for r in result.credentials] == [out["issuer"]]
    assert check(envelope(out["token"])).status == "verified"
    h, p, s = out["token"].split(".")
    claims = json.loads(b64url_decode(p)) | {"nonce": "n-2"}
    assert codes(check(f"{h}.{b64url(json.dumps(claims).encode())}.{s}", challenge="n-2")) == ["SIGNATURE_INVALID"]
