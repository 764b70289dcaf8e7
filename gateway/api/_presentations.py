"""Verifying a presentation: its Data Integrity proof for ``authentication`` bound to a domain and challenge, the
holder's control of the key, and every embedded credential (VC 2.0 §4.13, VC-DI §2.1 ``domain``/``challenge``).

Pure over its inputs: DID resolution and status fetching happen only through the injected verifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from vcgate.canonical_schema import (
    CREDENTIALS_V1_URL,
    CREDENTIALS_V2_URL,
    Check,
    CheckSummary,
    Problem,
    b64url_decode,
    json_pointer,
)

from ..verification._canonical import CanonicalizationError, strict_term_problems, undefined_terms
from ..verification._dids import DidResolutionError, VerificationRelationshipError
from ..verification._jose import (
    ALGORITHMS,
    JWT_REGISTERED_CLAIMS,
    enveloped_token,
    is_compact_jws,
    jwt_time_checks,
    parse_compact_jws,
    resolve_kid,
)
from ..verification._keys import verify_signature
from ..verification._proofs import suite_of, verify_proof
from ..verification._verify import VerificationResult, Verifier

STAGE = "presentation"


@dataclass(frozen=True)
class PresentationResult(CheckSummary):
    """The presentation's own checks and one verification result per embedded credential."""

    checks: tuple[Check, ...]
    holder: str | None
    credentials: tuple[VerificationResult, ...]
    presentation: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """``verified``, ``status``, ``holder``, ``checks``, ``problemDetails`` and ``credentialResults``."""
        return {
            "verified": self.verified,
            "status": self.status,
            "holder": self.holder,
            "checks": [c.to_json() for c in self.checks],
            "problemDetails": [p.to_json() for p in self.problems],
            "credentialResults": [r.to_json() for r in self.credentials],
        }


def _fail(name: str, code: str, title: str, detail: str, pointer: str = "") -> Check:
    return Check.failed(name, Problem(code, title, detail, pointer), STAGE)


def _types(doc: Mapping[str, Any]) -> list[str]:
    value = doc.get("type")
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _holder(doc: Mapping[str, Any]) -> str | None:
    holder = doc.get("holder")
    if isinstance(holder, str):
        return holder
    if isinstance(holder, dict) and isinstance(holder.get("id"), str):
        return str(holder["id"])
    return None


def _check_credentials(
    vp: Mapping[str, Any], verifier: Verifier, at: datetime, checks: list[Check]
) -> list[VerificationResult]:
    """Verify every embedded credential through the one verifier; a ``credential`` check each into ``checks``."""
    raw = vp.get("verifiableCredential")
    items: list[Any] = [] if raw is None else raw if isinstance(raw, list) else [raw]
    results: list[VerificationResult] = []
    for i, item in enumerate(items):
        pointer = json_pointer("verifiableCredential", i) if isinstance(raw, list) else "/verifiableCredential"
        if not isinstance(item, (dict, str)):
            checks.append(
                _fail(
                    "credential", "CREDENTIAL_MALFORMED", "Not a credential", "expected an object or a vc+jwt", pointer
                )
            )
            continue
        result = verifier.check(item, at=at)
        results.append(result)
        if result.status == "verified":
            checks.append(Check.passed("credential", STAGE))
        else:
            first_problem = result.problems[0] if result.problems else None
            detail = f"{first_problem.code}: {first_problem.detail}" if first_problem else result.status
            problem = Problem(
                "CREDENTIAL_INVALID" if result.status == "invalid" else "CREDENTIAL_UNDECIDED",
                "Embedded credential not verified",
                detail,
                pointer,
            )
            checks.append(
                Check.failed("credential", problem, STAGE)
                if result.status == "invalid"
                else Check.errored("credential", problem, STAGE)
            )
    return results


