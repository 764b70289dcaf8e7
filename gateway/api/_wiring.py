"""The routes that wire the jobs layer and adapter registration into the HTTP API: ``/parties``, ``/links``,
``/jobs``, ``/sync`` and ``/adapters`` (vcgate issue 8, "Build" items 1 and 4).

They share one :class:`WiringContext` per application: the jobs layer's :class:`~vcgate.gateway._store.Store` over
the API's own database (one database, every component's tables), the adapter registrations, and the background job
runner. Settings that only these routes need live in :class:`WiringSettings` (read from ``VCGATE_API_*``
variables by default, so ``vcgate serve`` workers pick them up without new options).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from starlette.responses import Response

from vcgate.canonical_schema import InputError

from .._store import Store
from ._auth import Principal
from ._problems import ApiError

if TYPE_CHECKING:
    from ._app import ApiContext
    from ._jobs_routes import JobRunner
    from ._registrations import AdapterRegistrations

log = logging.getLogger("vcgate.api")

#: OpenAPI fragment of a JSON object answer (the shapes are documented in docs/http-api.md).
JSON_OBJECT = {"content": {"application/json": {"schema": {"type": "object"}}}}


@dataclass(frozen=True)
class WiringSettings:
    """Settings of the ``/jobs``, ``/sync``, ``/parties``, ``/links`` and ``/adapters`` routes.

    ``checker_factory`` (``MODULE:FUNCTION`` returning ``{ledger kind: EvidenceChecker}``, as ``vcgate jobs run
    --checkers``) adds evidence checkers for ledgers whose adapter is not installed as a plugin; the gateway always
    checks evidence with its own checkers, never with a remote adapter's. ``job_workers`` > 1 runs jobs on a local
    process pool. ``conformance_timeout`` bounds the conformance run of one registration (seconds).
    ``unsafe_allow_loopback_adapters`` lets partners register adapter endpoints on this host's loopback interface
    (tests and demos only: otherwise a partner could make the gateway call services that listen only locally).
    ``reference_peer`` is the reference-library peer for the conformance case PRF-003; when neither it nor the
    suite's default peer (with Node.js) is available, registrations opt out of PRF-003 with that reason.
    """

    checker_factory: str | None = None
    job_workers: int = 1
    conformance_timeout: float = 300.0
    unsafe_allow_loopback_adapters: bool = False
    reference_peer: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WiringSettings:
        """From ``VCGATE_API_CHECKERS``, ``VCGATE_API_JOB_WORKERS``, ``VCGATE_API_CONFORMANCE_TIMEOUT``,
        ``VCGATE_API_UNSAFE_LOOPBACK_ADAPTERS`` (``1``) and ``VCGATE_REFERENCE_PEER`` (all optional)."""
        env = os.environ if environ is None else environ
        peer = env.get("VCGATE_REFERENCE_PEER")
        try:
            return cls(
                checker_factory=env.get("VCGATE_API_CHECKERS") or None,
                job_workers=int(env.get("VCGATE_API_JOB_WORKERS", "1")),
                conformance_timeout=float(env.get("VCGATE_API_CONFORMANCE_TIMEOUT", "300")),
                unsafe_allow_loopback_adapters=env.get("VCGATE_API_UNSAFE_LOOPBACK_ADAPTERS") == "1",
                reference_peer=Path(peer) if peer else None,
            )
        except ValueError as exc:
            raise InputError(f"invalid VCGATE_API_* setting: {exc}") from None


@dataclass
class WiringContext:
    """What the wired routes share: the API context, the jobs store over the same database, the adapter
    registrations and the job runner."""

    api: ApiContext
    settings: WiringSettings
    store: Store
    registrations: AdapterRegistrations
    jobs: JobRunner


def wiring(request: Request) -> WiringContext:
    """The application's :class:`WiringContext` (a FastAPI dependency)."""
    value: WiringContext = request.app.state.wiring
    return value


#: A route parameter: the application's :class:`WiringContext`.
Wiring = Annotated[WiringContext, Depends(wiring)]


