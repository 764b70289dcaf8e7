"""Verifying a presentation: its Data Integrity proof for ``authentication`` bound to a domain and challenge, the
holder's control of the key, and every embedded credential (VC 2.0 §4.13, VC-DI §2.1 ``domain``/``challenge``).

Pure over its inputs: DID resolution and status fetching happen only through the injected verifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vcgate.canonical_schema import (
    CREDENTIALS_V1_URL,
    CREDENTIALS_V2_URL,
    Check,
    CheckSummary,
    Problem,
    json_pointer,
)

from ..verification._canonical import CanonicalizationError, strict_term_problems, undefined_terms
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


def check_presentation(
    vp: Mapping[str, Any],
    verifier: Verifier,
    *,
    at: datetime,
    domain: str | None,
    challenge: str | None,
) -> PresentationResult:
    """Verify ``vp`` at ``at``; ``domain``/``challenge`` (when given) must equal the proof's. Never raises."""
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
    checks.extend(Check(f"presentation_{c.name}", c.status, STAGE, c.problem) for c in pv.checks)
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
    return PresentationResult(tuple(checks), holder, tuple(results), vp)


__all__ = ["PresentationResult", "check_presentation"]
