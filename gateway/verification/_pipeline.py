"""The full per-credential pipeline (ARCHITECTURE.md, "Verification pipeline"), on top of :class:`Verifier`.

Stages: (1) parse, data model, strict terms and (2) the proof, by :class:`Verifier`; (3) every ``LedgerEvidence``
against the anchor the trust policy pins for its ledger, through the adapter's :class:`EvidenceChecker`; (4) the
native signer bound to a registered party (the *effective issuer*) at the evidence's ledger time, which in partner
mode must be the issuer DID's party and in witness mode needs an accepted witness; (5) replay of the published
mapping (:func:`check_replay`); (6) status lists and ledger-native revocation as of ``checked_at``, with the
policy's freshness bounds; (7) the trust policy's issuer permissions and required evidence kinds.

Validity windows are not judged here: linking judges them at the entry date (``effective_at``), so a result only
depends on (credential, policy, ``checked_at``, the registry state) and can be cached under those. Never raises on
bad input; the checkers and clients are injected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vcgate.adapters.sdk import CredentialMapping, EvidenceChecker
from vcgate.canonical_schema import Check, OverallStatus, Problem, canonical_json, overall_status

from .._links import CredentialView, EvidenceRef
from .._parties import PartyRegistry
from ._ledger import (
    ADAPTER_MISSING,
    EVIDENCE_UNANCHORED,
    LEDGER_REVOKED,
    LEDGER_STALE,
    LEDGER_UNREACHABLE,
    MAPPING_UNAVAILABLE,
    LedgerObservation,
    LedgerRevocation,
    LedgerStages,
)
from ._trust import TrustPolicy
from ._verify import Verifier
from ._view import ParsedCredential

__all__ = ["CredentialPipeline", "LedgerObservation", "LedgerRevocation", "PipelineResult", "credential_digest"]

_REVOKED = frozenset({"STATUS_REVOKED", LEDGER_REVOKED})


def credential_digest(doc: Mapping[str, Any]) -> str:
    """``sha256:`` hex of the RFC 8785 form of the whole credential (proof included)."""
    # canonical_json: RFC 8785 through the C JSON encoder when the document allows it (sync computes one per record).
    return "sha256:" + hashlib.sha256(canonical_json(dict(doc))).hexdigest()


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC) if t.tzinfo else None


@dataclass(frozen=True)
class PipelineResult:
    """Every check made on one credential by the full pipeline, plus what linking needs."""

    credential_id: str
    digest: str
    checks: tuple[Check, ...]
    issuer: str | None
    effective_issuer: str | None
    evidence: tuple[EvidenceRef, ...] = ()
    checked_at: datetime | None = None

    @property
    def status(self) -> OverallStatus:
        """``verified``, ``invalid`` or ``error`` over all checks."""
        return overall_status(self.checks)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Problems of the failed and errored checks."""
        return tuple(p for c in self.checks if c.status in ("failed", "error") for p in c.problems)

    @property
    def evidence_status(self) -> str:
        """``none`` (no ledger evidence), else the overall status of the evidence stage."""
        ev = [c for c in self.checks if c.stage == "evidence"]
        if not ev or all(c.status == "not_applicable" for c in ev):
            return "none"
        return overall_status(ev)

    def failure(self) -> tuple[str | None, str]:
        """The link reason code (and detail) for a credential that is not verified; ``(None, "")`` when it is."""
        status = self.status
        if status == "verified":
            return None, ""
        if status == "invalid":
            failed = [c for c in self.checks if c.status == "failed" and c.problem is not None]
            # Precedence: a forged proof or tampered evidence says more than a revocation or a permission.
            for stages, code in (
                (("proof",), "PROOF_INVALID"),
                (("evidence", "replay"), "EVIDENCE_INVALID"),
                (("binding",), "ISSUER_NOT_BOUND"),
            ):
                hit = next((c for c in failed if c.stage in stages), None)
                if hit is not None and hit.problem is not None:
                    return code, f"{hit.problem.code}: {hit.problem.detail}"
            hit = next((c for c in failed if c.problem is not None and c.problem.code in _REVOKED), None)
            if hit is not None and hit.problem is not None:
                return "CREDENTIAL_REVOKED", f"{hit.problem.code}: {hit.problem.detail}"
            hit = next((c for c in failed if c.stage == "trust"), None)
            if hit is not None and hit.problem is not None:
                return hit.problem.code, hit.problem.detail
            first = failed[0].problem if failed else None
            return "CREDENTIAL_INVALID", f"{first.code}: {first.detail}" if first else ""
        errored = [c for c in self.checks if c.status == "error" and c.problem is not None]
        first_error = errored[0] if errored else None
        if first_error is None or first_error.problem is None:
            return "CREDENTIAL_UNDECIDED", "nothing could be checked"
        code = first_error.problem.code
        detail = f"{code}: {first_error.problem.detail}"
        if code in (ADAPTER_MISSING, EVIDENCE_UNANCHORED, MAPPING_UNAVAILABLE, LEDGER_STALE, LEDGER_UNREACHABLE):
            return code, detail
        if first_error.stage == "evidence":
            return "EVIDENCE_UNDECIDED", detail
        if first_error.stage == "status":
            return "STATUS_UNDECIDED", detail
        return "CREDENTIAL_UNDECIDED", detail

    def view(self, document: Mapping[str, Any]) -> CredentialView:
        """The linking view of ``document`` under this result."""
        code, detail = self.failure()
        types = document.get("type")
        type_list = (types,) if isinstance(types, str) else tuple(t for t in types or () if isinstance(t, str))
        return CredentialView(
            id=self.credential_id,
            types=type_list,
            issuer=self.issuer,
            effective_issuer=self.effective_issuer,
            status=self.status,
            document=document,
            evidence=self.evidence,
            failure=code,
            failure_detail=detail,
            problems=tuple(p.code for p in self.problems),
            revoked=any(p.code in _REVOKED for p in self.problems),
            evidence_status=self.evidence_status,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form (what the result cache stores)."""
        return {
            "credentialId": self.credential_id,
            "digest": self.digest,
            "status": self.status,
            "issuer": self.issuer,
            "effectiveIssuer": self.effective_issuer,
            "checkedAt": _ts(self.checked_at) if self.checked_at else None,
            "evidence": [e.to_json() for e in self.evidence],
            "checks": [c.to_json() for c in self.checks],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> PipelineResult:
        """Rebuild a cached result."""
        # Cached results from before ADR 0010 carry one ``problem`` per check; Check.from_json reads both forms.
        checks = [Check.from_json(c) for c in value["checks"]]
        evidence = tuple(
            EvidenceRef(
                e["ledgerId"],
                e["locator"],
                e["ledgerHeight"],
                _parse_ts(e["ledgerTime"]) or datetime.min,
                e["ledgerKind"],
            )
            for e in value.get("evidence", [])
        )
        return cls(
            credential_id=value["credentialId"],
            digest=value["digest"],
            checks=tuple(checks),
            issuer=value.get("issuer"),
            effective_issuer=value.get("effectiveIssuer"),
            evidence=evidence,
            checked_at=_parse_ts(value.get("checkedAt")),
        )


@dataclass
class CredentialPipeline:
    """The one verifier wired for linking: :class:`Verifier` with ledger stages over these providers, its validity
    checks left to linking (judged at each entry date). Inputs are injected; :meth:`check` is pure given them.

    ``checkers`` maps a ledger kind to its adapter's evidence checker; ``mappings`` maps (mapping id, digest) to the
    published mapping; ``revocations`` gives a credential's ledger revocation; ``observations`` the last reads of each
    ledger; ``raw_records`` the raw record of digest-only evidence, by (ledger id, locator).
    """

    verifier: Verifier
    trust: TrustPolicy
    parties: PartyRegistry
    checkers: Mapping[str, EvidenceChecker] = field(default_factory=dict)
    mappings: Mapping[tuple[str, str], CredentialMapping] = field(default_factory=dict)
    revocations: Callable[[str], LedgerRevocation | None] = lambda _id: None
    observations: Mapping[str, LedgerObservation] = field(default_factory=dict)
    raw_records: Callable[[str, str], bytes | Mapping[str, Any] | None] = lambda _l, _loc: None

    def __post_init__(self) -> None:
        stages = LedgerStages(
            self.trust,
            self.parties,
            self.checkers,
            self.mappings,
            self.revocations,
            self.observations,
            self.raw_records,
        )
        self._verifier = self.verifier.with_ledger(stages)

    def check(
        self, credential: Mapping[str, Any], *, checked_at: datetime, digest: str | None = None
    ) -> PipelineResult:
        """Every stage on ``credential`` as of ``checked_at``. Never raises on bad input."""
        if checked_at.tzinfo is None:
            raise ValueError("`checked_at` must be timezone-aware")
        doc = dict(credential)
        cid = str(doc.get("id", "")) if isinstance(doc.get("id"), str) else ""
        digest = digest or credential_digest(doc)
        result = self._verifier.check(doc, checked_at=checked_at)
        # Validity windows are judged by linking at the entry date, not at the check time.
        checks = tuple(c for c in result.checks if c.stage != "validity")
        # The verifier's parsed view of this JSON-LD document (a JWT's view is of its payload, not of ``doc``).
        view = result.view if result.format == "ldp" and result.view is not None else ParsedCredential.parse(doc)
        issuer = result.issuer if result.issuer is not None else view.issuer
        refs: list[EvidenceRef] = []
        for item in view.ledger_evidence:
            e = item.value
            t = _parse_ts(e.get("ledgerTime"))
            h = e.get("ledgerHeight")
            if isinstance(e.get("ledgerId"), str) and isinstance(e.get("locator"), str) and t and isinstance(h, int):
                refs.append(EvidenceRef(e["ledgerId"], e["locator"], h, t, str(e.get("ledgerKind", ""))))
        return PipelineResult(cid, digest, checks, issuer, result.effective_issuer, tuple(refs), checked_at)
