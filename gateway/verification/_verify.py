"""The one verifier (ARCHITECTURE.md, "Verification pipeline"): every stage of every verification in vcgate.

Each stage adds checks and never raises on bad input: (1) parse (size, strict JSON, depth) → data model and schema
→ contexts and strict terms; (2) proof → issuer key binding; validity at ``effective_at``; (3) ledger evidence
against the anchor the policy pins; (4) binding of the native signer to the effective issuer; (5) replay of the
published mapping; (6) status lists and ledger revocation as of ``checked_at``; (7) the trust policy. Stages 3–7 run
over the injected :class:`~._ledger.LedgerStages` providers (in memory; a store is one provider). A credential
carrying ledger evidence is never ``verified`` without an anchor, a checker and a bound signer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from vcgate import canonical_schema
from vcgate.canonical_schema import (
    Check,
    CheckStatus,
    CheckSummary,
    Problem,
    VcgateError,
)

from ._canonical import CanonicalizationError, issuer_dependent_warnings, strict_term_problems, undefined_terms
from ._dids import DidResolver
from ._ledger import LedgerStageRunner, LedgerStages
from ._policy import Policy
from ._proofs import suite_of, verify_proof_set
from ._trust import TrustPolicy
from ._view import ParsedCredential

CredentialFormat = Literal["ldp", "jwt", "unknown"]

_log = logging.getLogger("vcgate.verify")


class CredentialVerificationError(VcgateError):
    """Raised by :meth:`Verifier.verify` when a credential is not verified; carries the full result."""

    def __init__(self, result: VerificationResult) -> None:
        first = next((c.problem for c in result.checks if c.problem and c.status in ("failed", "error")), None)
        reason = f"{first.code}: {first.detail or first.title}" if first else result.status
        super().__init__(f"credential {result.status}: {reason}")
        self.result = result


@dataclass(frozen=True)
class VerificationResult(CheckSummary):
    """Every check made on one credential; ``status`` is verified only when none failed or errored."""

    checks: tuple[Check, ...]
    format: CredentialFormat = "unknown"
    credential: Mapping[str, Any] | None = field(default=None, repr=False)
    issuer: str | None = None
    checked_at: datetime | None = None
    #: The registered party behind the credential (the native signer's party, or the issuer DID's), if any.
    effective_issuer: str | None = None
    effective_at: datetime | None = None
    #: The ``unsafe_*`` switches that weakened this verification (empty under the default policy).
    unsafe: tuple[str, ...] = ()
    #: The typed view of ``credential`` the stages read (parsed once by :meth:`Verifier.check_document`).
    view: ParsedCredential | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The result object: ``verified``, ``status``, ``checks``, ``problemDetails`` and the ``unsafe`` switches."""
        return {
            "verified": self.verified,
            "status": self.status,
            "format": self.format,
            "issuer": self.issuer,
            "effectiveIssuer": self.effective_issuer,
            "credentialId": (self.credential or {}).get("id") if isinstance(self.credential, Mapping) else None,
            "effectiveAt": _ts(self.effective_at) if self.effective_at else None,
            "checkedAt": _ts(self.checked_at) if self.checked_at else None,
            "unsafe": list(self.unsafe),
            "checks": [c.to_json() for c in self.checks],
            "problemDetails": [p.to_json() for p in self.problems],
            "warnings": [w.to_json() for w in self.warnings],
        }

    @property
    def warnings(self) -> list[Problem]:
        """Problems of checks that passed nevertheless (e.g. ``ISSUER_DEPENDENT_TERM`` under the default policy)."""
        return [c.problem for c in self.checks if c.problem is not None and c.status == "passed"]


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# Checks are frozen and a passed one carries no per-call data, so the happy path shares one instance of each.
_PARSE_PASSED = Check.passed("parse", "parse")
_DATA_MODEL_PASSED = Check.passed("data_model", "data_model")
_STRICT_TERMS_PASSED = Check.passed("strict_terms", "data_model")
_ISSUER_KEY_BINDING_PASSED = Check.passed("issuer_key_binding", "proof")


def _fail(name: str, stage: str, code: str, title: str, detail: str = "", pointer: str = "") -> Check:
    return Check.failed(name, Problem(code, title, detail, pointer), stage)


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # dict() builds the object in C; only when it came out shorter than the pairs is there a duplicate, and the
    # slow walk then names the first one (the same message as before).
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKeyError(f"duplicate key {k!r}")
            seen.add(k)
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _nesting_exceeds(raw: bytes, limit: int) -> bool:
    # Checked on the bytes BEFORE parsing: CPython's json decoder recurses in C, and a library that raises the
    # recursion limit (py-evm does, on import) turns hostile nesting into a segfault instead of a RecursionError.
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for m in _TOKENS.finditer(raw):
        tok = m.group()
        if tok in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif tok in (b"]", b"}"):
            depth -= 1
    return False