def check_presentation(
    vp: Mapping[str, Any] | str,
    verifier: Verifier,
    *,
    at: datetime,
    domain: str | None,
    challenge: str | None,
) -> PresentationResult:
    """Verify ``vp`` at ``at``; ``domain``/``challenge`` (when given) must equal the proof's. Never raises.

    ``vp`` is a JSON-LD presentation with a Data Integrity proof, an ``EnvelopedVerifiablePresentation``
    (VC 2.0 §4.13.1) or a compact ``vp+jwt`` (both verified by :func:`check_vp_jwt`).
    """
    if isinstance(vp, str):
        if is_compact_jws(vp):
            return check_vp_jwt(vp, verifier, at=at, domain=domain, challenge=challenge)
        detail = "a presentation is a JSON object or a compact vp+jwt"
        return PresentationResult(
            (_fail("presentation_parse", "JWS_MALFORMED", "Malformed JWS", detail),), None, (), {}
        )
    if "EnvelopedVerifiablePresentation" in _types(vp):
        token = enveloped_token(vp, presentation=True)
        if isinstance(token, Check):
            return PresentationResult((replace(token, stage=STAGE),), None, (), vp)
        return check_vp_jwt(token, verifier, at=at, domain=domain, challenge=challenge)
    holder = _holder(vp)
    checks: list[Check] = []
    ctx = vp.get("@context")
    first = ctx[0] if isinstance(ctx, list) and ctx else ctx
    if first not in (CREDENTIALS_V2_URL, CREDENTIALS_V1_URL) or "VerifiablePresentation" not in _types(vp):
        checks.append(
            _fail(
                "presentation_data_model",
                "PRESENTATION_MALFORMED",
                "Not a verifiable presentation",
                "a presentation needs the credentials @context first and type VerifiablePresentation",
            )
        )
        return PresentationResult(tuple(checks), holder, (), vp)
    checks.append(Check.passed("presentation_data_model", STAGE))

    proof = vp.get("proof")
    if not isinstance(proof, dict):
        checks.append(
            _fail("presentation_proof", "PROOF_MISSING", "No proof", "the presentation has no single proof", "/proof")
        )
        return PresentationResult(tuple(checks), holder, (), vp)
    suite = suite_of(proof)
    if suite is not None and suite.name not in verifier.policy.accepted_suites:
        checks.append(
            _fail(
                "presentation_proof",
                "CRYPTOSUITE_NOT_ACCEPTED",
                "Cryptosuite not accepted",
                f"policy {verifier.policy.name!r} does not accept {suite.name}",
                "/proof",
            )
        )
        return PresentationResult(tuple(checks), holder, (), vp)

    # VC-DI §2.1 / §4.3 step: the verifier's expected domain and challenge must match the proof's exactly.
    for name, expected, code in (("challenge", challenge, "CHALLENGE_MISMATCH"), ("domain", domain, "DOMAIN_MISMATCH")):
        if expected is None:
            checks.append(Check.not_applicable(f"presentation_{name}", STAGE))
        elif proof.get(name) != expected:
            checks.append(
                _fail(
                    f"presentation_{name}",
                    code,
                    f"Wrong {name}",
                    f"the proof's {name} is {proof.get(name)!r}, expected {expected!r}",
                    f"/proof/{name}",
                )
            )
        else:
            checks.append(Check.passed(f"presentation_{name}", STAGE))

    pv = verify_proof(vp, verifier.resolver, at=at, expected_purpose="authentication", loader=verifier.loader)
    checks.extend(replace(c, name=f"presentation_{c.name}", stage=STAGE) for c in pv.checks)
    if pv.controller is None:
        return PresentationResult(tuple(checks), holder, (), vp)

    # Strict terms over the presentation (embedded credentials are checked again on their own below).
    terms: tuple[str, ...] = pv.undefined_terms
    if suite is not None and suite.canonicalization == "jcs":
        try:
            terms = undefined_terms(vp, verifier.loader)
        except CanonicalizationError as exc:
            checks.append(_fail("presentation_strict_terms", exc.code, "Cannot process contexts", str(exc)))
            return PresentationResult(tuple(checks), holder, (), vp)
    bad = strict_term_problems(terms, verifier.policy.allowed_terms_for(_types(vp)))
    checks.extend(Check.failed("presentation_strict_terms", p, STAGE) for p in bad)
    if not bad:
        checks.append(Check.passed("presentation_strict_terms", STAGE))

    # The holder (when named) must control the key that signed the presentation.
    if holder is None:
        checks.append(Check.not_applicable("holder_binding", STAGE))
    elif pv.controller == holder:
        checks.append(Check.passed("holder_binding", STAGE))
    else:
        checks.append(
            _fail(
                "holder_binding",
                "HOLDER_KEY_MISMATCH",
                "Holder does not control the signing key",
                f"the proof's key is controlled by {pv.controller!r}, the holder is {holder!r}",
                "/holder",
            )
        )

    results = _check_credentials(vp, verifier, at, checks)
    return PresentationResult(tuple(checks), holder, tuple(results), vp)


