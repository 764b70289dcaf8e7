"""The typed, frozen view of a credential the verification stages read (issue 11): parsed once, in one place.

:meth:`ParsedCredential.parse` reads what the stages need from a JSON-LD credential object — id, types, issuer id,
the validity window as datetimes, ``credentialStatus`` entries, ``evidence`` items (the ``LedgerEvidence`` ones
marked), the proof(s) — and keeps the raw mapping for the stages that must see the exact document (signatures,
JSON Schemas, adapters' evidence checkers, replay). It never raises on hostile input: a malformed member is left
out of the typed fields and reported as a :class:`~vcgate.canonical_schema.Problem` with a documented code
(docs/problem-codes.md): ``DATETIME_INVALID`` for a ``validFrom``/``validUntil`` (VC 1.1: ``issuanceDate``/
``expirationDate``) that is not a dateTime with a timezone, ``TYPE_INVALID`` for a ``type`` that is not a string or
an array of strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vcgate.adapters.sdk import EVIDENCE_TYPE
from vcgate.canonical_schema import CREDENTIALS_V1_URL, Problem

__all__ = ["EvidenceItem", "ParsedCredential"]

DATETIME_INVALID = "DATETIME_INVALID"
TYPE_INVALID = "TYPE_INVALID"


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One item of ``evidence`` with its index; ``ledger`` is true for a ``LedgerEvidence`` item."""

    index: int
    value: Mapping[str, Any] = field(repr=False)
    ledger: bool
    ledger_kind: str | None = None
    ledger_id: str | None = None

    @property
    def pointer(self) -> str:
        """The item's JSON pointer in the credential."""
        return f"/evidence/{self.index}"


@dataclass(frozen=True, slots=True)
class ParsedCredential:
    """What the verification stages read of one credential; build it with :meth:`parse`.

    ``valid_from_key`` / ``valid_until_key`` name the members the window came from (``validFrom``/``validUntil``, or
    VC 1.1's ``issuanceDate``/``expirationDate``); ``*_raw`` keep the text as written (``None`` when absent).
    ``problems`` lists the members that could not be read.
    """

    raw: Mapping[str, Any] = field(repr=False)
    id: str | None
    types: tuple[str, ...]
    issuer: str | None
    v1: bool
    valid_from: datetime | None
    valid_until: datetime | None
    valid_from_raw: Any
    valid_until_raw: Any
    valid_from_key: str
    valid_until_key: str
    status_entries: tuple[Mapping[str, Any], ...]
    evidence: tuple[EvidenceItem, ...]
    proofs: tuple[Mapping[str, Any], ...]
    proof_is_set: bool
    problems: tuple[Problem, ...] = ()

    @property
    def ledger_evidence(self) -> tuple[EvidenceItem, ...]:
        """The ``LedgerEvidence`` items, in order."""
        return tuple(e for e in self.evidence if e.ledger)

    @property
    def has_status(self) -> bool:
        """True when the credential has a ``credentialStatus`` member (even a malformed one)."""
        return "credentialStatus" in self.raw

    def problem(self, pointer: str) -> Problem | None:
        """The parse problem at ``pointer``, if any."""
        return next((p for p in self.problems if p.pointer == pointer), None)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ParsedCredential:
        """Read ``raw`` (a JSON object) once. Never raises: malformed members become :attr:`problems`."""
        problems: list[Problem] = []
        context = raw.get("@context")
        v1 = isinstance(context, list) and bool(context) and context[0] == CREDENTIALS_V1_URL
        start_key, end_key = ("issuanceDate", "expirationDate") if v1 else ("validFrom", "validUntil")
        # VC 1.1 documents may use the 2.0 names too (a 1.1 credential re-issued under 2.0 rules keeps both).
        start_raw = raw.get(start_key, raw.get("validFrom") if v1 else None)
        end_raw = raw.get(end_key, raw.get("validUntil") if v1 else None)
        proof = raw.get("proof")
        return cls(
            raw=raw,
            id=raw["id"] if isinstance(raw.get("id"), str) else None,
            types=_types(raw.get("type"), problems),
            issuer=_issuer(raw.get("issuer")),
            v1=v1,
            valid_from=_datetime(start_raw, start_key, problems),
            valid_until=_datetime(end_raw, end_key, problems),
            valid_from_raw=start_raw,
            valid_until_raw=end_raw,
            valid_from_key=start_key,
            valid_until_key=end_key,
            status_entries=_objects(raw.get("credentialStatus")),
            evidence=_evidence(raw.get("evidence")),
            proofs=_objects(proof),
            proof_is_set=isinstance(proof, list),
            problems=tuple(problems),
        )


def _types(value: Any, problems: list[Problem]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        bad = [i for i, t in enumerate(value) if not isinstance(t, str)]
        for i in bad:
            problems.append(Problem(TYPE_INVALID, "Invalid type", "every type is a string", f"/type/{i}"))
        return tuple(t for t in value if isinstance(t, str))
    if value is not None:
        problems.append(Problem(TYPE_INVALID, "Invalid type", "type is a string or an array of strings", "/type"))
    return ()


def _issuer(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _datetime(value: Any, key: str, problems: list[Problem]) -> datetime | None:
    if value is None:
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        problems.append(Problem(DATETIME_INVALID, "Invalid date", f"{key} is not a dateTime with timezone", f"/{key}"))
        return None
    return parsed


def _objects(value: Any) -> tuple[Mapping[str, Any], ...]:
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return tuple(v for v in items if isinstance(v, dict))


def _evidence(value: Any) -> tuple[EvidenceItem, ...]:
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    out = []
    for i, e in enumerate(items):
        if not isinstance(e, dict):
            continue
        t = e.get("type")
        ledger = t == EVIDENCE_TYPE or (isinstance(t, list) and EVIDENCE_TYPE in t)
        kind, ledger_id = e.get("ledgerKind"), e.get("ledgerId")
        out.append(
            EvidenceItem(
                i,
                e,
                ledger,
                kind if isinstance(kind, str) else None,
                ledger_id if isinstance(ledger_id, str) else None,
            )
        )
    return tuple(out)
