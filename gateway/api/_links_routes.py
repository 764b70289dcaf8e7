"""``GET /links/{identifier}``: query the credential graph (the HTTP form of ``vcgate links``; docs/jobs.md).

The credentials that carry the identifier (a GTIN, DID, credential id, licence id, invoice or entry number, …), each
with the identifiers it is indexed by, so a client can follow the graph one hop at a time.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from .._link_query import query_links as _query
from ._auth import Principal
from ._problems import ApiError
from ._wiring import JSON_OBJECT, WiringContext, require_any, wiring

MAX_IDENTIFIER = 2048


def query_links(ctx: WiringContext, identifier: str) -> dict[str, Any]:
    """``{query, credentials: [{id, types, issuer, matchedBy, identifiers, extends, source}]}``."""
    return _query(ctx.store, identifier)


def links_router() -> APIRouter:
    """The ``/links`` route."""
    from ._app import _json, _problem_responses, _ProtectedRoute

    router = APIRouter(route_class=_ProtectedRoute, tags=["jobs"])

    @router.get(
        "/links/{identifier:path}",
        summary="Credentials carrying an identifier, and the identifiers linking them",
        response_model=None,
        responses={
            200: {"description": "`{query, credentials: […]}` (empty when nothing carries it)", **JSON_OBJECT},
            **_problem_responses(400, 401, 403, 429),
        },
    )
    def links(
        identifier: str,
        ctx: Annotated[WiringContext, Depends(wiring)],
        _p: Annotated[Principal, Depends(require_any("read:jobs"))],
    ) -> Response:
        """Query the credential graph by GTIN, DID, credential id, licence id, invoice number, …"""
        if not identifier or len(identifier) > MAX_IDENTIFIER:
            raise ApiError(400, "IDENTIFIER_INVALID", "Invalid identifier", f"1 to {MAX_IDENTIFIER} characters")
        return _json(query_links(ctx, identifier))

    return router


__all__ = ["links_router", "query_links"]
