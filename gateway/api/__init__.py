"""The gateway's HTTP API: W3C VC-API, the presentation exchange, OAuth2 client credentials, audit (vcgate issue 8).

Typical use::

    from vcgate.gateway import KeyPair
    from vcgate.gateway.api import ApiSettings, create_app
    app = create_app(ApiSettings(key=KeyPair.from_file("gateway-key.json"), public_url="https://customs.example"))
    # serve with uvicorn, or `vcgate serve --key gateway-key.json --public-url https://customs.example`

Routes, scopes and problem codes are documented in ``docs/http-api.md`` and in the OpenAPI document at
``/openapi.json``.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._app import ApiContext, create_app
    from ._audit import AuditEntry, AuditLog
    from ._auth import (
        ADMIN_SCOPE,
        SCOPES,
        ClientInfo,
        ClientRegistry,
        NewClient,
        Principal,
        RateLimiter,
        TokenError,
        TokenService,
        check_party_did,
        parse_scopes,
    )
    from ._presentations import PresentationResult, check_presentation
    from ._problems import PROBLEM_MEDIA_TYPE, ApiError
    from ._records import CredentialStore, Exchange
    from ._server import app_from_env
    from ._settings import ApiSettings, GatewayIdentity, did_web_for_url
    from ._status_lists import GatewayStatusListFetcher, StatusLists
else:
    # Names are imported from their submodules on first use (see canonical_schema/_lazy.py).
    from vcgate.canonical_schema._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, __file__)


__all__ = [
    "ADMIN_SCOPE",
    "PROBLEM_MEDIA_TYPE",
    "SCOPES",
    "ApiContext",
    "ApiError",
    "ApiSettings",
    "AuditEntry",
    "AuditLog",
    "ClientInfo",
    "ClientRegistry",
    "CredentialStore",
    "Exchange",
    "GatewayIdentity",
    "GatewayStatusListFetcher",
    "NewClient",
    "PresentationResult",
    "Principal",
    "RateLimiter",
    "StatusLists",
    "TokenError",
    "TokenService",
    "app_from_env",
    "check_party_did",
    "check_presentation",
    "create_app",
    "did_web_for_url",
    "parse_scopes",
]
