"""VC-JOSE-COSE: credentials secured as a compact JWS with ``typ`` ``vc+jwt`` (W3C VC-JOSE-COSE §3.1.1).

The JWT Claims Set *is* the credential (a VC 2.0 JSON-LD document); the issuer signs it with a key named by
the header's ``kid``. Verification: strict parsing of the three segments, the protected header (media type,
algorithm from the policy, no unknown ``crit``), claims that VC-JOSE-COSE forbids (``vc``, ``vp``) or
constrains (``iss``), the key (``kid`` → a verification method the issuer controls, through the verifier's DID
resolver), the signature (RFC 7515 §5.2, RFC 7518 §3.4 / RFC 8037 §3.1), then the same data model, strict
terms, validity and status stages as a Data Integrity credential, and the JWT ``exp`` / ``nbf`` claims.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vcgate.canonical_schema import Check, InputError, Problem, VcgateError, b64url, b64url_decode

from ._canonical import CanonicalizationError, term_name, undefined_terms
from ._dids import DidResolutionError, DidResolver, VerificationMethod, VerificationRelationshipError
from ._keys import KeyPair, verify_signature

if TYPE_CHECKING:
    from ._verify import VerificationResult, Verifier

#: JOSE ``alg`` → the key types that sign with it (RFC 7518 §3.4, RFC 8037 §3.1, RFC 8812 §3.2).
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "EdDSA": ("Ed25519",),
    "Ed25519": ("Ed25519",),
    "ES256": ("P-256",),
    "ES384": ("P-384",),
    "ES256K": ("secp256k1",),
}
_ALG_FOR_KEY = {"Ed25519": "EdDSA", "P-256": "ES256", "P-384": "ES384", "secp256k1": "ES256K"}

#: VC-JOSE-COSE §3.1.1: the media type of a JWS-secured credential (``typ``), optionally with
#: ``application/``.
VC_JWT_TYPES = frozenset({"vc+jwt", "application/vc+jwt"})
#: ``cty``, if present: the secured content is a credential.
VC_CONTENT_TYPES = frozenset({"vc", "application/vc"})
#: JWT claims (RFC 7519 §4.1, RFC 7800) that may sit beside the credential's own properties. They are checked
#: here and are not JSON-LD terms, so the strict-terms stage does not see them.
JWT_REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf"})

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")
_MAX_HEADER_BYTES = 8 * 1024


class JoseError(VcgateError):
    """A ``vc+jwt`` could not be created."""


def _fail(name: str, stage: str, code: str, title: str, detail: str = "", pointer: str = "") -> Check:
    return Check.failed(name, Problem(code, title, detail, pointer), stage)


def _err(name: str, stage: str, code: str, title: str, detail: str = "", pointer: str = "") -> Check:
    return Check.errored(name, Problem(code, title, detail, pointer), stage)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK SHA-256 thumbprint (base64url) of a public OKP or EC key."""
    members = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(m), str) for m in members):
        raise InputError("thumbprints are computed for OKP and EC public keys only")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def _is_absolute(ref: str) -> bool:
    return ref.startswith("did:") or "://" in ref


def resolve_kid(
    kid: str, issuer: str | None, resolver: DidResolver, relationship: str = "assertionMethod"
) -> VerificationMethod:
    """The verification method ``kid`` names (VC-JOSE-COSE §3.1.1 "kid"): an absolute DID URL, a fragment
    relative to ``issuer`` (the issuer, or a presentation's holder), or the ``kid`` / RFC 7638 thumbprint of a
    key in its document; it must be listed under ``relationship``."""
    if _is_absolute(kid):
        return resolver.verification_method(kid, relationship)
    if issuer is None:
        raise DidResolutionError(kid, "a relative kid needs an issuer to resolve against")
    if kid.startswith("#"):
        return resolver.verification_method(issuer + kid, relationship)
    doc = resolver.resolve(issuer)
    candidates: list[Any] = list(doc.get("verificationMethod") or [])
    candidates += [v for v in doc.get(relationship) or [] if isinstance(v, dict)]
    for vm in candidates:
        if not isinstance(vm, dict) or not isinstance(vm.get("id"), str):
            continue
        vm_id = issuer + vm["id"] if vm["id"].startswith("#") else vm["id"]
        jwk = vm.get("publicKeyJwk")
        matches = vm_id == f"{issuer}#{kid}"
        if not matches and isinstance(jwk, dict):
            try:
                matches = jwk.get("kid") == kid or jwk_thumbprint(jwk) == kid
            except InputError:
                matches = False
        if matches:
            return resolver.verification_method(vm_id, relationship)
    raise DidResolutionError(issuer, f"no verification method of the issuer matches kid {kid!r}")


