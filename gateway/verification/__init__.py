"""The verification core: the one verifier (:class:`Verifier`, all seven stages of ARCHITECTURE.md), parsing,
canonicalisation, proofs, DIDs, status lists, policy and the ledger stages over injected providers.

Store, jobs, API and CLI are its callers; it imports neither SQLAlchemy nor httpx at module level and does no I/O
itself (the did:web and status-list fetchers import httpx only when they are built). docs/verification.md.
"""

from ._ledger import LedgerObservation, LedgerRevocation, LedgerStageRunner, LedgerStages
from ._policy import UNSAFE_SWITCHES, Policy, PolicyError
from ._trust import TrustPolicy
from ._verify import CredentialVerificationError, VerificationResult, Verifier
from ._view import EvidenceItem, ParsedCredential

__all__ = [
    "UNSAFE_SWITCHES",
    "CredentialVerificationError",
    "EvidenceItem",
    "LedgerObservation",
    "LedgerRevocation",
    "LedgerStageRunner",
    "LedgerStages",
    "ParsedCredential",
    "Policy",
    "PolicyError",
    "TrustPolicy",
    "VerificationResult",
    "Verifier",
]
