"""The customs node: Data Integrity proofs, keys, DIDs, status lists, issuing and verification.

Typical use::

    from vcgate.gateway import KeyPair, Policy, Verifier, DidResolver, sign
    signed = sign(credential, KeyPair.from_file("key.json"), suite="eddsa-rdfc-2022", created=now)
    result = Verifier(Policy.default(), DidResolver.offline()).check(signed, at=now)
    result.status  # "verified" | "invalid" | "error"
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._issuing import IssuingError, IssuingService
    from ._jobs import (
        EnvironmentSpec,
        Executor,
        InlineExecutor,
        JobError,
        JobSummary,
        LocalProcessExecutor,
        SyncReport,
        VerificationEnvironment,
        create_job,
        default_job_id,
        entry_for_credential,
        job_results,
        job_status,
        read_entry_file,
        run_entries,
        run_job,
        sync,
    )
    from ._links import (
        CredentialGraph,
        CredentialView,
        Entry,
        EntryError,
        EntryLine,
        EntryRow,
        EntryVerdict,
        EvidenceRef,
        LineVerdict,
        Reason,
        Step,
        credential_identifiers,
        entry_from_credential,
        normalize_gtin,
        parse_entry,
        prior_claims,
        read_entries_csv,
        read_entries_jsonl,
    )
    from ._parties import (
        Binding,
        ControlProof,
        Identifier,
        Party,
        PartyError,
        PartyRegistry,
        binding_challenge,
        check_binding_proof,
        sign_binding_challenge,
    )
    from ._reports import build_report, render_html, sign_report
    from ._store import Store, StoredCredential, StoreError, StoreStatusListFetcher
    from .verification._canonical import CanonicalizationError, jcs, rdfc, undefined_terms
    from .verification._dids import (
        DidJwkMethod,
        DidKeyMethod,
        DidMethod,
        DidResolutionError,
        DidResolver,
        DidWebMethod,
        VerificationMethod,
        did_web_url,
    )
    from .verification._jose import JoseError, check_vc_jwt, jwk_thumbprint, sign_vc_jwt, sign_vp_jwt
    from .verification._keys import KeyFileError, KeyPair, parse_key_type, verify_signature
    from .verification._pipeline import (
        CredentialPipeline,
        LedgerObservation,
        LedgerRevocation,
        PipelineResult,
        credential_digest,
    )
    from .verification._policy import Policy, PolicyError
    from .verification._proofs import (
        SUITES,
        Cryptosuite,
        HashData,
        ProofError,
        ProofVerification,
        hash_data,
        sign,
        verify_proof,
    )
    from .verification._status import (
        HttpStatusListFetcher,
        StaticStatusListFetcher,
        StatusEntry,
        StatusList,
        StatusListChecker,
        StatusListError,
        StatusListFetcher,
        StatusListFetchError,
        decode_bitstring,
        parse_status_entry,
        read_status,
    )
    from .verification._trust import TrustPolicy
    from .verification._verify import (
        CredentialVerificationError,
        VerificationResult,
        Verifier,
        check_validity,
        issuer_id,
        parse_json_strictly,
    )
    from .workflows._decide import decide_entry
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "SUITES",
    "Binding",
    "CanonicalizationError",
    "ControlProof",
    "CredentialGraph",
    "CredentialPipeline",
    "CredentialVerificationError",
    "CredentialView",
    "Cryptosuite",
    "DidJwkMethod",
    "DidKeyMethod",
    "DidMethod",
    "DidResolutionError",
    "DidResolver",
    "DidWebMethod",
    "Entry",
    "EntryError",
    "EntryLine",
    "EntryRow",
    "EntryVerdict",
    "EnvironmentSpec",
    "EvidenceRef",
    "Executor",
    "HashData",
    "HttpStatusListFetcher",
    "Identifier",
    "InlineExecutor",
    "IssuingError",
    "IssuingService",
    "JobError",
    "JobSummary",
    "JoseError",
    "KeyFileError",
    "KeyPair",
    "LedgerObservation",
    "LedgerRevocation",
    "LineVerdict",
    "LocalProcessExecutor",
    "Party",
    "PartyError",
    "PartyRegistry",
    "PipelineResult",
    "Policy",
    "PolicyError",
    "ProofError",
    "ProofVerification",
    "Reason",
    "StaticStatusListFetcher",
    "StatusEntry",
    "StatusList",
    "StatusListChecker",
    "StatusListError",
    "StatusListFetchError",
    "StatusListFetcher",
    "Step",
    "Store",
    "StoreError",
    "StoreStatusListFetcher",
    "StoredCredential",
    "SyncReport",
    "TrustPolicy",
    "VerificationEnvironment",
    "VerificationMethod",
    "VerificationResult",
    "Verifier",
    "binding_challenge",
    "build_report",
    "check_binding_proof",
    "check_validity",
    "check_vc_jwt",
    "create_job",
    "credential_digest",
    "credential_identifiers",
    "decide_entry",
    "decode_bitstring",
    "default_job_id",
    "did_web_url",
    "entry_for_credential",
    "entry_from_credential",
    "hash_data",
    "issuer_id",
    "jcs",
    "job_results",
    "job_status",
    "jwk_thumbprint",
    "normalize_gtin",
    "parse_entry",
    "parse_json_strictly",
    "parse_key_type",
    "parse_status_entry",
    "prior_claims",
    "rdfc",
    "read_entries_csv",
    "read_entries_jsonl",
    "read_entry_file",
    "read_status",
    "render_html",
    "run_entries",
    "run_job",
    "sign",
    "sign_binding_challenge",
    "sign_report",
    "sign_vc_jwt",
    "sign_vp_jwt",
    "sync",
    "undefined_terms",
    "verify_proof",
    "verify_signature",
]
