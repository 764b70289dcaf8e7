"""``GET /links/{identifier}``: query the credential graph (the HTTP form of ``vcgate links``; docs/jobs.md).

The credentials that carry the identifier (a GTIN, DID, credential id, licence id, invoice or entry number, …), each
with the identifiers it is indexed by, so a client can follow the graph one hop at a time.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from .._links import EntryError, normalize_gtin
from ._auth import Principal
from ._problems import ApiError
from ._wiring import JSON_OBJECT, WiringContext, require_any, wiring

MAX_IDENTIFIER = 2048


def query_links(ctx: WiringContext, identifier: str) -> dict[str, Any]:
    """``{query, credentials: [{id, types, issuer, matchedBy, identifiers, extends, source}]}``."""
    store = ctx.store
    value = identifier
    if identifier.isdigit():
        try:
            value = normalize_gtin(identifier)
        except EntryError:
            value = identifier
    hits = store.search(value)
    direct = store.credential(identifier)
    ids = sorted({h[2] for h in hits} | ({identifier} if direct else set()))
    stored = store.credentials(ids)
    nodes: list[dict[str, Any]] = []
    for cid in ids:
        sc = stored.get(cid)
        if sc is None:
            continue
        subject = sc.document.get("credentialSubject")
        extends = subject.get("extendsCredential") if isinstance(subject, dict) else None
        nodes.append(
            {
                "id": cid,
                "types": [t for t in sc.types if t != "VerifiableCredential"],
                "issuer": sc.issuer,
                "matchedBy": [f"{s}:{v}" for s, v, c in hits if c == cid] or ["id"],
                "identifiers": [f"{s}:{v}" for s, v in store.index_of(cid)],
                "extends": extends,
                "source": sc.source,
            }
        )
    return {"query": identifier, "credentials": nodes}


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