def parse_json_strictly(data: bytes | str, *, max_bytes: int, max_depth: int) -> tuple[Any, Check]:
    """Parse untrusted JSON: size limit first, then strict JSON (no duplicate keys, NaN or Infinity), then depth."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        return None, _fail(
            "parse", "parse", "INPUT_TOO_LARGE", "Input too large", f"{len(raw)} bytes > limit {max_bytes}"
        )
    if _nesting_exceeds(raw, max_depth):
        return None, _fail(
            "parse", "parse", "INPUT_TOO_DEEP", "Input nested too deeply", f"more than {max_depth} levels"
        )
    try:
        value = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except RecursionError:
        return None, _fail(
            "parse", "parse", "INPUT_TOO_DEEP", "Input nested too deeply", f"more than {max_depth} levels"
        )
    except (ValueError, UnicodeDecodeError) as exc:
        return None, _fail("parse", "parse", "MALFORMED_JSON", "Malformed JSON", str(exc))
    return value, _PARSE_PASSED


def _types(doc: Mapping[str, Any]) -> list[str]:
    t = doc.get("type")
    if isinstance(t, str):
        return [t]
    return [x for x in t if isinstance(x, str)] if isinstance(t, list) else []


def issuer_id(doc: Mapping[str, Any]) -> str | None:
    """The issuer's id (``issuer`` as a string, or ``issuer.id``)."""
    iss = doc.get("issuer")
    if isinstance(iss, str):
        return iss
    if isinstance(iss, dict) and isinstance(iss.get("id"), str):
        return str(iss["id"])
    return None


def check_validity(doc: Mapping[str, Any] | ParsedCredential, at: datetime, stage: str = "validity") -> list[Check]:
    """``validFrom``/``validUntil`` (VC 2.0 §4.9) or ``issuanceDate``/``expirationDate`` (VC 1.1) at ``at``."""
    view = doc if isinstance(doc, ParsedCredential) else ParsedCredential.parse(doc)
    return [
        _window_check(view, "valid_from", view.valid_from_key, view.valid_from, view.valid_from_raw, at, stage),
        _window_check(view, "valid_until", view.valid_until_key, view.valid_until, view.valid_until_raw, at, stage),
    ]


def _window_check(
    view: ParsedCredential, name: str, key: str, when: datetime | None, raw: Any, at: datetime, stage: str
) -> Check:
    malformed = view.problem(f"/{key}")
    if malformed is not None:
        return Check.failed(name, malformed, stage)
    if when is None:
        return Check.not_applicable(name, stage)
    if name == "valid_from" and at < when:
        return _fail(name, stage, "NOT_YET_VALID", "Not yet valid", f"{key} {raw} is after {_ts(at)}", f"/{key}")
    if name == "valid_until" and at >= when:
        return _fail(name, stage, "EXPIRED", "Credential expired", f"{key} {raw} is not after {_ts(at)}", f"/{key}")
    return Check.passed(name, stage)


StatusChecker = Callable[[Mapping[str, Any], datetime, "Verifier"], list[Check]]