def require_any(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the authenticated caller holding at least one of ``scopes`` (``admin`` holds every scope)."""
    from ._app import _authenticate, _oauth2

    security = Security(_oauth2, scopes=list(scopes))

    async def dependency(request: Request, _authorization: str | None = security) -> Principal:
        principal = getattr(request.state, "principal", None)
        if not isinstance(principal, Principal):
            principal = _authenticate(request)
        if not any(principal.has(s) for s in scopes):
            wanted = " or ".join(repr(s) for s in scopes)
            raise ApiError(
                403,
                "INSUFFICIENT_SCOPE",
                "Insufficient scope",
                f"this operation needs the {wanted} scope",
                headers={
                    "WWW-Authenticate": f'Bearer realm="vcgate", error="insufficient_scope", scope="{" ".join(scopes)}"'
                },
            )
        return principal

    return dependency


def own_party(principal: Principal, party: str | None, what: str) -> None:
    """403 ``PARTY_MISMATCH`` unless the caller is admin or acts for ``party``."""
    if principal.is_admin or party == principal.party:
        return
    raise ApiError(
        403,
        "PARTY_MISMATCH",
        "Not your party",
        f"{what} belongs to {party!r}; this client acts for {principal.party!r}",
    )


def wants_html(request: Request, fmt: str | None) -> bool:
    """``?format=html|json`` decides; without it, HTML when the client prefers ``text/html`` (a browser)."""
    if fmt is not None:
        if fmt not in ("html", "json"):
            raise ApiError(400, "FORMAT_UNKNOWN", "Unknown format", "format is html or json")
        return fmt == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split("text/html")[0]


def html_response(text: str) -> Response:
    """A self-contained HTML page (reports embed no scripts; forbid them anyway)."""
    return Response(
        text,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


def install_wiring(app: FastAPI, api: ApiContext, settings: WiringSettings | None = None) -> WiringContext:
    """Build the :class:`WiringContext` and include the ``/parties``, ``/links``, ``/jobs``, ``/sync`` and
    ``/adapters`` routers in ``app``."""
    from ._adapters import adapters_router
    from ._jobs_routes import JobRunner, jobs_router
    from ._links_routes import links_router
    from ._parties_routes import parties_router
    from ._registrations import AdapterRegistrations

    chosen = settings or WiringSettings.from_env()
    store = Store(api.db)
    ctx = WiringContext(
        api=api,
        settings=chosen,
        store=store,
        registrations=AdapterRegistrations(api.db),
        jobs=JobRunner(store, api, chosen),
    )
    app.state.wiring = ctx
    # The one verifier (issue 11): POST /credentials/verify and presentations run stages 3–7 over this store too.
    api.verifier = api.verifier.with_ledger(_store_stages(store, api, chosen))
    _read_kept_status_lists(store, api)
    app.include_router(parties_router())
    app.include_router(links_router())
    app.include_router(jobs_router())
    app.include_router(adapters_router())
    return ctx


def camel(row: Mapping[str, Any]) -> dict[str, Any]:
    """A store row with ``snake_case`` keys as ``camelCase`` JSON members."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        head, *rest = key.split("_")
        out[head + "".join(p.capitalize() for p in rest)] = value
    return out


__all__ = [
    "JSON_OBJECT",
    "Wiring",
    "WiringContext",
    "WiringSettings",
    "camel",
    "html_response",
    "install_wiring",
    "own_party",
    "require_any",
    "wants_html",
    "wiring",
]


def _read_kept_status_lists(store: Store, api: ApiContext) -> None:
    # Status lists `vcgate sync` kept in the store serve this API as they serve `vcgate verify --db` and jobs (one
    # result object for one credential, policy and instant); other URLs still go to the remote fetcher, if enabled.
    from .._store import LiveStoreStatusListFetcher
    from ..verification._status import StatusListChecker
    from ..verification._trust import TrustPolicy
    from ._status_lists import GatewayStatusListFetcher

    checker = api.verifier.status_checker
    if isinstance(checker, StatusListChecker) and isinstance(checker.fetcher, GatewayStatusListFetcher):
        own = checker.fetcher
        own.fallback = LiveStoreStatusListFetcher(
            store,
            clock=api.settings.clock,
            max_age_seconds=TrustPolicy.from_policy(api.settings.policy).status_freshness.total_seconds(),
            fallback=own.fallback,
        )


def _store_stages(store: Store, api: ApiContext, settings: WiringSettings) -> Any:
    from .._jobs import StoreLedgerStages, _load_factory
    from ..verification._trust import TrustPolicy

    # On top of the store's checkers as a job sees them (built-in offline ones, then the registered adapters'), as
    # `vcgate verify --db` and jobs do: one result object for one credential whichever way it is verified.
    checkers: dict[str, Any] = {}
    if settings.checker_factory:
        checkers.update(_load_factory(settings.checker_factory)())
    return StoreLedgerStages(store, TrustPolicy.from_policy(api.settings.policy), checkers=checkers)
