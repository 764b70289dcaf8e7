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
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785

from vcgate.adapters.sdk import (
    EVIDENCE_TYPE,
    CredentialMapping,
    EvidenceChecker,
    check_replay,
)
from vcgate.adapters.sdk import Check as SdkCheck
from vcgate.canonical_schema import Check, OverallStatus, Problem, overall_status

from .._links import CredentialView, EvidenceRef
from .._parties import PartyRegistry
from ._trust import ANY, TrustPolicy
from ._verify import Verifier, issuer_id

#: Problem codes of the stages added here (docs/jobs.md, "Pipeline problem codes").
ADAPTER_MISSING = "ADAPTER_MISSING"
EVIDENCE_UNANCHORED = "EVIDENCE_UNANCHORED"
EVIDENCE_CHECKER_FAILED = "EVIDENCE_CHECKER_FAILED"
EVIDENCE_REQUIRED = "EVIDENCE_KIND_NOT_ACCEPTED"
NATIVE_SIGNER_UNBOUND = "NATIVE_SIGNER_UNBOUND"
ISSUER_NOT_SIGNER = "ISSUER_NOT_SIGNER"
WITNESS_NOT_ACCEPTED = "WITNESS_NOT_ACCEPTED"
MAPPING_UNAVAILABLE = "MAPPING_UNAVAILABLE"
LEDGER_REVOKED = "LEDGER_REVOKED"
LEDGER_STALE = "LEDGER_STALE"
LEDGER_UNREACHABLE = "LEDGER_UNREACHABLE"
ISSUER_NOT_PERMITTED = "ISSUER_NOT_PERMITTED"

_REVOKED = frozenset({"STATUS_REVOKED", LEDGER_REVOKED})


@dataclass(frozen=True, slots=True)
class LedgerObservation:
    """What the last reads of a ledger saw: the height, when it was last read successfully, and the last attempt."""

    ledger_id: str
    height: int
    last_ok_at: datetime | None
    last_attempt_at: datetime | None = None
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class LedgerRevocation:
    """A ledger-native revocation of a credential (EAS revoke, Fabric delete, plain-ledger revocation entry)."""

    credential_id: str
    ledger_id: str
    locator: str
    ledger_time: datetime
    ledger_height: int


def credential_digest(doc: Mapping[str, Any]) -> str:
    """``sha256:`` hex of the RFC 8785 form of the whole credential (proof included)."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(dict(doc))).hexdigest()


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
        return overall_status(self.checks) if self.checks else "error"

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Problems of the failed and errored checks."""
        return tuple(c.problem for c in self.checks if c.problem is not None and c.status in ("failed", "error"))

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
        checks = []
        for c in value["checks"]:
            p = c.get("problem")
            problem = Problem(p["code"], p["title"], p.get("detail", ""), p.get("pointer", "")) if p else None
            checks.append(Check(c["name"], c["status"], c.get("stage", ""), problem))
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


def _sdk_checks(prefix: str, stage: str, checks: tuple[SdkCheck, ...]) -> list[Check]:
    # The SDK's checks carry several problems; ours one: a failing SDK check becomes one check per problem.
    out: list[Check] = []
    for c in checks:
        name = c.name if c.name.startswith(prefix) else f"{prefix}{c.name}"
        status = str(c.status.value)
        if status in ("passed", "not_applicable"):
            out.append(Check(name, status, stage))  # type: ignore[arg-type]  # same literal set
            continue
        problems = c.problems or (Problem(f"{stage.upper()}_CHECK_FAILED", c.name, c.detail),)
        for p in problems:
            out.append(Check(name, status, stage, p))  # type: ignore[arg-type]  # failed | error
    return out


def _fail(name: str, stage: str, code: str, title: str, detail: str, pointer: str = "") -> Check:
    return Check.failed(name, Problem(code, title, detail, pointer), stage)


def _error(name: str, stage: str, code: str, title: str, detail: str, pointer: str = "") -> Check:
    return Check.errored(name, Problem(code, title, detail, pointer), stage)