class Verifier:
    """The one verifier: :meth:`check` runs all seven stages; :meth:`verify` raises unless verified.

    ``resolver`` resolves DIDs (inject an offline one to guarantee no network); ``status_checker`` checks
    ``credentialStatus`` entries (see :mod:`vcgate.gateway` status lists); ``loader`` serves JSON-LD contexts (only
    pinned ones by default); ``ledger`` holds the providers of stages 3–7 (evidence checkers by ledger kind, party
    registry, published mappings, ledger revocations and observations). Without ``ledger`` the stages still run with
    the policy's trust section and no providers, so a credential carrying ledger evidence is ``error``, never
    ``verified``.
    """

    def __init__(
        self,
        policy: Policy,
        resolver: DidResolver,
        *,
        status_checker: StatusChecker | None = None,
        loader: Callable[..., Any] | None = None,
        ledger: LedgerStageRunner | None = None,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.status_checker = status_checker
        self.loader = loader
        self.ledger: LedgerStageRunner = ledger if ledger is not None else LedgerStages(TrustPolicy.from_policy(policy))
        for switch in policy.unsafe:
            _log.warning("unsafe: policy %r turns on %s; every result lists it", policy.name, switch)

    def with_ledger(self, ledger: LedgerStageRunner) -> Verifier:
        """This verifier with other stage 3–7 providers (same policy, resolver, status checker and loader)."""
        return Verifier(
            self.policy, self.resolver, status_checker=self.status_checker, loader=self.loader, ledger=ledger
        )

    def verify(
        self,
        data: bytes | str | Mapping[str, Any],
        *,
        effective_at: datetime | None = None,
        checked_at: datetime | None = None,
        at: datetime | None = None,
    ) -> VerificationResult:
        """Like :meth:`check`, but raise :class:`CredentialVerificationError` unless verified."""
        result = self.check(data, effective_at=effective_at, checked_at=checked_at, at=at)
        if not result.verified:
            raise CredentialVerificationError(result)
        return result

    def check(
        self,
        data: bytes | str | Mapping[str, Any],
        *,
        effective_at: datetime | None = None,
        checked_at: datetime | None = None,
        at: datetime | None = None,
    ) -> VerificationResult:
        """Run every stage on ``data`` (JSON-LD bytes/text/object, or a compact ``vc+jwt``). Never raises on bad
        input.

        ``effective_at`` is the instant validity windows are judged at (e.g. an entry date); ``checked_at`` the
        instant of status, revocation and evidence checks. ``at`` sets both (and is the default of each).
        """
        checked = checked_at or at or effective_at
        if checked is None:
            raise ValueError("give checked_at (and effective_at), or at")
        effective = effective_at or at or checked
        if checked.tzinfo is None or effective.tzinfo is None:
            raise ValueError("the instants must be timezone-aware")
        base = self._check_base(data, effective, checked)
        doc = base.credential
        if not isinstance(doc, Mapping) or any(c.stage == "parse" and c.status != "passed" for c in base.checks):
            return replace(base, effective_at=effective, unsafe=self.policy.unsafe)
        # The view stages 1-2 parsed is reused; a JWT's payload or an early return may not have one yet.
        view = base.view if base.view is not None and base.view.raw is doc else ParsedCredential.parse(doc)
        party, ledger_checks = self.ledger.run(view, base.issuer, checked_at=checked)
        checks = base.checks + tuple(ledger_checks)
        return replace(base, checks=checks, effective_issuer=party, effective_at=effective, unsafe=self.policy.unsafe)

    def _check_base(self, data: bytes | str | Mapping[str, Any], at: datetime, checked: datetime) -> VerificationResult:
        if isinstance(data, (bytes, str)):
            text = data.strip()
            if len(text) > self.policy.max_credential_bytes:
                size_check = _fail(
                    "parse",
                    "parse",
                    "INPUT_TOO_LARGE",
                    "Input too large",
                    f"{len(text)} bytes > limit {self.policy.max_credential_bytes}",
                )
                return VerificationResult((size_check,), checked_at=checked)
            # "ey" and "." are ASCII, and UTF-8 (even after "replace" decoding) never makes or hides an ASCII byte,
            # so the bytes can be tested without decoding the whole input first.
            if isinstance(text, bytes):
                is_jwt = text.startswith(b"ey") and text.count(b".") == 2
            else:
                is_jwt = text.startswith("ey") and text.count(".") == 2
            if is_jwt:
                from ._jose import check_vc_jwt

                compact = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
                return replace(check_vc_jwt(compact, self, at=at), checked_at=checked)
            doc, parse_check = parse_json_strictly(
                text, max_bytes=self.policy.max_credential_bytes, max_depth=self.policy.max_json_depth
            )
            if doc is None:
                return VerificationResult((parse_check,), checked_at=checked)
        else:
            doc, parse_check = dict(data), _PARSE_PASSED
            if doc.get("type") in ("EnvelopedVerifiableCredential", ["EnvelopedVerifiableCredential"]):
                from ._jose import check_vc_jwt, enveloped_token

                token = enveloped_token(doc)
                if isinstance(token, Check):
                    return VerificationResult((parse_check, token), "jwt", doc, None, at)
                return check_vc_jwt(token, self, at=at)
        checks: list[Check] = [parse_check]
        if not isinstance(doc, dict):
            checks.append(
                _fail(
                    "data_model",
                    "data_model",
                    "CREDENTIAL_NOT_OBJECT",
                    "Not a credential",
                    "a credential is a JSON object",
                )
            )
            return VerificationResult(tuple(checks), checked_at=checked)
        return self.check_document(doc, at=at, checks=checks, checked_at=checked)

    def check_document(
        self,
        doc: Mapping[str, Any],
        *,
        at: datetime,
        checks: list[Check] | None = None,
        proof_required: bool = True,
        checked_at: datetime | None = None,
    ) -> VerificationResult:
        """Stages 1–2, validity at ``at`` and status at ``checked_at`` (default ``at``) for an already-parsed JSON-LD
        credential; :meth:`check` adds stages 3–7."""
        status_at = checked_at or at
        checks = list(checks or [])
        view = ParsedCredential.parse(doc)
        issuer, types = view.issuer, list(view.types)

        # Stage 1: data model and schema (canonical_schema.validate has the VC rules and per-type schemas).
        problems = (
            canonical_schema.validate(doc) if self.policy.check_schema and hasattr(canonical_schema, "validate") else []
        )
        if problems:
            checks.extend(Check.failed("data_model", p, "data_model") for p in problems)
        else:
            checks.append(_DATA_MODEL_PASSED)

        # Stage 1b: contexts pinned and every term defined (strict mode).
        proof = doc.get("proof")
        proofs = proof if isinstance(proof, list) else [proof] if isinstance(proof, dict) else []
        all_suites = [suite_of(p) if isinstance(p, dict) else None for p in proofs]
        suite = next((s for s in all_suites if s is not None and s.canonicalization == "rdfc"), None) or (
            all_suites[0] if all_suites else None
        )
        terms: tuple[str, ...] | None = None
        if suite is None or suite.canonicalization == "jcs":
            try:
                terms = undefined_terms(doc, self.loader)
            except CanonicalizationError as exc:
                ptr = "/@context" if exc.code == "CONTEXT_NOT_ALLOWED" else ""
                checks.append(_fail("contexts", "data_model", exc.code, "Cannot process contexts", str(exc), ptr))
                return VerificationResult(tuple(checks), "ldp", doc, issuer, at, view=view)

        # Stage 2: proof (every proof of a proof set or chain; the policy applies to each).
        for i, s in enumerate(all_suites):
            if s is not None and s.name not in self.policy.accepted_suites:
                checks.append(
                    _fail(
                        "proof",
                        "proof",
                        "CRYPTOSUITE_NOT_ACCEPTED",
                        "Cryptosuite not accepted",
                        f"policy {self.policy.name!r} does not accept {s.name}",
                        "/proof" if isinstance(proof, dict) else f"/proof/{i}",
                    )
                )
                return VerificationResult(tuple(checks), "ldp", doc, issuer, at, view=view)
        if proof is None and not proof_required:
            pv = None
        else:
            pv = verify_proof_set(doc, self.resolver, at=at, loader=self.loader)
            checks.extend(pv.checks)
            if terms is None:
                terms = pv.undefined_terms
            if any(c.name == "canonicalization" and c.status == "failed" for c in pv.checks):
                terms = ()
        allowed = self.policy.allowed_terms_for(types)
        strict = self.policy.strict_vocabulary
        bad_terms = strict_term_problems(terms or (), allowed, strict_vocabulary=strict)
        if bad_terms:
            checks.extend(Check.failed("strict_terms", p, "data_model") for p in bad_terms)
        elif terms is not None:
            warnings = [] if strict else issuer_dependent_warnings(terms, allowed)
            # A passed check that carries a problem is a warning (VerificationResult.warnings).
            checks.extend(Check("strict_terms", CheckStatus.PASSED, (w,), stage="data_model") for w in warnings)
            if not warnings:
                checks.append(_STRICT_TERMS_PASSED)

        # Stage 2b: the issuer controls the key that made the proof (in a proof set: one of the proofs; the
        # others may be co-signers such as a witness or notary).
        controllers = pv.controllers if pv is not None and all(p.controller for p in pv.proofs) else ()
        if controllers:
            if not self.policy.require_issuer_key_binding:
                checks.append(Check.not_applicable("issuer_key_binding", "proof"))
            elif issuer is not None and issuer in controllers:
                checks.append(_ISSUER_KEY_BINDING_PASSED)
            else:
                checks.append(
                    _fail(
                        "issuer_key_binding",
                        "proof",
                        "ISSUER_KEY_MISMATCH",
                        "Issuer does not control the signing key",
                        f"the proof's key is controlled by {' and '.join(repr(c) for c in controllers)}, "
                        f"the issuer is {issuer!r}",
                        "/issuer",
                    )
                )

        # Stage 6: validity and status at `at`.
        checks.extend(check_validity(view, at))
        if view.has_status:
            if not self.policy.check_status:
                checks.append(Check.not_applicable("status", "status"))
            elif self.status_checker is None:
                checks.append(
                    Check.errored(
                        "status",
                        Problem(
                            "STATUS_UNCHECKED",
                            "Status not checked",
                            "no status resolver was configured",
                            "/credentialStatus",
                        ),
                        "status",
                    )
                )
            else:
                checks.extend(self.status_checker(doc, status_at, self))
        return VerificationResult(tuple(checks), "ldp", doc, issuer, status_at, view=view)
