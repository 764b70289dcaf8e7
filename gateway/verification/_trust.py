"""The trust policy: the ``trust`` section of a verification policy (ARCHITECTURE.md, "Trust").

It pins a trust anchor per ledger id, names the roots of authority for GTIN and IPR ownership, which parties may
issue which credential types, which ledger kinds a type's evidence must come from, whether witness-signed
credentials count, and how fresh status lists and ledger reads must be. Every verdict names the clause that
decided it; clause names are the dotted paths below (``trust.roots_of_authority.ipr_ownership``, …) and are listed
in docs/trust-policy.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ._policy import Policy

#: Stable clause names cited by verdicts (docs/trust-policy.md, "Clauses").
CLAUSE_ANCHORS = "trust.anchors"
CLAUSE_GTIN_ROOTS = "trust.roots_of_authority.gtin_ownership"
CLAUSE_IPR_ROOTS = "trust.roots_of_authority.ipr_ownership"
CLAUSE_ISSUER_PERMISSIONS = "trust.issuer_permissions"
CLAUSE_REQUIRED_EVIDENCE = "trust.required_evidence"
CLAUSE_WITNESS_MODE = "trust.witness_mode"
CLAUSE_STATUS_FRESHNESS = "trust.freshness.status"
CLAUSE_REVOCATION_FRESHNESS = "trust.freshness.revocation"
CLAUSE_TERRITORY = "trust.territory"

#: In ``issuer_permissions`` / ``required_evidence``: any registered party / any ledger kind.
ANY = "*"


@dataclass(frozen=True)
class TrustPolicy:
    """The parsed ``trust`` section of a :class:`Policy`. Build with :meth:`from_policy`."""

    policy_name: str
    policy_digest: str
    anchors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    gtin_authorities: frozenset[str] = frozenset()
    ipr_authorities: frozenset[str] = frozenset()
    issuer_permissions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    required_evidence: Mapping[str, frozenset[str]] = field(default_factory=dict)
    accept_witness: bool = False
    witnesses: frozenset[str] = frozenset()
    status_freshness: timedelta = timedelta(days=1)
    revocation_freshness: timedelta = timedelta(days=1)
    revocation_freshness_per_ledger: Mapping[str, timedelta] = field(default_factory=dict)
    territory: str = "US"
    #: Every ``roots_of_authority`` list by claim kind (workflows cite kinds beyond GTIN and IPR ownership).
    roots: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_policy(cls, policy: Policy) -> TrustPolicy:
        """The trust section of ``policy`` (already schema-checked by :class:`Policy`); defaults trust nothing."""
        return _from_policy(policy)

    def anchor_for(self, ledger_id: str) -> Mapping[str, Any] | None:
        """The pinned anchor of ``ledger_id``, or ``None`` when the policy pins none (evidence is then ``error``)."""
        return self.anchors.get(ledger_id)

    def revocation_bound(self, ledger_id: str) -> timedelta:
        """How old the last successful read of ``ledger_id`` may be at the check time."""
        return self.revocation_freshness_per_ledger.get(ledger_id, self.revocation_freshness)

    def may_issue(
        self, credential_types: list[str] | tuple[str, ...], party: str | None, did: str | None
    ) -> str | None:
        """``None`` when the issuer may issue every restricted type among ``credential_types``; else that type.

        ``party`` is the effective issuer's party id (``None`` when unregistered), ``did`` the issuer DID.
        """
        for t in credential_types:
            allowed = self.issuer_permissions.get(t)
            if allowed is None:
                continue
            if ANY in allowed and party is not None:
                continue
            if (party is not None and party in allowed) or (did is not None and did in allowed):
                continue
            return t
        return None

    def evidence_kinds_for(self, credential_types: list[str] | tuple[str, ...]) -> frozenset[str] | None:
        """Ledger kinds the credential's evidence must come from (``None``: no evidence required)."""
        kinds: set[str] = set()
        found = False
        for t in credential_types:
            if t in self.required_evidence:
                found = True
                kinds |= self.required_evidence[t]
        return frozenset(kinds) if found else None

    def is_gtin_authority(self, party: str | None, did: str | None) -> bool:
        """Whether the (effective) issuer is a root of authority for GTIN ownership."""
        return (party is not None and party in self.gtin_authorities) or (
            did is not None and did in self.gtin_authorities
        )

    def is_ipr_authority(self, party: str | None, did: str | None) -> bool:
        """Whether the (effective) issuer is a root of authority for IPR ownership."""
        return (party is not None and party in self.ipr_authorities) or (
            did is not None and did in self.ipr_authorities
        )


_CACHE: dict[str, TrustPolicy] = {}


def _from_policy(policy: Policy) -> TrustPolicy:
    # Parsed once per policy digest: a job consults it for every credential.
    cached = _CACHE.get(policy.digest)
    if cached is None:
        cached = _CACHE[policy.digest] = _build(policy)
    return cached


def _build(policy: Policy) -> TrustPolicy:
    raw: Mapping[str, Any] = policy.raw.get("trust") or {}
    roots = raw.get("roots_of_authority") or {}
    witness = raw.get("witness_mode") or {}
    fresh = raw.get("freshness") or {}
    return TrustPolicy(
        policy_name=policy.name,
        policy_digest=policy.digest,
        anchors={k: dict(v) for k, v in (raw.get("anchors") or {}).items()},
        gtin_authorities=frozenset(roots.get("gtin_ownership") or ()),
        ipr_authorities=frozenset(roots.get("ipr_ownership") or ()),
        issuer_permissions={k: frozenset(v) for k, v in (raw.get("issuer_permissions") or {}).items()},
        required_evidence={k: frozenset(v) for k, v in (raw.get("required_evidence") or {}).items()},
        accept_witness=bool(witness.get("accept", False)),
        witnesses=frozenset(witness.get("witnesses") or ()),
        status_freshness=timedelta(seconds=int(fresh.get("status", 86400))),
        revocation_freshness=timedelta(seconds=int(fresh.get("revocation", 86400))),
        revocation_freshness_per_ledger={
            k: timedelta(seconds=int(v)) for k, v in (fresh.get("revocation_per_ledger") or {}).items()
        },
        territory=str(raw.get("territory", "US")),
        roots={str(k): frozenset(v or ()) for k, v in roots.items()},
    )