def _segment(text: str, what: str) -> bytes:
    if not _SEGMENT.fullmatch(text):
        raise InputError(f"the JWS {what} is not unpadded base64url")
    return b64url_decode(text)


def parse_compact_jws(
    token: str, *, max_bytes: int, max_depth: int
) -> tuple[list[str], dict[str, Any], dict[str, Any]] | Check:
    """RFC 7515 §7.1 compact serialization: the three segments, the protected header and the payload (both
    strict JSON objects), or the failed ``parse`` check."""
    from ._verify import parse_json_strictly

    text = token.strip() if isinstance(token, str) else ""
    if len(text.encode("utf-8")) > max_bytes:
        return _fail("parse", "parse", "INPUT_TOO_LARGE", "Input too large", f"{len(text)} bytes > limit {max_bytes}")
    parts = text.split(".")
    try:
        if len(parts) != 3:
            raise InputError("a compact JWS has three segments separated by '.'")
        header_bytes = _segment(parts[0], "header")
        payload_bytes = _segment(parts[1], "payload")
        _segment(parts[2], "signature")
    except InputError as exc:
        return _fail("parse", "parse", "JWS_MALFORMED", "Malformed JWS", str(exc))
    header, header_check = parse_json_strictly(header_bytes, max_bytes=_MAX_HEADER_BYTES, max_depth=8)
    if header is None or not isinstance(header, dict):
        problem = header_check.problem
        detail = "protected header: " + (problem.detail if problem else "not a JSON object")
        return _fail("parse", "parse", "JWS_MALFORMED", "Malformed JWS", detail)
    payload, payload_check = parse_json_strictly(payload_bytes, max_bytes=max_bytes, max_depth=max_depth)
    if payload is None:
        return payload_check
    if not isinstance(payload, dict):
        return _fail(
            "parse", "parse", "CREDENTIAL_NOT_OBJECT", "Not a credential", "the JWT Claims Set must be an object"
        )
    return parts, header, payload


def _issuer(payload: Mapping[str, Any]) -> str | None:
    iss = payload.get("issuer")
    if isinstance(iss, str):
        return iss
    if isinstance(iss, dict) and isinstance(iss.get("id"), str):
        return str(iss["id"])
    return None


def _numeric_date(payload: Mapping[str, Any], claim: str) -> float | Check | None:
    value = payload.get(claim)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _fail(
            f"jwt_{claim}",
            "validity",
            "DATETIME_INVALID",
            "Invalid date",
            f"the JWT claim {claim} must be a NumericDate (RFC 7519 §2)",
            f"/{claim}",
        )
    return float(value)


def jwt_time_checks(payload: Mapping[str, Any], at: datetime) -> list[Check]:
    """RFC 7519 §4.1.4 / §4.1.5: the ``exp`` and ``nbf`` claims (when present), judged at ``at``."""
    checks: list[Check] = []
    now = at.timestamp()
    for claim in ("exp", "nbf"):
        value = _numeric_date(payload, claim)
        if isinstance(value, Check):
            checks.append(value)
        elif value is None:
            continue
        elif claim == "exp" and now >= value:
            checks.append(
                _fail(
                    "jwt_exp",
                    "validity",
                    "EXPIRED",
                    "Credential expired",
                    f"exp {datetime.fromtimestamp(value, UTC).isoformat()} is not after {at.isoformat()}",
                    "/exp",
                )
            )
        elif claim == "nbf" and now < value:
            checks.append(
                _fail(
                    "jwt_nbf",
                    "validity",
                    "NOT_YET_VALID",
                    "Not yet valid",
                    f"nbf {datetime.fromtimestamp(value, UTC).isoformat()} is after {at.isoformat()}",
                    "/nbf",
                )
            )
        else:
            checks.append(Check.passed(f"jwt_{claim}", "validity"))
    return checks


