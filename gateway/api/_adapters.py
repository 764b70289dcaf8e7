"""``/adapters``: registering remote adapters, gated by the adapter conformance suite (docs/http-api.md,
"Adapters"; the descriptor and the flow are described in ``_registrations``).

``POST /adapters`` verifies the signed descriptor in full (its issuer must be the caller's party), runs the
conformance suite against the endpoint in a separate interpreter (bounded in time) and activates the adapter only if
every case passes: an active adapter is registered in the jobs store, so ``vcgate sync`` / ``POST /sync`` pull it and
jobs use what it yields — each credential still verified in full. A failing adapter is stored as ``rejected`` with its
report and the failing case ids. Every attempt, re-registration and deactivation is an audited request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from vcgate.adapters.remote import RemoteAdapter
from vcgate.adapters.sdk import AdapterConfigError
from vcgate.canonical_schema import VcgateError
from vcgate.conformance_tests import ConformanceConfigError, Settings

from ._auth import Principal
from ._problems import ApiError
from ._registrations import AdapterDescriptor, DescriptorError, Registration, is_loopback_host, run_adapter_conformance
from ._wiring import JSON_OBJECT, Wiring, WiringContext, html_response, own_party, require_any, wants_html

#: Per-request settings of the remote adapter client the gateway uses for conformance and sync.
CLIENT_SETTINGS = {"timeout": 10, "retries": 1, "backoff": 0.25}


class RegistrationRequest(BaseModel):
    """``POST /adapters``: the signed descriptor and, when the service wants one, its bearer token (kept by the
    gateway to sync the adapter; never returned)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    descriptor: dict[str, Any]
    token: str | None = Field(default=None, min_length=1, max_length=4096)


def _parse(body: RegistrationRequest) -> AdapterDescriptor:
    try:
        return AdapterDescriptor.from_credential(body.descriptor)
    except DescriptorError as exc:
        raise ApiError(400, exc.code, "Invalid adapter descriptor", str(exc), extra={"pointer": exc.pointer}) from None


def _check_endpoint(ctx: WiringContext, descriptor: AdapterDescriptor) -> None:
    host = descriptor.endpoint.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    hostname = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    if is_loopback_host(hostname) and not ctx.settings.unsafe_allow_loopback_adapters:
        raise ApiError(
            400,
            "ADAPTER_ENDPOINT_REFUSED",
            "Endpoint refused",
            "adapter endpoints on the gateway's own loopback interface are refused",
            extra={"pointer": "/credentialSubject/adapterEndpoint"},
        )


def _own(principal: Principal, registration: Registration) -> None:
    if not principal.has("read:jobs"):
        own_party(principal, registration.party, f"adapter {registration.registration_id}")