#: VC-JOSE-COSE §3.2.1: ``typ`` of a JWS-secured presentation, and ``cty`` when present.
VP_JWT_TYPES = frozenset({"vp+jwt", "application/vp+jwt"})
VP_CONTENT_TYPES = frozenset({"vp", "application/vp"})
#: JWT claims set aside before the presentation's JSON-LD checks: registered ones and the challenge's ``nonce``.
_VP_JWT_CLAIMS = JWT_REGISTERED_CLAIMS | {"nonce"}


def _audiences(payload: Mapping[str, Any]) -> list[Any]:
    aud = payload.get("aud")
    return [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []


def _jws_header_checks(header: Mapping[str, Any], verifier: Verifier) -> Check | None:
    """The protected header of a vp+jwt: media type, no unprocessed extensions, an accepted algorithm."""
    typ, cty = header.get("typ"), header.get("cty")
    if typ not in VP_JWT_TYPES or ("cty" in header and cty not in VP_CONTENT_TYPES):
        detail = f"typ {typ!r} / cty {cty!r}: a JWS-secured presentation has typ 'vp+jwt' (and cty 'vp' if any)"
        return _fail("presentation_media_type", "MEDIA_TYPE_INVALID", "Not a vp+jwt", detail)
    if "crit" in header or "b64" in header:  # RFC 7515 §4.1.11: extensions vcgate does not process
        detail = "the protected header uses crit/b64, which vcgate does not process"
        return _fail("presentation_jose_header", "JWS_CRIT_UNSUPPORTED", "Unsupported JWS extension", detail)
    alg = header.get("alg")
    accepted = verifier.policy.accepted_jwt_algorithms
    if not isinstance(alg, str) or alg not in accepted or alg not in ALGORITHMS:
        detail = f"alg {alg!r}; policy {verifier.policy.name!r} accepts " + ", ".join(sorted(accepted))
        return _fail("presentation_algorithm", "JWT_ALG_NOT_ACCEPTED", "Signature algorithm not accepted", detail)
    return None


def _vp_claim_checks(
    payload: Mapping[str, Any], holder: str | None, domain: str | None, challenge: str | None
) -> list[Check]:
    """The Claims Set: no VC 1.1 ``vp``/``vc`` claim, ``iss`` (if any) = holder, a VC 2.0 presentation, and the
    verifier's challenge / domain as the ``nonce`` / ``aud`` claims."""
    forbidden = sorted(k for k in ("vc", "vp") if k in payload)
    if forbidden:
        detail = f"{', '.join(forbidden)}: the VC 1.1 JWT encoding is not accepted; the payload is the presentation"
        pointer = f"/{forbidden[0]}"
        return [_fail("presentation_jwt_claims", "JWT_CLAIM_FORBIDDEN", "Forbidden JWT claim", detail, pointer)]
    if "iss" in payload and payload["iss"] != holder:
        detail = f"iss {payload['iss']!r}, holder {holder!r}"
        return [
            _fail("presentation_jwt_claims", "HOLDER_KEY_MISMATCH", "iss does not match the holder", detail, "/iss")
        ]
    ctx = payload.get("@context")
    first = ctx[0] if isinstance(ctx, list) and ctx else ctx
    if first != CREDENTIALS_V2_URL or "VerifiablePresentation" not in _types(payload):
        detail = "a vp+jwt payload is a VC 2.0 presentation: the v2 @context first and type VerifiablePresentation"
        return [_fail("presentation_data_model", "PRESENTATION_MALFORMED", "Not a verifiable presentation", detail)]
    checks = [Check.passed("presentation_jwt_claims", STAGE), Check.passed("presentation_data_model", STAGE)]
    for name, claim, expected, code in (
        ("challenge", "nonce", challenge, "CHALLENGE_MISMATCH"),
        ("domain", "aud", domain, "DOMAIN_MISMATCH"),
    ):
        got = payload.get(claim)
        if expected is None:
            checks.append(Check.not_applicable(f"presentation_{name}", STAGE))
        elif (got == expected) if claim == "nonce" else (expected in _audiences(payload)):
            checks.append(Check.passed(f"presentation_{name}", STAGE))
        else:
            detail = f"the {claim} claim is {got!r}, expected {expected!r}"
            checks.append(_fail(f"presentation_{name}", code, f"Wrong {name}", detail, f"/{claim}"))
    return checks


def _vp_key_check(
    parts: list[str], header: Mapping[str, Any], holder: str | None, verifier: Verifier
) -> tuple[Check, str | None]:
    """``kid`` → a verification method listed under ``authentication`` (relative to the holder), the signature,
    and the key's controller."""
    kid, alg = header.get("kid"), str(header.get("alg"))
    if not isinstance(kid, str) or not kid:
        return _fail("presentation_verification_method", "KID_MISSING", "No key id", "the header needs a kid"), None
    try:
        vm = resolve_kid(kid, holder, verifier.resolver, "authentication")
    except VerificationRelationshipError as exc:
        title = "Key not authorised for this purpose"
        return _fail("presentation_verification_method", "VERIFICATION_METHOD_NOT_AUTHORIZED", title, str(exc)), None
    except DidResolutionError as exc:
        problem = Problem(
            "DID_UNRESOLVABLE" if exc.transient else "VERIFICATION_METHOD_INVALID",
            "Verification method not resolvable",
            str(exc),
        )
        maker = Check.errored if exc.transient else Check.failed
        return maker("presentation_verification_method", problem, STAGE), None
    if vm.public_key.key_type not in ALGORITHMS[alg]:
        detail = f"{alg} needs {'/'.join(ALGORITHMS[alg])}, the key is {vm.public_key.key_type}"
        return _fail("presentation_verification_method", "KEY_TYPE_MISMATCH", "Wrong key type", detail), None
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    if not verify_signature(vm.public_key, signing_input, b64url_decode(parts[2])):
        detail = f"the {alg} signature does not match the header, payload and key {vm.id}"
        return _fail("presentation_signature", "SIGNATURE_INVALID", "Signature does not verify", detail), None
    return Check.passed("presentation_signature", STAGE), vm.controller or vm.id.split("#", 1)[0]


def check_vp_jwt(
    token: str, verifier: Verifier, *, at: datetime, domain: str | None, challenge: str | None
) -> PresentationResult:
    """Verify a compact ``vp+jwt`` (VC-JOSE-COSE §3.2.1) at ``at``: the JWS with the holder's key, the claims
    (``nonce`` = ``challenge``, ``aud`` ∋ ``domain`` when given), the holder binding, strict terms, ``exp``/``nbf``,
    then every embedded credential through ``verifier``. Never raises on bad input."""
    policy = verifier.policy
    parsed = parse_compact_jws(token, max_bytes=policy.max_credential_bytes, max_depth=policy.max_json_depth)
    if isinstance(parsed, Check):
        return PresentationResult((replace(parsed, stage=STAGE),), None, (), {})
    parts, header, payload = parsed
    holder = _holder(payload)
    checks: list[Check] = [Check.passed("presentation_parse", STAGE)]

    def done() -> PresentationResult:
        return PresentationResult(tuple(checks), holder, (), payload)

    bad_header = _jws_header_checks(header, verifier)
    if bad_header is not None:
        checks.append(bad_header)
        return done()
    claim_checks = _vp_claim_checks(payload, holder, domain, challenge)
    checks.extend(claim_checks)
    if any(c.status != "passed" and c.status != "not_applicable" for c in claim_checks[:2]):
        return done()
    key_check, controller = _vp_key_check(parts, header, holder, verifier)
    checks.append(key_check)
    if controller is None:
        return done()
    if holder is None:
        checks.append(Check.not_applicable("holder_binding", STAGE))
    elif controller == holder:
        checks.append(Check.passed("holder_binding", STAGE))
    else:
        detail = f"the signing key is controlled by {controller!r}, the holder is {holder!r}"
        title = "Holder does not control the signing key"
        checks.append(_fail("holder_binding", "HOLDER_KEY_MISMATCH", title, detail, "/holder"))
    vp = {k: v for k, v in payload.items() if k not in _VP_JWT_CLAIMS}
    try:
        bad = strict_term_problems(undefined_terms(vp, verifier.loader), policy.allowed_terms_for(_types(vp)))
    except CanonicalizationError as exc:
        checks.append(_fail("presentation_strict_terms", exc.code, "Cannot process contexts", str(exc)))
        return done()
    checks.extend(Check.failed("presentation_strict_terms", p, STAGE) for p in bad)
    if not bad:
        checks.append(Check.passed("presentation_strict_terms", STAGE))
    checks.extend(replace(c, name=f"presentation_{c.name}", stage=STAGE) for c in jwt_time_checks(payload, at))
    results = _check_credentials(vp, verifier, at, checks)
    return PresentationResult(tuple(checks), holder, tuple(results), payload)


__all__ = ["PresentationResult", "check_presentation", "check_vp_jwt"]