def check_vc_jwt(token: str, verifier: Verifier, *, at: datetime) -> VerificationResult:
    """Verify a compact ``vc+jwt`` credential at the instant ``at``. Never raises on bad input.

    Uses ``verifier.policy`` (accepted algorithms, limits, strict terms), ``verifier.resolver`` (the key) and
    the verifier's later stages (data model, validity, status) on the payload.
    """
    from ._verify import VerificationResult

    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    policy = verifier.policy
    checks: list[Check] = []

    def done(payload: Mapping[str, Any] | None = None) -> VerificationResult:
        return VerificationResult(tuple(checks), "jwt", payload, _issuer(payload) if payload else None, at)

    parsed = parse_compact_jws(token, max_bytes=policy.max_credential_bytes, max_depth=policy.max_json_depth)
    if isinstance(parsed, Check):
        checks.append(parsed)
        return done()
    parts, header, payload = parsed
    checks.append(Check.passed("parse", "parse"))

    # Protected header. VC-JOSE-COSE §3.1.1: typ is vc+jwt; cty, when present, is vc.
    typ, cty = header.get("typ"), header.get("cty")
    if typ not in VC_JWT_TYPES or ("cty" in header and cty not in VC_CONTENT_TYPES):
        checks.append(
            _fail(
                "media_type",
                "proof",
                "MEDIA_TYPE_INVALID",
                "Not a vc+jwt",
                f"typ {typ!r} / cty {cty!r}: a JWS-secured credential has typ 'vc+jwt' (and cty 'vc' if any)",
            )
        )
        return done(payload)
    checks.append(Check.passed("media_type", "proof"))
    # RFC 7515 §4.1.11: a verifier must reject a JWS whose crit names extensions it does not process (all).
    if "crit" in header or "b64" in header:
        checks.append(
            _fail(
                "jose_header",
                "proof",
                "JWS_CRIT_UNSUPPORTED",
                "Unsupported JWS extension",
                "the protected header uses crit/b64, which vcgate does not process",
            )
        )
        return done(payload)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in policy.accepted_jwt_algorithms or alg not in ALGORITHMS:
        checks.append(
            _fail(
                "algorithm",
                "proof",
                "JWT_ALG_NOT_ACCEPTED",
                "Signature algorithm not accepted",
                f"alg {alg!r}; policy {policy.name!r} accepts " + ", ".join(sorted(policy.accepted_jwt_algorithms)),
            )
        )
        return done(payload)
    checks.append(Check.passed("algorithm", "proof"))

    # Claims. VC-JOSE-COSE §3.1.1: vc and vp MUST NOT appear; iss, if present, equals the issuer (id).
    issuer = _issuer(payload)
    forbidden = sorted(k for k in ("vc", "vp") if k in payload)
    if forbidden:
        checks.append(
            _fail(
                "jwt_claims",
                "data_model",
                "JWT_CLAIM_FORBIDDEN",
                "Forbidden JWT claim",
                f"{', '.join(forbidden)} must not appear in a vc+jwt Claims Set (the payload is the credential)",
                f"/{forbidden[0]}",
            )
        )
        return done(payload)
    if "iss" in payload and payload["iss"] != issuer:
        checks.append(
            _fail(
                "jwt_claims",
                "data_model",
                "ISSUER_MISMATCH",
                "iss does not match the issuer",
                f"iss {payload['iss']!r}, issuer {issuer!r}",
                "/iss",
            )
        )
        return done(payload)
    checks.append(Check.passed("jwt_claims", "data_model"))

    # Key: kid → verification method listed under assertionMethod.
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        checks.append(
            _fail("verification_method", "proof", "KID_MISSING", "No key id", "the protected header needs a kid")
        )
        return done(payload)
    try:
        vm = resolve_kid(kid, issuer, verifier.resolver)
    except VerificationRelationshipError as exc:
        checks.append(
            _fail(
                "verification_method",
                "proof",
                "VERIFICATION_METHOD_NOT_AUTHORIZED",
                "Key not authorised for this purpose",
                str(exc),
            )
        )
        return done(payload)
    except DidResolutionError as exc:
        maker = _err if exc.transient else _fail
        code = "DID_UNRESOLVABLE" if exc.transient else "VERIFICATION_METHOD_INVALID"
        checks.append(maker("verification_method", "proof", code, "Verification method not resolvable", str(exc)))
        return done(payload)
    if vm.public_key.key_type not in ALGORITHMS[alg]:
        checks.append(
            _fail(
                "verification_method",
                "proof",
                "KEY_TYPE_MISMATCH",
                "Key type does not fit the algorithm",
                f"{alg} needs {'/'.join(ALGORITHMS[alg])}, the key is {vm.public_key.key_type}",
            )
        )
        return done(payload)
    checks.append(Check.passed("verification_method", "proof"))

    # RFC 7515 §5.2: the signature covers ASCII(header segment '.' payload segment), exactly as received.
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    if not verify_signature(vm.public_key, signing_input, b64url_decode(parts[2])):
        checks.append(
            _fail(
                "signature",
                "proof",
                "SIGNATURE_INVALID",
                "Signature does not verify",
                f"the {alg} signature does not match the header, payload and key {vm.id}",
            )
        )
        return done(payload)
    checks.append(Check.passed("signature", "proof"))

    # The issuer must control the key (VC-JOSE-COSE §3.1.1, "kid"; ARCHITECTURE "issuer key binding").
    controller = vm.controller or vm.id.split("#", 1)[0]
    if not policy.require_issuer_key_binding:
        checks.append(Check.not_applicable("issuer_key_binding", "proof"))
    elif issuer is not None and controller == issuer:
        checks.append(Check.passed("issuer_key_binding", "proof"))
    else:
        checks.append(
            _fail(
                "issuer_key_binding",
                "proof",
                "ISSUER_KEY_MISMATCH",
                "Issuer does not control the signing key",
                f"the key {vm.id} is controlled by {controller!r}, the issuer is {issuer!r}",
                "/issuer",
            )
        )

    # Later stages on the credential itself (JWT claims are not JSON-LD terms, so they are set aside).
    credential = {k: v for k, v in payload.items() if k not in JWT_REGISTERED_CLAIMS}
    rest = verifier.check_document(credential, at=at, proof_required=False)
    checks.extend(rest.checks)

    checks.extend(jwt_time_checks(payload, at))
    return done(payload)


