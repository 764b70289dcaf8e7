"""The remote adapter: a ledger adapter reached over HTTP.

A partner whose adapter is not Python (or runs in its own infrastructure) implements the **remote adapter
protocol** — a small JSON-over-HTTP API published as an OpenAPI 3.1 document in this package (``openapi.yaml``,
:func:`protocol_document`) — and vcgate talks to it through :class:`RemoteAdapter`, which implements the adapter SDK
interface. ``vcgate adapters serve NAME`` exposes any installed Python adapter over the same protocol, optionally
signing translations in partner mode. See docs/remote-adapters.md.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._client import MAX_RESPONSE_BYTES, RemoteAdapter, RemoteEvidenceChecker, SigningInfo
    from ._errors import (
        IncompatibleProtocolError,
        RemoteAdapterError,
        RemoteAuthError,
        RemoteProtocolError,
        RemoteRecordNotFoundError,
        RemoteRequestError,
        RemoteUnavailableError,
    )
    from ._wire import (
        PROBLEM_MEDIA_TYPE,
        PROTOCOL_HEADER,
        PROTOCOL_VERSION,
        WireFormatError,
        WirePage,
        cursor_from_token,
        dumps,
        evidence_result_from_json,
        health_from_json,
        info_from_json,
        loads_strictly,
        page_from_json,
        page_to_json,
        problem_from_json,
        protocol_document,
        protocol_document_text,
        protocol_major,
        record_from_json,
        record_to_json,
        utc_time_from_json,
    )
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "MAX_RESPONSE_BYTES",
    "PROBLEM_MEDIA_TYPE",
    "PROTOCOL_HEADER",
    "PROTOCOL_VERSION",
    "IncompatibleProtocolError",
    "RemoteAdapter",
    "RemoteAdapterError",
    "RemoteAuthError",
    "RemoteEvidenceChecker",
    "RemoteProtocolError",
    "RemoteRecordNotFoundError",
    "RemoteRequestError",
    "RemoteUnavailableError",
    "SigningInfo",
    "WireFormatError",
    "WirePage",
    "cursor_from_token",
    "dumps",
    "evidence_result_from_json",
    "health_from_json",
    "info_from_json",
    "loads_strictly",
    "page_from_json",
    "page_to_json",
    "problem_from_json",
    "protocol_document",
    "protocol_document_text",
    "protocol_major",
    "record_from_json",
    "record_to_json",
    "utc_time_from_json",
]
