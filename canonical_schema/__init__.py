"""The canonical model of vcgate as data: pinned JSON-LD contexts, the offline document loader, JSON Schemas per
credential type, key encodings, problems and the root exception.

No I/O beyond reading package files.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._checks import Check, CheckStatus, CheckSummary, OverallStatus, overall_status
    from ._contexts import (
        CANONICAL_CONTEXT,
        CREDENTIALS_V1_URL,
        CREDENTIALS_V2_URL,
        TRACEABILITY_V1_URL,
        VCGATE_CONTEXT_URL,
        PinnedContext,
        document_loader,
        load_pinned,
        pinned_contexts,
    )
    from ._errors import ContextNotAllowedError, InputError, VcgateError
    from ._jcs import canonical_json
    from ._keycodec import (
        DecodedPublicKey,
        KeyType,
        b64url,
        b64url_decode,
        multibase_decode,
        public_key_from_cryptography,
        public_key_from_jwk,
        public_key_from_multibase,
        public_key_from_raw,
        secret_key_from_multibase,
        secret_key_to_multibase,
    )
    from ._problems import Problem, json_pointer
    from ._schema_formats import parse_date_time
    from ._schemas import known_credential_types, schema_for
    from ._validate import VALIDATION_PROBLEM_CODES, validate
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from ._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "CANONICAL_CONTEXT",
    "CREDENTIALS_V1_URL",
    "CREDENTIALS_V2_URL",
    "TRACEABILITY_V1_URL",
    "VALIDATION_PROBLEM_CODES",
    "VCGATE_CONTEXT_URL",
    "Check",
    "CheckStatus",
    "CheckSummary",
    "ContextNotAllowedError",
    "DecodedPublicKey",
    "InputError",
    "KeyType",
    "OverallStatus",
    "PinnedContext",
    "Problem",
    "VcgateError",
    "b64url",
    "b64url_decode",
    "canonical_json",
    "document_loader",
    "json_pointer",
    "known_credential_types",
    "load_pinned",
    "multibase_decode",
    "overall_status",
    "parse_date_time",
    "pinned_contexts",
    "public_key_from_cryptography",
    "public_key_from_jwk",
    "public_key_from_multibase",
    "public_key_from_raw",
    "schema_for",
    "secret_key_from_multibase",
    "secret_key_to_multibase",
    "validate",
]