#: ``data:`` URL media types of an enveloped vc+jwt (VC 2.0 §4.13.1; ``application/jwt`` is what the W3C suite's
#: own fixture uses).
ENVELOPED_MEDIA_TYPES = frozenset({"application/vc+jwt", "application/jwt"})
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


def is_compact_jws(text: str) -> bool:
    """Whether ``text`` has the shape of a compact JWS (three base64url segments): the only string a credential
    may be (a JSON text is an object serialised, not a credential)."""
    return _COMPACT_JWS.match(text.strip()) is not None


#: ``data:`` URL media types of an enveloped vp+jwt (VC-JOSE-COSE §3.2.1).
ENVELOPED_VP_MEDIA_TYPES = frozenset({"application/vp+jwt"})


def enveloped_token(doc: Mapping[str, Any], *, presentation: bool = False) -> str | Check:
    """The compact vc+jwt inside an ``EnvelopedVerifiableCredential`` (VC 2.0 §4.13.1), or the failed check.

    The envelope needs ``@context`` with the base context first, ``type`` exactly ``EnvelopedVerifiableCredential``
    and an ``id`` that is a ``data:application/vc+jwt,<compact JWS>`` URL.
    """
    from vcgate.canonical_schema import CREDENTIALS_V2_URL

    kind, media_types = (
        ("Presentation", ENVELOPED_VP_MEDIA_TYPES) if presentation else ("Credential", ENVELOPED_MEDIA_TYPES)
    )
    ctx = doc.get("@context")
    contexts = [ctx] if isinstance(ctx, str) else ctx if isinstance(ctx, list) else []
    if contexts[:1] != [CREDENTIALS_V2_URL]:
        return _fail(
            "envelope",
            "data_model",
            "CONTEXT_INVALID",
            "Invalid envelope",
            f"an enveloped {kind.lower()}'s @context starts with {CREDENTIALS_V2_URL}",
            "/@context",
        )
    types = doc.get("type")
    if types not in (f"EnvelopedVerifiable{kind}", [f"EnvelopedVerifiable{kind}"]):
        return _fail(
            "envelope",
            "data_model",
            "TYPE_INVALID",
            "Invalid envelope",
            f"an enveloped {kind.lower()}'s type is EnvelopedVerifiable{kind}",
            "/type",
        )
    url = doc.get("id")
    head, sep, token = url.partition(",") if isinstance(url, str) else ("", "", "")
    media = head[len("data:") :].split(";", 1)[0] if head.startswith("data:") else ""
    if not sep or media not in media_types or ";base64" in head or not is_compact_jws(token):
        return _fail(
            "envelope",
            "data_model",
            "ENVELOPE_INVALID",
            "Invalid envelope",
            f"id must be a data:application/{'vp' if presentation else 'vc'}+jwt,<compact JWS> URL",
            "/id",
        )
    return token


