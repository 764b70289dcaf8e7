"""``/parties``: the party registry over HTTP (docs/jobs.md, "Parties"; docs/http-api.md, "Parties").

A partner registers its own party (its client's DID) with ``register:adapters``; ``admin`` registers any party.
Every binding's proof of control is checked before anything is stored, exactly as ``vcgate parties add`` does.
Self-registration cannot take over what belongs to another party: an existing party id of another DID, a former DID
(``alsoKnownAs``) or an identifier another party holds is refused.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from .._parties import Party, PartyError, check_binding_proof
from ._auth import Principal
from ._problems import ApiError
from ._wiring import JSON_OBJECT, Wiring, WiringContext, own_party, require_any


def _party_json(party: Party) -> dict[str, Any]:
    return party.to_json()


def _identifier_owner(ctx: WiringContext, party: Party) -> tuple[str, str, str] | None:
    """An identifier of ``party`` already held by another registered party: (scheme, value, that party's id)."""
    registry = ctx.store.parties()
    for ident in party.identifiers:
        holder = registry.party_for_identifier(ident.scheme, ident.value)
        if holder is not None and holder.id != party.id:
            return ident.scheme, ident.value, holder.id
    return None


def parties_router() -> APIRouter:
    """The ``/parties`` routes."""
    from ._app import _json, _problem_responses, _ProtectedRoute

    router = APIRouter(route_class=_ProtectedRoute, tags=["parties"])

    @router.get(
        "/parties",
        summary="List registered parties",
        response_model=None,
        responses={
            200: {"description": "`{parties: [party document…]}`", **JSON_OBJECT},
            **_problem_responses(401, 403, 429),
        },
    )
    def list_parties(ctx: Wiring, _p: Annotated[Principal, Depends(require_any("read:jobs"))]) -> Response:
        """Every registered party with its identifiers and binding history."""
        return _json({"parties": [_party_json(p) for p in ctx.store.parties().parties]})

    @router.get(
        "/parties/{party_id}",
        summary="One party",
        response_model=None,
        responses={200: {"description": "The party document", **JSON_OBJECT}, **_problem_responses(401, 403, 404, 429)},
    )
    def get_party(
        party_id: str,
        ctx: Wiring,
        principal: Annotated[Principal, Depends(require_any("read:jobs", "register:adapters"))],
    ) -> Response:
        """The party; a client with only ``register:adapters`` may read its own party only."""
        party = ctx.store.parties().get(party_id) if len(party_id) <= 64 else None
        if party is None:
            raise ApiError(404, "PARTY_NOT_FOUND", "No such party", f"no party {party_id!r}")
        if not principal.has("read:jobs"):
            own_party(principal, party.did, f"party {party_id}")
        return _json(_party_json(party))

    @router.post(
        "/parties",
        summary="Register or update a party (every binding's proof of control is checked)",
        response_model=None,
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object", "description": "A party document"}}},
            }
        },
        responses={
            200: {"description": "Updated or unchanged: `{party, changed}`", **JSON_OBJECT},
            201: {"description": "Registered: `{party, changed: true}`", **JSON_OBJECT},
            **_problem_responses(400, 401, 403, 409, 413, 422, 429, 503),
        },
    )
    async def add_party(
        request: Request,
        ctx: Wiring,
        principal: Annotated[Principal, Depends(require_any("register:adapters"))],
    ) -> Response:
        """Add or update a party: the caller's own DID (or any, for ``admin``), bindings proven, history kept."""
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(400, "MALFORMED_JSON", "Malformed JSON", str(exc)) from None
        return await _add_party(request, ctx, principal, body)

    return router


async def _add_party(request: Request, ctx: WiringContext, principal: Principal, body: Any) -> Response:
    import anyio.to_thread

    from ._app import _json

    try:
        party = Party.from_json(body)
    except PartyError as exc:
        raise ApiError(400, exc.code, "Invalid party document", str(exc)) from None
    request.state.audit_target = party.id
    own_party(principal, party.did, f"party {party.id}'s DID")
    existing = ctx.store.parties().get(party.id)
    if existing is not None:
        own_party(principal, existing.did, f"party {party.id}")
    if not principal.is_admin:
        # A former DID or an identifier would make lookups by that DID or number find this party: only an admin
        # may attach what could belong to someone else.
        if party.also_known_as and (existing is None or existing.also_known_as != party.also_known_as):
            raise ApiError(403, "PARTY_ALIAS_FORBIDDEN", "Aliases need admin", "only admin may set alsoKnownAs")
        taken = _identifier_owner(ctx, party)
        if taken is not None:
            raise ApiError(
                409,
                "PARTY_IDENTIFIER_TAKEN",
                "Identifier held by another party",
                f"{taken[0]} {taken[1]} belongs to party {taken[2]}",
            )
    resolver = ctx.api.verifier.resolver
    checks = await anyio.to_thread.run_sync(lambda: [check_binding_proof(party, b, resolver) for b in party.bindings])
    bad = [
        {"binding": i, "kind": b.kind, **(c.problem.to_json() if c.problem else {"code": c.status})}
        for i, (b, c) in enumerate(zip(party.bindings, checks, strict=True))
        if c.status != "passed"
    ]
    if bad:
        undecided = all(checks[item["binding"]].status == "error" for item in bad)
        first = bad[0]
        raise ApiError(
            503 if undecided else 400,
            "BINDING_PROOF_UNDECIDED" if undecided else "BINDING_PROOF_INVALID",
            "Proof of control not established",
            f"bindings[{first['binding']}] ({first['kind']}): {first.get('code')}: {first.get('detail', '')}",
            extra={"bindings": bad},
        )
    try:
        changed = ctx.store.put_party(party)
    except PartyError as exc:
        raise ApiError(409, exc.code, "Binding history cannot change", str(exc)) from None
    request.state.audit_detail = "registered" if existing is None else ("updated" if changed else "unchanged")
    return _json({"party": party.to_json(), "changed": changed}, status=201 if existing is None else 200)


__all__ = ["parties_router"]
