"""The catalogue of conformance cases: stable ids, groups, titles and the target kinds each case applies to.

A case id (``ADP-003``) never changes meaning once published; a case that is withdrawn keeps its id retired. Adapter
and VC-API cases are declared here; the verifier cases driven by vectors are declared in ``vectors/MANIFEST.json``
and merged in by :func:`catalogue`. docs/conformance.md lists every case (a test keeps the two in step).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from _pytest.mark.structures import MarkDecorator

TargetKind = Literal["adapter", "vc-api", "verifier"]

#: Group prefix -> group name, in report order.
GROUPS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "DM": "data model",
        "SCH": "canonical schema",
        "PRF": "proofs",
        "EVD": "evidence",
        "ADP": "adapter behaviour",
        "API": "VC-API",
        "SEC": "security",
    }
)
CASE_ID: Final = re.compile(r"^(DM|SCH|PRF|EVD|ADP|API|SEC)-\d{3}$")

ADAPTER: Final[frozenset[TargetKind]] = frozenset({"adapter"})
VC_API: Final[frozenset[TargetKind]] = frozenset({"vc-api"})
#: Cases about verifying credentials run against any verifier: a VC-API endpoint or vcgate's own library.
VERIFIERS: Final[frozenset[TargetKind]] = frozenset({"vc-api", "verifier"})


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """One conformance case: its stable id, title, the target kinds it applies to and where it comes from."""

    id: str
    title: str
    targets: frozenset[TargetKind]
    source: str = ""

    @property
    def group(self) -> str:
        """The group name (``adapter behaviour`` for ``ADP-…``)."""
        return GROUPS[self.id.split("-", 1)[0]]

    def applies_to(self, kind: TargetKind) -> bool:
        """Whether the case runs against a target of this kind."""
        return kind in self.targets


_STATIC: Final = (
    # --- adapter targets: the translations an adapter produces ------------------------------------------------
    CaseInfo("DM-001", "Translations follow the VC 2.0 base data-model rules", ADAPTER, "VC 2.0 §4"),
    CaseInfo("DM-002", "Translations carry exactly the canonical @context, in order", ADAPTER, "VC 2.0 §4.3"),
    CaseInfo(
        "DM-003",
        "Credential ids are derived from ledger id, locator and mapping (urn:uuid v5)",
        ADAPTER,
        "docs/adapters.md, Credential ids",
    ),
    CaseInfo(
        "DM-004",
        "Validity dates are dateTimeStamps with a zone, ordered, and no VC 1.1 date fields appear",
        ADAPTER,
        "VC 2.0 §4.9",
    ),
    CaseInfo(
        "DM-005", "The issuer is a DID and the evidence names the mapping's issuance mode", ADAPTER, "VC 2.0 §4.7"
    ),
    CaseInfo("SCH-001", "Every translation validates against the canonical JSON Schema of its type", ADAPTER),
    CaseInfo("SCH-002", "Every credential type the adapter publishes has a canonical schema", ADAPTER),
    CaseInfo("SCH-003", "Translations carry exactly the types their mapping declares", ADAPTER),
    CaseInfo(
        "PRF-001",
        "Translations sign and verify under every cryptosuite vcgate issues",
        ADAPTER,
        "VC-DI-EDDSA, VC-DI-ECDSA",
    ),
    CaseInfo(
        "PRF-002",
        "Every subject and evidence value is covered by an RDFC proof: changing any one breaks it",
        ADAPTER,
        "VC-DI-EDDSA §3.2.1 (RDFC-1.0 drops undefined terms silently)",
    ),
    CaseInfo(
        "PRF-003",
        "Interop: the reference library verifies vcgate-signed translations, and vcgate verifies its signatures",
        ADAPTER,
        "@digitalbazaar/vc",
    ),
    CaseInfo("EVD-001", "Each translation carries exactly one well-formed LedgerEvidence for its own record", ADAPTER),
    CaseInfo("EVD-002", "The evidence verifies offline against the pinned trust anchor", ADAPTER),
    CaseInfo("EVD-003", "Replaying the published mapping over the evidence rebuilds the whole credential", ADAPTER),
    CaseInfo("EVD-004", "Tampered record bytes are caught by the evidence checker", ADAPTER),
    CaseInfo("EVD-005", "Tampering with any proof-material value is caught by the evidence checker", ADAPTER),
    CaseInfo("EVD-006", "A tampered ledger height is caught by the evidence checker", ADAPTER),
    CaseInfo(
        "ADP-001", "describe() reports a well-formed instance: kind, CAIP-2 ledger id, API version, mappings", ADAPTER
    ),
    CaseInfo("ADP-002", "records() pages the stream in strictly ascending, duplicate-free order", ADAPTER),
    CaseInfo(
        "ADP-003", "Resuming from every page boundary, and from its encoded token, continues exactly after it", ADAPTER
    ),
    CaseInfo("ADP-004", "Translating a record twice gives identical credentials with deterministic ids", ADAPTER),
    CaseInfo(
        "ADP-005",
        "Reads are idempotent: a second pass and fetch(locator) give the same records and translations",
        ADAPTER,
    ),
    CaseInfo("ADP-006", "fetch() of a nonexistent or malformed locator raises a VcgateError", ADAPTER),
    CaseInfo("ADP-007", "health() reports ok with a non-negative ledger height", ADAPTER),
    CaseInfo("ADP-008", "from_config() rejects an empty configuration with a VcgateError", ADAPTER),
    CaseInfo(
        "ADP-009",
        "Served: every page states end; an empty page carries a cursor after the requested one",
        ADAPTER,
        "docs/remote-adapters.md, remote adapter protocol 1.1",
    ),
    CaseInfo(
        "ADP-010",
        "Served: a cursor of an abandoned branch is answered by a well-formed rewind page",
        ADAPTER,
        "docs/remote-adapters.md, remote adapter protocol 1.1",
    ),
    CaseInfo(
        "ADP-011",
        "Served: a record the adapter cannot translate is refused as a translation problem",
        ADAPTER,
        "docs/remote-adapters.md, remote adapter protocol 1.1",
    ),
    CaseInfo("SEC-001", "Translations reference only pinned JSON-LD contexts", ADAPTER),
    CaseInfo("SEC-002", "Translations have no undefined terms (strict JSON-LD)", ADAPTER),
    CaseInfo("SEC-003", "Translations stay within the verifier's size and nesting limits", ADAPTER),
    # --- VC-API endpoints ---------------------------------------------------------------------------------------
    CaseInfo(
        "API-001",
        "POST /credentials/issue answers 201/200 with {verifiableCredential} carrying a proof",
        VC_API,
        "VC-API",
    ),
    CaseInfo("API-002", "POST /credentials/verify answers 200 with verified: true for an issued credential", VC_API),
    CaseInfo("API-003", "Verifying a tampered credential answers 400 with problem details", VC_API),
    CaseInfo("API-004", "Malformed verify requests are refused for their content (400/413/415/422)", VC_API),
    CaseInfo("API-005", "Issuing an invalid credential is refused for its content (400/413/415/422)", VC_API),
    CaseInfo(
        "API-006",
        "After POST /credentials/status revokes a credential, its verification fails",
        VC_API,
        "VC-API, traceability-interop",
    ),
    CaseInfo("API-007", "A request with a forged bearer token answers 401", VC_API, "RFC 6750 §3.1"),
)


@cache
def catalogue() -> Mapping[str, CaseInfo]:
    """Every case by id: the static cases above and the vector cases from ``vectors/MANIFEST.json``."""
    from ._vectors import vector_cases  # the manifest is data; loaded on first use

    out: dict[str, CaseInfo] = {}
    for info in (*_STATIC, *(v.info for v in vector_cases())):
        if not CASE_ID.match(info.id):
            raise ValueError(f"case id {info.id!r} does not match {CASE_ID.pattern}")
        if info.id in out:
            raise ValueError(f"case id {info.id} is declared twice")
        out[info.id] = info
    return MappingProxyType(dict(sorted(out.items(), key=lambda kv: _order(kv[0]))))


def _order(case_id: str) -> tuple[int, int]:
    prefix, number = case_id.split("-", 1)
    return list(GROUPS).index(prefix), int(number)


def case_order(case_id: str) -> tuple[int, int]:
    """Sort key for case ids: by group in report order, then by number."""
    return _order(case_id)


def conformance_case(case_id: str) -> MarkDecorator:
    """Mark a test as the implementation of ``case_id`` (which must be in the catalogue)."""
    import pytest

    if not CASE_ID.match(case_id):
        raise ValueError(f"case id {case_id!r} does not match {CASE_ID.pattern}")
    return pytest.mark.conformance(case_id)