def sign_vc_jwt(
    credential: Mapping[str, Any],
    key: KeyPair,
    *,
    kid: str | None = None,
    loader: Callable[..., Any] | None = None,
    allow_undefined_terms: bool = False,
) -> str:
    """Secure ``credential`` as a compact ``vc+jwt`` (header ``alg``, ``kid`` = the key's verification method,
    ``typ`` ``vc+jwt``, ``cty`` ``vc``); the payload is the credential as given.

    Refuses credentials with ``vc``/``vp`` claims, a ``proof``, or (unless ``allow_undefined_terms``) terms no
    context defines - a verifier in strict mode would reject them.
    """
    if not isinstance(credential, Mapping):
        raise JoseError("a credential must be a JSON object")
    if "vc" in credential or "vp" in credential:
        raise JoseError("a vc+jwt payload must not carry vc or vp claims (VC-JOSE-COSE §3.1.1)")
    if "proof" in credential:
        raise JoseError("the credential already has an embedded proof; secure the unsigned credential")
    alg = _ALG_FOR_KEY.get(key.key_type)
    if alg is None:  # pragma: no cover - every KeyPair key type has an algorithm
        raise JoseError(f"no JOSE algorithm for {key.key_type} keys")
    if not allow_undefined_terms:
        try:
            terms = undefined_terms({k: v for k, v in credential.items() if k not in JWT_REGISTERED_CLAIMS}, loader)
        except CanonicalizationError as exc:
            raise JoseError(f"cannot sign: {exc}") from None
        if terms:
            raise JoseError(
                "cannot sign: undefined terms "
                + ", ".join(sorted({term_name(t) for t in terms}))
                + " (define them in a context)"
            )
    header = {"alg": alg, "kid": kid or key.verification_method, "typ": "vc+jwt", "cty": "vc"}
    try:
        payload = json.dumps(dict(credential), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JoseError(f"the credential is not JSON: {exc}") from None
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(payload.encode())
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


def sign_vp_jwt(
    presentation: Mapping[str, Any],
    key: KeyPair,
    *,
    kid: str | None = None,
    nonce: str | None = None,
    aud: str | None = None,
) -> str:
    """Secure ``presentation`` (a VC 2.0 presentation; its holder should be ``key``'s controller) as a compact
    ``vp+jwt`` (VC-JOSE-COSE §3.2.1): header ``alg``, ``kid``, ``typ`` ``vp+jwt``, ``cty`` ``vp``; ``nonce`` / ``aud``
    carry a verifier's challenge and domain."""
    if not isinstance(presentation, Mapping):
        raise JoseError("a presentation must be a JSON object")
    if "vc" in presentation or "vp" in presentation or "proof" in presentation:
        raise JoseError("a vp+jwt payload is the unsecured presentation: no vc, vp or proof")
    alg = _ALG_FOR_KEY[key.key_type]
    header = {"alg": alg, "kid": kid or key.verification_method, "typ": "vp+jwt", "cty": "vp"}
    claims = dict(presentation) | {k: v for k, v in (("nonce", nonce), ("aud", aud)) if v is not None}
    try:
        payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JoseError(f"the presentation is not JSON: {exc}") from None
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(payload.encode())
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


__all__ = [
    "ALGORITHMS",
    "ENVELOPED_VP_MEDIA_TYPES",
    "JWT_REGISTERED_CLAIMS",
    "JoseError",
    "check_vc_jwt",
    "enveloped_token",
    "is_compact_jws",
    "jwk_thumbprint",
    "jwt_time_checks",
    "parse_compact_jws",
    "resolve_kid",
    "sign_vc_jwt",
    "sign_vp_jwt",
]
