"""Stages 3–7 of the verification pipeline (ARCHITECTURE.md, "Verification pipeline") over injected, in-memory
interfaces: evidence against the anchor the trust policy pins, binding of the native signer to a registered party,
replay of the published mapping, ledger revocation with freshness bounds, and the trust policy's issuer permissions
and required evidence kinds.

:class:`LedgerStages` holds the providers (evidence checkers by ledger kind, party registry, published mappings,
ledger revocations, ledger observations, raw records); :class:`~vcgate.gateway.verification.Verifier` runs it after
the proof stages. A SQL store is one provider of these (``Store.ledger_stages``-style wiring lives in the callers),
never a requirement. No I/O here; a checker that raises is reported, not propagated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from vcgate.adapters.sdk import (
    CredentialMapping,
    EvidenceChecker,
    check_replay,
)
from vcgate.canonical_schema import Check, CheckStatus, Problem

from ._trust import ANY, TrustPolicy
from ._view import ParsedCredential

if TYPE_CHECKING:
    from .._parties import PartyRegistry

#: Problem codes of the stages added here (docs/jobs.md, "Pipeline problem codes").
ADAPTER_MISSING = "ADAPTER_MISSING"
EVIDENCE_UNANCHORED = "EVIDENCE_UNANCHORED"
EVIDENCE_CHECKER_FAILED = "EVIDENCE_CHECKER_FAILED"
EVIDENCE_REQUIRED = "EVIDENCE_KIND_NOT_ACCEPTED"
NATIVE_SIGNER_UNBOUND = "NATIVE_SIGNER_UNBOUND"
NATIVE_SIGNER_UNCHECKED = "NATIVE_SIGNER_UNCHECKED"
ISSUER_NOT_SIGNER = "ISSUER_NOT_SIGNER"
WITNESS_NOT_ACCEPTED = "WITNESS_NOT_ACCEPTED"
MAPPING_UNAVAILABLE = "MAPPING_UNAVAILABLE"
LEDGER_REVOKED = "LEDGER_REVOKED"
LEDGER_STALE = "LEDGER_STALE"
LEDGER_UNREACHABLE = "LEDGER_UNREACHABLE"
ISSUER_NOT_PERMITTED = "ISSUER_NOT_PERMITTED"

_REVOKED = frozenset({"STATUS_REVOKED", LEDGER_REVOKED})

#: LedgerEvidence items with their index in ``evidence``.
_Items = list[tuple[int, Mapping[str, Any]]]


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


def ledger_items(doc: Mapping[str, Any]) -> _Items:
    """The credential's ``LedgerEvidence`` items with their index in ``evidence`` (see :class:`ParsedCredential`)."""
    return [(e.index, e.value) for e in ParsedCredential.parse(doc).ledger_evidence]


def _staged(prefix: str, stage: str, checks: Iterable[Check]) -> list[Check]:
    # An adapter's checks are already the one Check type (ADR 0010): the pipeline only files them under its stage
    # and, for evidence, under the ``evidence.`` name prefix. A failure without a problem gets a generic one, so
    # the result's problem details never miss a failed check.
    out = []
    for c in checks:
        name = c.name if c.name.startswith(prefix) else f"{prefix}{c.name}"
        problems = c.problems
        if not problems and c.status in (CheckStatus.FAILED, CheckStatus.ERROR):
            problems = (Problem(f"{stage.upper()}_CHECK_FAILED", c.name, c.detail),)
        out.append(replace(c, name=name, stage=stage, problems=problems))
    return out


def _fail(name: str, stage: str, code: str, title: str, detail: str, pointer: str = "") -> Check:
    return Check.failed(name, Problem(code, title, detail, pointer), stage)


def _error(name: str, stage: str, code: str, title: str, detail: str, pointer: str = "") -> Check:
    return Check.errored(name, Problem(code, title, detail, pointer), stage)


class LedgerStageRunner(Protocol):
    """What :class:`~vcgate.gateway.verification.Verifier` needs for stages 3–7: :class:`LedgerStages`, or a
    provider that hands out the current snapshot of a store (``vcgate.gateway._jobs.StoreLedgerStages``)."""

    def run(
        self, credential: ParsedCredential, issuer: str | None, *, checked_at: datetime
    ) -> tuple[str | None, list[Check]]:
        """The effective issuer and the checks of stages 3–7 on the parsed ``credential``."""
        ...