@dataclass
class CredentialPipeline:
    """Runs every stage on one credential. Inputs are injected; :meth:`check` is pure given them.

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

    def check(
        self, credential: Mapping[str, Any], *, checked_at: datetime, digest: str | None = None
    ) -> PipelineResult:
        """Every stage on ``credential`` as of ``checked_at``. Never raises on bad input."""
        if checked_at.tzinfo is None:
            raise ValueError("`checked_at` must be timezone-aware")
        doc = dict(credential)
        cid = str(doc.get("id", "")) if isinstance(doc.get("id"), str) else ""
        digest = digest or credential_digest(doc)
        base = self.verifier.check(doc, at=checked_at)
        # Validity windows are judged by linking at the entry date, not at the check time.
        checks = [c for c in base.checks if c.stage != "validity"]
        issuer = base.issuer if base.issuer is not None else issuer_id(doc)
        types = [t for t in (doc.get("type") or []) if isinstance(t, str)] if isinstance(doc.get("type"), list) else []

        items_raw = doc.get("evidence")
        items = items_raw if isinstance(items_raw, list) else [items_raw] if isinstance(items_raw, dict) else []
        ledger_items = [
            (i, e)
            for i, e in enumerate(items)
            if isinstance(e, dict) and (e.get("type") == EVIDENCE_TYPE or EVIDENCE_TYPE in (e.get("type") or []))
        ]
        refs: list[EvidenceRef] = []
        for _i, e in ledger_items:
            t = _parse_ts(e.get("ledgerTime"))
            h = e.get("ledgerHeight")
            if isinstance(e.get("ledgerId"), str) and isinstance(e.get("locator"), str) and t and isinstance(h, int):
                refs.append(EvidenceRef(e["ledgerId"], e["locator"], h, t, str(e.get("ledgerKind", ""))))

        checks += self._evidence(doc, ledger_items, checked_at)
        effective, binding_checks = self._binding(doc, issuer, ledger_items)
        checks += binding_checks
        checks += self._replay(doc, ledger_items)
        checks += self._revocation(cid, ledger_items, checked_at)
        checks += self._trust(types, effective, issuer, ledger_items)
        return PipelineResult(cid, digest, tuple(checks), issuer, effective, tuple(refs), checked_at)

    # -- stage 3 ---------------------------------------------------------------------------------------------

    def _evidence(self, doc: dict[str, Any], items: list[tuple[int, dict[str, Any]]], at: datetime) -> list[Check]:
        if not items:
            return [Check.not_applicable("evidence", "evidence")]
        out: list[Check] = []
        for index, ev in items:
            ptr = f"/evidence/{index}"
            kind, ledger = ev.get("ledgerKind"), ev.get("ledgerId")
            checker = self.checkers.get(kind) if isinstance(kind, str) else None
            if checker is None:
                out.append(
                    _error(
                        "evidence",
                        "evidence",
                        ADAPTER_MISSING,
                        "No adapter for this ledger kind",
                        f"no registered adapter checks {kind!r} evidence",
                        ptr,
                    )
                )
                continue
            anchor = self.trust.anchor_for(ledger) if isinstance(ledger, str) else None
            if anchor is None:
                out.append(
                    _error(
                        "evidence",
                        "evidence",
                        EVIDENCE_UNANCHORED,
                        "Evidence reaches no trust anchor",
                        f"policy {self.trust.policy_name!r} pins no anchor for ledger {ledger!r} (trust.anchors)",
                        ptr,
                    )
                )
                continue
            try:
                result = checker.check(doc, ev, anchor, at=at)
            except Exception as exc:  # a third-party checker must not take the pipeline down (STYLE.md 3)
                out.append(
                    _error(
                        "evidence",
                        "evidence",
                        EVIDENCE_CHECKER_FAILED,
                        "Evidence checker failed",
                        f"{type(exc).__name__}: {exc}",
                        ptr,
                    )
                )
                continue
            converted = _sdk_checks("evidence.", "evidence", tuple(result.checks))
            if not any(c.status == "passed" for c in converted) and not any(c.status == "failed" for c in converted):
                converted.append(
                    _error("evidence", "evidence", "EVIDENCE_UNDECIDED", "Evidence not checked", "no check passed", ptr)
                )
            out += converted
        return out

    # -- stage 4 ---------------------------------------------------------------------------------------------

    def _binding(
        self, doc: dict[str, Any], issuer: str | None, items: list[tuple[int, dict[str, Any]]]
    ) -> tuple[str | None, list[Check]]:
        if not items:
            party = self.parties.party_for_did(issuer)
            # Without ledger evidence the issuer DID's party (if registered) is the effective issuer.
            return (party.id if party else None), [Check.not_applicable("native_signer_binding", "binding")]
        effective: str | None = None
        checks: list[Check] = []
        for index, ev in items:
            ptr = f"/evidence/{index}/nativeSigner"
            signer = ev.get("nativeSigner")
            at = _parse_ts(ev.get("ledgerTime"))
            if not isinstance(signer, dict) or at is None:
                checks.append(
                    _fail(
                        "native_signer_binding",
                        "binding",
                        NATIVE_SIGNER_UNBOUND,
                        "Native signer unreadable",
                        "evidence lacks a nativeSigner object or ledgerTime",
                        ptr,
                    )
                )
                continue
            found = self.parties.party_for_signer(signer, at)
            if found is None:
                checks.append(
                    _fail(
                        "native_signer_binding",
                        "binding",
                        NATIVE_SIGNER_UNBOUND,
                        "Native signer is bound to no party",
                        f"no registered party had the ledger identity {json.dumps(signer, sort_keys=True)}"
                        f" at {_ts(at)}",
                        ptr,
                    )
                )
                continue
            party, _binding = found
            if effective is not None and effective != party.id:
                checks.append(
                    _fail(
                        "native_signer_binding",
                        "binding",
                        NATIVE_SIGNER_UNBOUND,
                        "Evidence items have different signers",
                        f"{effective} and {party.id}",
                        ptr,
                    )
                )
                continue
            effective = party.id
            mode = ev.get("issuanceMode")
            if mode == "witness":
                if not self.trust.accept_witness or issuer not in self.trust.witnesses:
                    checks.append(
                        _fail(
                            "witness",
                            "trust",
                            WITNESS_NOT_ACCEPTED,
                            "Witness not accepted",
                            f"policy {self.trust.policy_name!r} does not accept {issuer} as a witness"
                            " (trust.witness_mode)",
                            "/issuer",
                        )
                    )
                else:
                    checks.append(Check.passed("witness", "trust"))
            elif issuer is None or issuer.split("#", 1)[0] not in party.dids:
                checks.append(
                    _fail(
                        "native_signer_binding",
                        "binding",
                        ISSUER_NOT_SIGNER,
                        "Issuer is not the native signer's party",
                        f"the record was signed by party {party.id}, the credential is issued by {issuer}",
                        "/issuer",
                    )
                )
                continue
            checks.append(Check.passed("native_signer_binding", "binding"))
        return effective, checks

    # -- stage 5 ---------------------------------------------------------------------------------------------

    def _replay(self, doc: dict[str, Any], items: list[tuple[int, dict[str, Any]]]) -> list[Check]:
        if len(items) != 1:
            # check_replay rebuilds a credential from exactly one LedgerEvidence (adapters/sdk, "Replay").
            return [Check.not_applicable("replay", "replay")]
        index, ev = items[0]
        key = (str(ev.get("mappingId")), str(ev.get("mappingDigest")))
        mapping = self.mappings.get(key)
        if mapping is None:
            return [
                _error(
                    "replay",
                    "replay",
                    MAPPING_UNAVAILABLE,
                    "Published mapping unavailable",
                    f"mapping {key[0]} ({key[1]}) is not registered",
                    f"/evidence/{index}/mappingDigest",
                )
            ]
        record = None
        if "rawRecord" not in ev and isinstance(ev.get("ledgerId"), str) and isinstance(ev.get("locator"), str):
            record = self.raw_records(ev["ledgerId"], ev["locator"])
        result = check_replay(doc, mapping, record=record)
        return _sdk_checks("", "replay", tuple(result.checks))

    # -- stage 6 (ledger part) -------------------------------------------------------------------------------

    def _revocation(self, cid: str, items: list[tuple[int, dict[str, Any]]], at: datetime) -> list[Check]:
        if not items:
            return [Check.not_applicable("ledger_revocation", "status")]
        out: list[Check] = []
        for ledger in sorted({str(e.get("ledgerId")) for _, e in items}):
            obs = self.observations.get(ledger)
            bound = self.trust.revocation_bound(ledger)
            if obs is None or obs.last_ok_at is None:
                out.append(
                    _error(
                        "ledger_freshness",
                        "status",
                        LEDGER_STALE,
                        "Ledger never read",
                        f"ledger {ledger} has not been read successfully; its revocations are unknown",
                    )
                )
            elif at - obs.last_ok_at > bound:
                unreachable = obs.last_attempt_at is not None and obs.last_attempt_at > obs.last_ok_at
                out.append(
                    _error(
                        "ledger_freshness",
                        "status",
                        LEDGER_UNREACHABLE if unreachable else LEDGER_STALE,
                        "Ledger read too old",
                        f"ledger {ledger} last read at {_ts(obs.last_ok_at)}, more than {bound} before {_ts(at)}"
                        + (f" ({obs.last_error})" if unreachable and obs.last_error else ""),
                    )
                )
            else:
                out.append(Check.passed("ledger_freshness", "status"))
        revocation = self.revocations(cid) if cid else None
        if revocation is not None and revocation.ledger_time <= at:
            out.append(
                _fail(
                    "ledger_revocation",
                    "status",
                    LEDGER_REVOKED,
                    "Revoked on the ledger",
                    f"revoked by {revocation.ledger_id}/{revocation.locator} at {_ts(revocation.ledger_time)}",
                )
            )
        else:
            out.append(Check.passed("ledger_revocation", "status"))
        return out

    # -- stage 7 ---------------------------------------------------------------------------------------------

    def _trust(
        self, types: list[str], effective: str | None, issuer: str | None, items: list[tuple[int, dict[str, Any]]]
    ) -> list[Check]:
        out: list[Check] = []
        denied = self.trust.may_issue(types, effective, issuer)
        if denied is not None:
            out.append(
                _fail(
                    "issuer_permission",
                    "trust",
                    ISSUER_NOT_PERMITTED,
                    "Issuer may not issue this type",
                    f"{effective or issuer} may not issue {denied} (trust.issuer_permissions)",
                    "/issuer",
                )
            )
        else:
            out.append(Check.passed("issuer_permission", "trust"))
        kinds = self.trust.evidence_kinds_for(types)
        if kinds is not None:
            have = {str(e.get("ledgerKind")) for _, e in items}
            if not have or (ANY not in kinds and not (have & kinds)):
                out.append(
                    _fail(
                        "required_evidence",
                        "trust",
                        EVIDENCE_REQUIRED,
                        "Required ledger evidence missing",
                        f"{', '.join(types)} needs evidence from {', '.join(sorted(kinds))} (trust.required_evidence)",
                        "/evidence",
                    )
                )
            else:
                out.append(Check.passed("required_evidence", "trust"))
        return out
