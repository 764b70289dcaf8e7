"""The customs node: Data Integrity proofs, keys, DIDs, status lists, issuing and verification.

Typical use::

    from vcgate.gateway import KeyPair, Policy, Verifier, DidResolver, sign
    signed = sign(credential, KeyPair.from_file("key.json"), suite="eddsa-rdfc-2022", created=now)
    result = Verifier(Policy.default(), DidResolver.offline()).check(signed, at=now)
    result.status  # "verified" | "invalid" | "error"
"""

from ._canonical import CanonicalizationError, jcs, rdfc, undefined_terms
from ._dids import (
    DidJwkMethod,
    DidKeyMethod,
    DidMethod,
    DidResolutionError,
    DidResolver,
    DidWebMethod,
    VerificationMethod,
    did_web_url,
)
from ._issuing import IssuingError, IssuingService
from ._jose import JoseError, check_vc_jwt, jwk_thumbprint, sign_vc_jwt
from ._keys import KeyFileError, KeyPair, parse_key_type, verify_signature
from ._policy import Policy, PolicyError
from ._proofs import (
    SUITES,
    Cryptosuite,
    HashData,
    ProofError,
    ProofVerification,
    hash_data,
    sign,
    verify_proof,
)
from ._status import (
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
from ._verify import (
    CredentialVerificationError,
    VerificationResult,
    Verifier,
    check_validity,
    issuer_id,
    parse_json_strictly,
)

__all__ = [
    "SUITES",
    "CanonicalizationError",
    "CredentialVerificationError",
    "Cryptosuite",
    "DidJwkMethod",
    "DidKeyMethod",
    "DidMethod",
    "DidResolutionError",
    "DidResolver",
    "DidWebMethod",
    "HashData",
    "HttpStatusListFetcher",
    "IssuingError",
    "IssuingService",
    "JoseError",
    "KeyFileError",
    "KeyPair",
    "Policy",
    "PolicyError",
    "ProofError",
    "ProofVerification",
    "StaticStatusListFetcher",
    "StatusEntry",
    "StatusList",
    "StatusListChecker",
    "StatusListError",
    "StatusListFetchError",
    "StatusListFetcher",
    "VerificationMethod",
    "VerificationResult",
    "Verifier",
    "check_validity",
    "check_vc_jwt",
    "decode_bitstring",
    "did_web_url",
    "hash_data",
    "issuer_id",
    "jcs",
    "jwk_thumbprint",
    "parse_json_strictly",
    "parse_key_type",
    "parse_status_entry",
    "rdfc",
    "read_status",
    "sign",
    "sign_vc_jwt",
    "undefined_terms",
    "verify_proof",
    "verify_signature",
]