@dataclass(frozen=True)
class LedgerStages:
    """Stages 3–7 over injected providers. ``parties`` ``None`` means no registry was configured: a native signer
    then cannot be bound (``error``, never a pass).

    ``checkers`` maps a ledger kind to its adapter's offline evidence checker; ``mappings`` maps (mapping id, digest)
    to the published mapping; ``revocations`` gives a credential's ledger revocation; ``observations`` the last
    reads of each ledger; ``raw_records`` the raw record of digest-only evidence, by (ledger id, locator).
    """

    trust: TrustPolicy
    parties: PartyRegistry | None = None
    checkers: Mapping[str, EvidenceChecker] = field(default_factory=dict)
    mappings: Mapping[tuple[str, str], CredentialMapping] = field(default_factory=dict)
    revocations: Callable[[str], LedgerRevocation | None] = lambda _id: None
    observations: Mapping[str, LedgerObservation] = field(default_factory=dict)
    raw_records: Callable[[str, str], bytes | Mapping[str, Any] | None] = lambda _l, _loc: None

    def run(
        self, credential: ParsedCredential | Mapping[str, Any], issuer: str | None, *, checked_at: datetime
    ) -> tuple[str | None, list[Check]]:
        """The effective issuer (a party id) and the checks of stages 3–7 on ``credential`` (its parsed view, or the
        JSON object, parsed here) as of ``checked_at``."""
        view = credential if isinstance(credential, ParsedCredential) else ParsedCredential.parse(credential)
        doc = view.raw  # what adapters' evidence checkers and replay read: the exact document
        items = [(e.index, e.value) for e in view.ledger_evidence]
        checks = self._evidence(doc, items, checked_at)
        effective, binding_checks = self._binding(issuer, items)
        checks += binding_checks
        checks += self._replay(doc, items)
        checks += self._revocation(view.id or "", items, checked_at)
        checks += self._trust(list(view.types), effective, issuer, items)
        return effective, checks

    # -- stage 3 ---------------------------------------------------------------------------------------------

    def _evidence(self, doc: Mapping[str, Any], items: _Items, at: datetime) -> list[Check]:
        if not items:
            return [Check.not_applicable("evidence", "evidence")]
        out: list[Check] = []
        for index, ev in items:
            ptr = f"/evidence/{index}"
            kind, ledger = ev.get("ledgerKind"), ev.get("ledgerId")
            # No anchor is decided first: evidence the policy does not pin is unanchored whatever checks it.
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
            converted = _staged("evidence.", "evidence", result.checks)
            statuses = {c.status for c in converted}
            if CheckStatus.PASSED not in statuses and CheckStatus.FAILED not in statuses:
                converted.append(
                    _error("evidence", "evidence", "EVIDENCE_UNDECIDED", "Evidence not checked", "no check passed", ptr)
                )
            out += converted
        return out

    # -- stage 4 ---------------------------------------------------------------------------------------------

    def _binding(self, issuer: str | None, items: _Items) -> tuple[str | None, list[Check]]:
        if not items:
            party = self.parties.party_for_did(issuer) if self.parties is not None else None
            # Without ledger evidence the issuer DID's party (if registered) is the effective issuer.
            return (party.id if party else None), [Check.not_applicable("native_signer_binding", "binding")]
        if self.parties is None:
            unchecked = _error(
                "native_signer_binding",
                "binding",
                NATIVE_SIGNER_UNCHECKED,
                "Native signer not checked",
                "no party registry was configured, so the ledger signer cannot be bound to the issuer",
                "/evidence",
            )
            return None, [unchecked]
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

    def _replay(self, doc: Mapping[str, Any], items: _Items) -> list[Check]:
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
        return _staged("", "replay", result.checks)

    # -- stage 6 (ledger part) -------------------------------------------------------------------------------

    def _revocation(self, cid: str, items: _Items, at: datetime) -> list[Check]:
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

    def _trust(self, types: list[str], effective: str | None, issuer: str | None, items: _Items) -> list[Check]:
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