def adapters_router() -> APIRouter:
    """The ``/adapters`` routes."""
    from ._app import _json, _problem_responses, _ProtectedRoute, _verification_response

    router = APIRouter(route_class=_ProtectedRoute, tags=["adapters"])

    def found(ctx: WiringContext, registration_id: str) -> Registration:
        registration = ctx.registrations.get(registration_id)
        if registration is None:
            raise ApiError(404, "ADAPTER_NOT_FOUND", "No such adapter", f"no adapter registration {registration_id!r}")
        return registration

    @router.post(
        "/adapters",
        summary="Register a remote adapter: its conformance run decides whether it is activated",
        response_model=None,
        status_code=201,
        responses={
            200: {"description": "Re-registered: the registration after this attempt", **JSON_OBJECT},
            201: {"description": "Registered (`state` active or rejected, with the failing case ids)", **JSON_OBJECT},
            **_problem_responses(400, 401, 403, 413, 422, 429, 503, verification=True),
        },
    )
    def register_adapter(
        request: Request,
        body: RegistrationRequest,
        ctx: Wiring,
        principal: Annotated[Principal, Depends(require_any("register:adapters"))],
    ) -> Response:
        """Verify the descriptor (issued by the caller's party), run the conformance suite against the endpoint,
        store the report, and activate the adapter only if it passed."""
        descriptor = _parse(body)
        request.state.audit_target = descriptor.registration_id
        own_party(principal, descriptor.party, "the descriptor's issuer")
        _check_endpoint(ctx, descriptor)
        try:
            Settings.from_section(descriptor.conformance, Path.cwd())
        except ConformanceConfigError as exc:
            raise ApiError(
                400,
                "DESCRIPTOR_MALFORMED",
                "Invalid conformance settings",
                str(exc),
                extra={"pointer": "/credentialSubject/conformance"},
            ) from None
        now = ctx.api.now()
        result = ctx.api.verifier.check(dict(descriptor.document), at=now)
        if result.status != "verified":
            _verification_response(result, "descriptor")
        config: dict[str, Any] = {"url": descriptor.endpoint, **CLIENT_SETTINGS}
        if body.token:
            config["token"] = body.token
        try:
            RemoteAdapter.from_config(config).close()
        except AdapterConfigError as exc:
            raise ApiError(
                400,
                "ADAPTER_ENDPOINT_REFUSED",
                "Endpoint refused",
                str(exc),
                extra={"pointer": "/credentialSubject/adapterEndpoint"},
            ) from None
        previous = ctx.registrations.get(descriptor.registration_id)
        outcome = run_adapter_conformance(
            descriptor,
            config,
            timeout=ctx.settings.conformance_timeout,
            reference_peer=ctx.settings.reference_peer,
        )
        info = _describe(config) if outcome.passed else None
        if info is not None:
            _require_checker(ctx, str(info.get("kind")))
        registration, new = ctx.registrations.record(
            descriptor, config, outcome, adapter_info=info, client_id=principal.client_id, at=ctx.api.now()
        )
        if registration.active:
            for mapping in descriptor.mappings:
                ctx.store.put_mapping(mapping)
            ctx.store.register_adapter(
                registration.registration_id,
                "remote",
                config,
                party=descriptor.party,
                kind=str(info["kind"]) if info else None,
                ledger_id=str(info["ledgerId"]) if info else None,
            )
        else:
            ctx.store.remove_adapter(registration.registration_id)
        verb = "registered" if new else f"re-registered (was {previous.state if previous else 'unknown'})"
        request.state.audit_detail = f"{verb}: {registration.state}; {outcome.reason}"[:1000]
        return _json(
            registration.to_json(),
            status=201 if new else 200,
            headers={"Location": f"/adapters/{registration.registration_id}"},
        )

    @router.get(
        "/adapters",
        summary="Registered adapters (the caller's party's, or all for admin and read:jobs)",
        response_model=None,
        responses={200: {"description": "`{adapters: […]}`", **JSON_OBJECT}, **_problem_responses(401, 403, 429)},
    )
    def list_adapters(
        ctx: Wiring, principal: Annotated[Principal, Depends(require_any("register:adapters", "read:jobs"))]
    ) -> Response:
        """Registrations with their state and conformance outcome."""
        party = None if principal.has("read:jobs") else principal.party
        return _json({"adapters": [r.to_json() for r in ctx.registrations.list(party)]})

    @router.get(
        "/adapters/{registration_id}",
        summary="One registered adapter",
        response_model=None,
        responses={200: {"description": "The registration", **JSON_OBJECT}, **_problem_responses(401, 403, 404, 429)},
    )
    def get_adapter(
        registration_id: str,
        ctx: Wiring,
        principal: Annotated[Principal, Depends(require_any("register:adapters", "read:jobs"))],
    ) -> Response:
        """State, conformance outcome (failing case ids), the adapter's description and its descriptor's id."""
        registration = found(ctx, registration_id)
        _own(principal, registration)
        return _json(registration.to_json())

    @router.get(
        "/adapters/{registration_id}/report",
        summary="The conformance report of the last registration attempt (JSON or HTML)",
        response_model=None,
        responses={
            200: {
                "description": "The conformance report (vcgate-conformance-report/1) or its HTML page",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            },
            **_problem_responses(400, 401, 403, 404, 429),
        },
    )
    def get_report(
        request: Request,
        registration_id: str,
        ctx: Wiring,
        principal: Annotated[Principal, Depends(require_any("register:adapters", "read:jobs"))],
        format: Annotated[str | None, Query(description="html or json (default: by Accept)")] = None,
    ) -> Response:
        """The report exactly as the suite wrote it."""
        html = wants_html(request, format)
        registration = found(ctx, registration_id)
        _own(principal, registration)
        report, page = ctx.registrations.report(registration_id)
        if (page if html else report) is None:
            raise ApiError(404, "REPORT_NOT_FOUND", "No report", f"{registration_id}: {registration.reason}")
        return html_response(str(page)) if html else _json(report)

    def deactivate(request: Request, ctx: WiringContext, principal: Principal, registration_id: str) -> Response:
        request.state.audit_target = registration_id
        registration = found(ctx, registration_id)
        own_party(principal, registration.party, f"adapter {registration_id}")
        if not ctx.registrations.deactivate(registration_id, at=ctx.api.now()):
            raise ApiError(
                409, "ADAPTER_NOT_ACTIVE", "Adapter not active", f"{registration_id} is {registration.state}"
            )
        ctx.store.remove_adapter(registration_id)
        request.state.audit_detail = "deactivated"
        after = ctx.registrations.get(registration_id)
        assert after is not None
        return _json(after.to_json())

    deactivate_responses: dict[int | str, dict[str, Any]] = {
        200: {"description": "The registration, now deactivated", **JSON_OBJECT},
        **_problem_responses(401, 403, 404, 409, 429),
    }

    @router.post(
        "/adapters/{registration_id}/deactivate",
        summary="Deactivate an adapter (it is no longer synced; its stored credentials stay)",
        response_model=None,
        responses=deactivate_responses,
    )
    def deactivate_adapter(
        request: Request,
        registration_id: str,
        ctx: Wiring,
        principal: Annotated[Principal, Depends(require_any("register:adapters"))],
    ) -> Response:
        """Deactivate the caller's party's adapter (or any, for admin)."""
        return deactivate(request, ctx, principal, registration_id)

    @router.delete(
        "/adapters/{registration_id}",
        summary="Deactivate an adapter (the same as POST …/deactivate; the record and report are kept)",
        response_model=None,
        responses=deactivate_responses,
    )
    def delete_adapter(
        request: Request,
        registration_id: str,
        ctx: Wiring,
        principal: Annotated[Principal, Depends(require_any("register:adapters"))],
    ) -> Response:
        """Deactivate the caller's party's adapter (or any, for admin)."""
        return deactivate(request, ctx, principal, registration_id)

    return router


def _require_checker(ctx: WiringContext, kind: str) -> None:
    """422 ``ADAPTER_KIND_UNCHECKED`` when the gateway has no evidence checker of the adapter's ledger kind (its
    credentials could never verify; the remote service's own checks are never trusted)."""
    from .._jobs import _load_factory
    from .._sync import SyncError, require_checker

    extra = set(_load_factory(ctx.settings.checker_factory)()) if ctx.settings.checker_factory else set()
    try:
        require_checker(kind, extra)
    except SyncError as exc:
        raise ApiError(422, "ADAPTER_KIND_UNCHECKED", "No evidence checker for the ledger kind", str(exc)) from None


def _describe(config: dict[str, Any]) -> dict[str, Any] | None:
    try:
        with RemoteAdapter.from_config(config) as adapter:
            return adapter.describe().to_json()
    except VcgateError:
        return None


__all__ = ["RegistrationRequest", "adapters_router"]
