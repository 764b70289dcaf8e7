"""The ASGI application: W3C VC-API routes, the presentation exchange, OAuth2 tokens, DID and status list
publication, health and the OpenAPI 3.1 document (vcgate issue 8).

Verification answers 200 when verified, 400 with the result as problem details when invalid, 503 when it could not
decide. Every error is an RFC 9457 ``application/problem+json`` document.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qsl, unquote_plus

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.security import OAuth2
from starlette.responses import Response

from vcgate.canonical_schema import VcgateError

from .._db import Database
from .._issuing import IssuerInstance
from ..verification._dids import DidResolutionError, DidResolver, DidWebMethod
from ..verification._jose import is_compact_jws
from ..verification._status import HttpStatusListFetcher, StatusListChecker, StatusListError
from ..verification._verify import VerificationResult, Verifier, parse_json_strictly
from ._audit import AuditLog
from ._auth import SCOPES, ClientRegistry, Principal, RateLimiter, TokenError, TokenService
from ._guard import RequestGuard
from ._issuers import gateway_signer, instance_signer, issue
from ._models import (
    AvailableRequest,
    AvailableResponse,
    HealthResponse,
    IssueCredentialRequest,
    IssueResponse,
    PresentationVerificationJson,
    ProblemJson,
    SubmissionRequest,
    SubmissionResponse,
    TokenResponse,
    UpdateStatusRequest,
    UpdateStatusResponse,
    VerificationJson,
    VerificationProblemJson,
    VerifyCredentialRequest,
    VerifyPresentationRequest,
)
from ._presentations import PresentationResult, check_presentation
from ._problems import PROBLEM_MEDIA_TYPE, ApiError, install_problem_handlers
from ._records import CredentialStore, Exchange
from ._settings import ApiSettings, GatewayIdentity
from ._status_lists import GatewayStatusListFetcher, StatusListConflictError, StatusLists

if TYPE_CHECKING:
    from ._wiring import WiringSettings

log = logging.getLogger("vcgate.api")

API_VERSION = "1.0.0"
STATUS_LIST_MEDIA_TYPE = "application/vc+ld+json"


def _package_version() -> str:
    try:
        return version("vcgate")
    except PackageNotFoundError:  # pragma: no cover - always installed
        return "0"


class _GatewayDidWeb:
    """did:web that answers the gateway's own DID from its key (no request to itself) and passes other DIDs to
    ``remote`` (None: refused, so verification never touches the network)."""

    method = "web"

    def __init__(
        self, identity: GatewayIdentity, remote: DidWebMethod | None, issuers: Iterable[IssuerInstance] = ()
    ) -> None:
        self._did = identity.did
        self._document = identity.did_document()
        self._remote = remote
        # did:web issuer instances live under the gateway's URL: answered locally too.
        self._instances = {i.did: i.did_document() for i in issuers if i.method == "web"}

    def resolve(self, did: str) -> dict[str, Any]:
        """The DID document."""
        if did == self._did:
            return self._document
        if did in self._instances:
            return self._instances[did]
        if self._remote is None:
            raise DidResolutionError(did, "resolving other did:web DIDs over the network is disabled")
        return self._remote.resolve(did)


@dataclass
class ApiContext:
    """Everything the routes share; one per application (per uvicorn worker)."""

    settings: ApiSettings
    identity: GatewayIdentity
    db: Database
    verifier: Verifier
    clients: ClientRegistry
    tokens: TokenService
    audit: AuditLog
    status_lists: StatusLists
    store: CredentialStore
    exchange: Exchange
    limiter: RateLimiter
    issuers: Mapping[str, IssuerInstance] = field(default_factory=dict)

    def now(self) -> datetime:
        """The current instant (from the settings' clock)."""
        return self.settings.clock()


def _build_context(settings: ApiSettings) -> ApiContext:
    identity = settings.identity
    db = Database.open(settings.database_url, migrate=settings.migrate)
    remote_web = (
        DidWebMethod(unsafe_allow_http_localhost=settings.unsafe_allow_http_localhost)
        if settings.resolve_remote_dids
        else None
    )
    issuers = {i.name: i for i in settings.issuer_instances()}
    web = _GatewayDidWeb(identity, remote_web, issuers.values())
    if settings.resolve_remote_dids:
        try:
            resolver = DidResolver.default(web=None, load_plugins=True)
        except VcgateError as exc:
            log.warning("DID method plugins not loaded: %s", exc)
            resolver = DidResolver.default(web=None, load_plugins=False)
    else:
        resolver = DidResolver.offline()
    resolver.register(web)
    status_lists = StatusLists(db, identity, settings.clock)
    fallback = (
        HttpStatusListFetcher(unsafe_allow_http_localhost=settings.unsafe_allow_http_localhost)
        if settings.resolve_remote_dids
        else None
    )
    checker = StatusListChecker(GatewayStatusListFetcher(status_lists, fallback))
    verifier = Verifier(settings.policy, resolver, status_checker=checker)
    return ApiContext(
        settings=settings,
        identity=identity,
        db=db,
        verifier=verifier,
        clients=ClientRegistry(db),
        tokens=TokenService(identity, settings.token_ttl_seconds),
        audit=AuditLog(db),
        status_lists=status_lists,
        store=CredentialStore(db),
        exchange=Exchange(db),
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        issuers=issuers,
    )


# --- strict JSON bodies --------------------------------------------------------------------------------------


class _StrictJsonRequest(Request):
    """Parses JSON bodies strictly (no duplicate keys, NaN or Infinity; depth limit), like the verifier does.

    A parse failure surfaces as ``json.JSONDecodeError`` so FastAPI reports it; its message starts with the stable
    problem code (see ``_problems._validation_problem``).
    """

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            ctx: ApiContext = self.app.state.ctx
            body = await self.body()
            value, check = parse_json_strictly(
                body,
                max_bytes=ctx.settings.max_request_bytes,
                # The request envelope nests the credential two levels deeper.
                max_depth=ctx.settings.policy.max_json_depth + 2,
            )
            if check.status != "passed":
                problem = check.problem
                msg = f"{problem.code}: {problem.detail}" if problem else "MALFORMED_JSON: invalid JSON"
                raise json.JSONDecodeError(msg, body.decode("utf-8", "replace")[:200], 0)
            self._json = value
        return self._json


class _ProtectedRoute(APIRoute):
    """A route that needs a bearer token: the caller is authenticated before the body is even parsed (an
    unauthenticated request gets 401 whatever it sent), then JSON bodies are parsed strictly."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def protected(request: Request) -> Response:
            _authenticate(request)
            return await handler(_StrictJsonRequest(request.scope, request.receive))

        return protected


# --- auth ----------------------------------------------------------------------------------------------------

_oauth2 = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth2/token", scopes=SCOPES)),
    scheme_name="oauth2",
    auto_error=False,
)


def _unauthorized(code: str, title: str, detail: str, error: str | None = None) -> ApiError:
    challenge = 'Bearer realm="vcgate"' + (f', error="{error}"' if error else "")
    return ApiError(401, code, title, detail, headers={"WWW-Authenticate": challenge})


def _authenticate(request: Request) -> Principal:
    """The caller of ``request``: a valid bearer token of an unrevoked client (401 otherwise), rate-limited per
    client (429). Remembered in ``request.state.principal`` (the audit log reads it there)."""
    ctx: ApiContext = request.app.state.ctx
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() != "bearer ":
        raise _unauthorized("UNAUTHORIZED", "Authentication required", "send an OAuth2 bearer token")
    try:
        principal = ctx.tokens.check(authorization[7:].strip(), ctx.now())
    except TokenError as exc:
        title = "Access token expired" if exc.code == "TOKEN_EXPIRED" else "Invalid access token"
        raise _unauthorized(exc.code, title, str(exc), "invalid_token") from None
    client = ctx.clients.active(principal.client_id)
    if client is None or client.party != principal.party:
        raise _unauthorized("CLIENT_REVOKED", "Client revoked", "the token's client is revoked", "invalid_token")
    request.state.principal = principal
    wait = ctx.limiter.take("client:" + principal.client_id)
    if wait:
        seconds = max(1, int(wait + 0.999))
        raise ApiError(
            429,
            "RATE_LIMITED",
            "Too many requests",
            f"rate limit exceeded; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    return principal


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the authenticated caller (see :class:`_ProtectedRoute`) holding ``scope`` (or ``admin``)."""

    # A default value, not an Annotated[] string: annotations are evaluated in module scope, `scope` is local. The
    # security parameter documents the scope in the OpenAPI document; the token itself is checked by
    # _authenticate.
    security = Security(_oauth2, scopes=[scope])

    async def dependency(request: Request, _authorization: str | None = security) -> Principal:
        principal = getattr(request.state, "principal", None)
        if not isinstance(principal, Principal):
            principal = _authenticate(request)
        if not principal.has(scope):
            raise ApiError(
                403,
                "INSUFFICIENT_SCOPE",
                "Insufficient scope",
                f"this operation needs the {scope!r} scope",
                headers={"WWW-Authenticate": f'Bearer realm="vcgate", error="insufficient_scope", scope="{scope}"'},
            )
        return principal

    return dependency


def _own_party(principal: Principal, party: str | None, what: str) -> None:
    if principal.is_admin or party == principal.party:
        return
    raise ApiError(
        403,
        "PARTY_MISMATCH",
        "Not your party",
        f"{what} belongs to {party!r}; this client acts for {principal.party!r}",
    )


# --- responses -----------------------------------------------------------------------------------------------


def _json(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(value, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _verification_response(result: VerificationResult | PresentationResult, what: str) -> Response:
    body = result.to_json()
    if result.status == "verified":
        return _json(body)
    first = result.problems[0] if result.problems else None
    detail = f"{first.code}: {first.detail or first.title}" if first else result.status
    invalid = result.status == "invalid"
    problem = ApiError(
        400 if invalid else 503,
        f"{what.upper()}_INVALID" if invalid else "VERIFICATION_UNDECIDED",
        f"{what.capitalize()} not verified" if invalid else "Verification could not be decided",
        detail,
        # RFC 9457 §3.1.4: ``status`` is the HTTP status; the verification status moves to ``verificationStatus``.
        extra={("verificationStatus" if k == "status" else k): v for k, v in body.items()},
    )
    raise problem


def _problem_responses(*codes: int, verification: bool = False) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        out[code] = {
            "description": _DESCRIPTIONS.get(code, "Problem"),
            # A verification endpoint's 400/503 carries the result, unless the request itself was unusable.
            "x-problem": (
                "VerificationProblemJson|ProblemJson" if verification and code in (400, 503) else "ProblemJson"
            ),
        }
    out["default"] = {"description": "Problem (RFC 9457)", "x-problem": "ProblemJson"}
    return out


_DESCRIPTIONS = {
    400: "Invalid input",
    401: "Missing, invalid or expired access token",
    403: "Insufficient scope, or another party's resource",
    404: "Not found",
    409: "Conflict",
    413: "Request too large",
    422: "Request does not match the schema",
    429: "Rate limited",
    503: "Could not decide (a DID or status list unreachable)",
}

# --- routes --------------------------------------------------------------------------------------------------


def _ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ApiContext, Depends(_ctx)]


_LOCAL_DID_METHODS = ("did:key:", "did:jwk:")


def _resolves_locally(credential: Any, ctx: ApiContext) -> bool:
    """Whether verifying ``credential`` needs no network: every proof's key is a did:key/did:jwk or the gateway's
    own, and every status list is the gateway's. A conservative pre-check on unverified input (anything unusual
    answers False, which only moves the work to a thread)."""
    if not isinstance(credential, dict):
        return False
    proofs = credential.get("proof")
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        if not isinstance(proof, dict):
            continue
        vm = proof.get("verificationMethod")
        if not isinstance(vm, str):
            continue
        if not (vm.startswith(_LOCAL_DID_METHODS) or vm.split("#", 1)[0] == ctx.identity.did):
            return False
    statuses = credential.get("credentialStatus")
    own_lists = ctx.identity.public_url + "/status/"
    for entry in statuses if isinstance(statuses, list) else [] if statuses is None else [statuses]:
        url = entry.get("statusListCredential") if isinstance(entry, dict) else None
        if isinstance(url, str) and not url.startswith(own_lists):
            return False
    return True


def _credentials_router() -> APIRouter:
    router = APIRouter(route_class=_ProtectedRoute, tags=["credentials"])

    @router.post(
        "/credentials/verify",
        summary="Verify a credential",
        response_model=None,
        responses={
            200: {"model": VerificationJson},
            **_problem_responses(400, 401, 403, 413, 422, 429, 503, verification=True),
        },
    )
    async def verify_credential(
        body: VerifyCredentialRequest,
        ctx: Ctx,
        _p: Annotated[Principal, Depends(require("verify:credentials"))],
    ) -> Response:
        """Run the full pipeline on a JSON-LD credential or a compact ``vc+jwt``: 200 verified, 400 invalid (the
        result as problem details), 503 undecided."""
        credential, at = body.verifiableCredential, ctx.now()
        if isinstance(credential, str) and not is_compact_jws(credential):
            # A credential is a JSON object or a compact vc+jwt; a JSON text in a string is neither.
            raise ApiError(
                400,
                "CREDENTIAL_NOT_OBJECT",
                "Not a credential",
                "verifiableCredential must be a JSON object or a compact vc+jwt string",
            )
        if _resolves_locally(credential, ctx):
            # Pure CPU work (~2 ms): run it on the event loop; a worker thread only adds a hand-off and GIL
            # contention (~5% more CPU per request, docs/http-api.md "Performance").
            result = ctx.verifier.check(credential, at=at)
        else:
            # It may resolve a did:web or fetch a status list: keep the event loop free meanwhile.
            result = await anyio.to_thread.run_sync(lambda: ctx.verifier.check(credential, at=at))
        return _verification_response(result, "credential")

    @router.post(
        "/credentials/issue",
        summary="Issue a credential with the gateway's key",
        status_code=201,
        response_model=None,
        responses={201: {"model": IssueResponse}, **_problem_responses(400, 401, 403, 409, 413, 422, 429)},
    )
    def issue_credential(
        request: Request,
        body: IssueCredentialRequest,
        ctx: Ctx,
        principal: Annotated[Principal, Depends(require("issue:credentials"))],
    ) -> Response:
        """Sign ``credential`` as the gateway (witness mode) for the caller's party; optionally with a status entry."""
        return issue(request, body, ctx, principal.party, gateway_signer(ctx.identity.key))

    @router.post(
        "/credentials/status",
        summary="Update a credential's status (revoke, suspend, restore)",
        response_model=None,
        responses={200: {"model": UpdateStatusResponse}, **_problem_responses(400, 401, 403, 404, 413, 422, 429)},
    )
    def update_status(
        request: Request,
        body: UpdateStatusRequest,
        ctx: Ctx,
        principal: Annotated[Principal, Depends(require("update:credentials"))],
    ) -> Response:
        """Set (``"1"``) or clear (``"0"``) the status entry of a credential the caller's party owns; the list
        credential is re-signed and served at ``/status/{list_id}`` at once."""
        request.state.audit_target = body.credentialId
        stored = ctx.store.get(body.credentialId)
        if stored is None or stored.source != "issued":
            raise ApiError(404, "CREDENTIAL_NOT_FOUND", "No such credential", "the gateway did not issue it")
        _own_party(principal, stored.party, "the credential")
        if stored.status_list_id is None or stored.status_index is None:
            raise ApiError(400, "CREDENTIAL_HAS_NO_STATUS", "No status entry", "it was issued without one")
        entry = stored.document.get("credentialStatus") if isinstance(stored.document, dict) else None
        purpose = str(entry.get("statusPurpose")) if isinstance(entry, dict) else "revocation"
        results = []
        for change in body.credentialStatus:
            if change.type not in ("BitstringStatusListEntry", "BitstringStatusListCredential"):
                raise ApiError(
                    400,
                    "STATUS_TYPE_UNSUPPORTED",
                    "Unsupported status type",
                    f"{change.type!r}: the gateway keeps Bitstring Status Lists",
                )
            if change.statusPurpose is not None and change.statusPurpose != purpose:
                raise ApiError(
                    400,
                    "STATUS_PURPOSE_MISMATCH",
                    "Status purpose mismatch",
                    f"the credential's entry is for {purpose!r}",
                )
        for change in body.credentialStatus:
            try:
                ctx.status_lists.set(stored.status_list_id, stored.status_index, int(change.status))
            except StatusListConflictError as exc:
                raise ApiError(503, "STATUS_BUSY", "Status lists busy", str(exc)) from None
            except (KeyError, StatusListError) as exc:
                raise ApiError(400, "STATUS_UPDATE_FAILED", "Cannot update status", str(exc)) from None
            results.append(
                {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": purpose,
                    "status": change.status,
                    "statusListCredential": ctx.identity.status_list_url(stored.status_list_id),
                    "statusListIndex": str(stored.status_index),
                }
            )
        return _json({"credentialId": stored.credential_id, "credentialStatus": results})

    @router.get(
        "/credentials/{credential_id}",
        summary="Get a credential the caller's party owns",
        response_model=None,
        responses={
            200: {
                "description": "The verifiable credential (a JSON-LD object, or a compact vc+jwt string)",
                "content": {"application/json": {"schema": {"anyOf": [{"type": "object"}, {"type": "string"}]}}},
            },
            **_problem_responses(401, 403, 404, 429),
        },
    )
    def get_credential(
        credential_id: str,
        ctx: Ctx,
        principal: Annotated[Principal, Depends(require("read:credentials"))],
    ) -> Response:
        """The stored credential (issued by the gateway or received in a submission)."""
        stored = ctx.store.get(credential_id)
        if stored is None:
            raise ApiError(404, "CREDENTIAL_NOT_FOUND", "No such credential", f"no credential {credential_id!r}")
        _own_party(principal, stored.party, "the credential")
        return _json(stored.document)

    return router


def _issuers_router() -> APIRouter:
    router = APIRouter(route_class=_ProtectedRoute, tags=["issuers"])

    @router.post(
        "/issuers/{name}/credentials/issue",
        summary="Issue a credential as one of the configured issuer instances",
        status_code=201,
        response_model=None,
        responses={201: {"model": IssueResponse}, **_problem_responses(400, 401, 403, 404, 409, 413, 422, 429)},
    )
    def issue_as_instance(
        name: str,
        request: Request,
        body: IssueCredentialRequest,
        ctx: Ctx,
        principal: Annotated[Principal, Depends(require("issue:credentials"))],
    ) -> Response:
        """Sign ``credential`` as issuer instance ``name`` (its did:key or did:web; its suites or vc+jwt)."""
        instance = ctx.issuers.get(name)
        if instance is None:
            raise ApiError(404, "ISSUER_NOT_FOUND", "No such issuer", f"no issuer instance {name!r} is configured")
        return issue(request, body, ctx, principal.party, instance_signer(instance))

    return router


def _presentations_router() -> APIRouter:
    router = APIRouter(route_class=_ProtectedRoute, tags=["presentations"])

    @router.post(
        "/presentations/verify",
        summary="Verify a presentation",
        response_model=None,
        responses={
            200: {"model": PresentationVerificationJson},
            **_problem_responses(400, 401, 403, 413, 422, 429, 503, verification=True),
        },
    )
    def verify_presentation(
        body: VerifyPresentationRequest,
        ctx: Ctx,
        _p: Annotated[Principal, Depends(require("verify:presentations"))],
    ) -> Response:
        """Verify the presentation's ``authentication`` proof (bound to ``options.domain``/``challenge`` when given),
        the holder binding and every embedded credential."""
        options = body.options
        result = check_presentation(
            body.verifiablePresentation,
            ctx.verifier,
            at=ctx.now(),
            domain=options.domain if options else None,
            challenge=options.challenge if options else None,
        )
        return _verification_response(result, "presentation")

    @router.post(
        "/presentations/available",
        summary="Start a presentation exchange: get a domain and a one-time challenge",
        response_model=None,
        responses={200: {"model": AvailableResponse}, **_problem_responses(401, 403, 413, 422, 429)},
    )
    def presentations_available(
        request: Request,
        ctx: Ctx,
        principal: Annotated[Principal, Depends(require("submit:presentations"))],
        body: AvailableRequest | None = None,
    ) -> Response:
        """A challenge bound to the caller's party, valid for ``challenge_ttl_seconds``."""
        now = ctx.now()
        query = body.query if body else None
        challenge = ctx.exchange.new_challenge(
            domain=ctx.identity.domain,
            party=principal.party,
            client_id=principal.client_id,
            query=query,
            at=now,
            ttl_seconds=ctx.settings.challenge_ttl_seconds,
        )
        request.state.audit_target = challenge.challenge
        out: dict[str, Any] = {
            "domain": challenge.domain,
            "challenge": challenge.challenge,
            "expires": challenge.expires_at.isoformat().replace("+00:00", "Z"),
        }
        if query is not None:
            out["query"] = query
        return _json(out)

    @router.post(
        "/presentations/submissions",
        summary="Submit a presentation signed with a challenge from /presentations/available",
        response_model=None,
        responses={
            200: {"model": SubmissionResponse},
            **_problem_responses(400, 401, 403, 409, 413, 422, 429, 503, verification=True),
        },
    )
    def submit_presentation(
        request: Request,
        body: SubmissionRequest,
        ctx: Ctx,
        principal: Annotated[Principal, Depends(require("submit:presentations"))],
    ) -> Response:
        """Verify the presentation (holder = the caller's party, the challenge it was given, the gateway's domain)
        and store its credentials."""
        vp = body.verifiablePresentation
        holder = vp.get("holder")
        holder_id = holder if isinstance(holder, str) else holder.get("id") if isinstance(holder, dict) else None
        if not isinstance(holder_id, str):
            raise ApiError(400, "HOLDER_REQUIRED", "Holder required", "a submitted presentation must name its holder")
        _own_party(principal, holder_id, "the presentation's holder")
        proof = vp.get("proof")
        value = proof.get("challenge") if isinstance(proof, dict) else None
        if not isinstance(value, str) or len(value) > 128:
            raise ApiError(400, "CHALLENGE_UNKNOWN", "Unknown challenge", "proof.challenge must be an issued one")
        request.state.audit_target = value
        challenge = ctx.exchange.challenge(value)
        now = ctx.now()
        if challenge is None:
            raise ApiError(400, "CHALLENGE_UNKNOWN", "Unknown challenge", "get one from /presentations/available")
        _own_party(principal, challenge.party, "the challenge")
        if challenge.used:
            raise ApiError(409, "CHALLENGE_USED", "Challenge used", "each challenge is accepted once")
        if now >= challenge.expires_at:
            raise ApiError(400, "CHALLENGE_EXPIRED", "Challenge expired", "get a new one")
        result = check_presentation(vp, ctx.verifier, at=now, domain=challenge.domain, challenge=challenge.challenge)
        if result.status != "verified":
            _verification_response(result, "presentation")
        raw = vp.get("verifiableCredential")
        items = [] if raw is None else raw if isinstance(raw, list) else [raw]
        stored: list[tuple[str, Any, Mapping[str, Any]]] = []
        for original, cred_result in zip(items, result.credentials, strict=True):
            doc = cred_result.credential or {}
            cid = doc.get("id")
            if not isinstance(cid, str) or not cid:
                digest = hashlib.sha256(json.dumps(original, sort_keys=True).encode("utf-8")).hexdigest()
                cid = f"urn:sha256:{digest}"
            stored.append((cid[:2048], original, doc))
        submission_id = ctx.exchange.submit(
            challenge=challenge.challenge,
            party=principal.party,
            client_id=principal.client_id,
            holder=holder_id,
            presentation=vp,
            credentials=stored,
            at=now,
        )
        if submission_id is None:
            raise ApiError(409, "CHALLENGE_USED", "Challenge used", "each challenge is accepted once")
        # Index them in the jobs store too, so jobs and /links find them (verified again in full when used).
        from ._jobs_routes import index_submission

        index_submission(request, submission_id, [(cid, original) for cid, original, _ in stored])
        return _json(
            {
                "submissionId": submission_id,
                "verified": True,
                "holder": holder_id,
                "credentialIds": [c[0] for c in stored],
            }
        )

    return router


_TOKEN_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {"type": "string", "enum": ["client_credentials"]},
                    "scope": {"type": "string"},
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"},
                },
            }
        }
    },
}


def _oauth_error(status: int, error: str, detail: str, headers: Mapping[str, str] | None = None) -> ApiError:
    # RFC 6749 §5.2 error codes as extension members of the problem document.
    return ApiError(
        status,
        "OAUTH_" + error.upper(),
        "Token request refused",
        detail,
        extra={"error": error, "error_description": detail},
        headers=headers,
    )


def _basic_credentials(header: str) -> tuple[str, str] | None:
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _oauth_error(401, "invalid_client", "malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise _oauth_error(401, "invalid_client", "malformed Basic credentials")
    # RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
    return unquote_plus(user), unquote_plus(password)


def _token_router() -> APIRouter:
    router = APIRouter(tags=["oauth2"])

    @router.post(
        "/oauth2/token",
        summary="OAuth2 client credentials grant",
        response_model=None,
        openapi_extra={"requestBody": _TOKEN_BODY, "security": [{"clientBasic": []}, {}]},
        responses={200: {"model": TokenResponse}, **_problem_responses(400, 401, 413, 429)},
    )
    async def token(request: Request, ctx: Ctx) -> Response:
        """Exchange client credentials (HTTP Basic or form) for a short-lived access token (RFC 6749 §4.4)."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise _oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded (RFC 6749 §4.4.2)")
        try:
            pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            raise _oauth_error(400, "invalid_request", "malformed form body") from None
        form: dict[str, str] = {}
        for name, value in pairs:
            if name in form:
                raise _oauth_error(400, "invalid_request", f"parameter {name!r} given more than once (RFC 6749 §3.2)")
            form[name] = value
        if form.get("grant_type") != "client_credentials":
            raise _oauth_error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic and ("client_id" in form or "client_secret" in form):
            raise _oauth_error(400, "invalid_request", "authenticate with one method only (RFC 6749 §2.3)")
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id and len(client_id) <= 64:
            request.state.audit_client_id = client_id
        unauthorized_headers = {"WWW-Authenticate": 'Basic realm="vcgate"'} if basic else None
        if not client_id or not secret:
            raise _oauth_error(401, "invalid_client", "client authentication required", unauthorized_headers)
        client = await anyio.to_thread.run_sync(ctx.clients.authenticate, client_id, secret)
        if client is None:
            raise _oauth_error(401, "invalid_client", "unknown client or wrong secret", unauthorized_headers)
        requested = form.get("scope")
        if requested is None or not requested.strip():
            scopes = client.scopes
        else:
            scopes = frozenset(requested.split())
            if not scopes <= client.scopes:
                extra = " ".join(sorted(scopes - client.scopes))
                raise _oauth_error(400, "invalid_scope", f"the client may not request: {extra}")
        request.state.audit_target = client.client_id
        issued = ctx.tokens.issue(client, scopes, ctx.now())
        return _json(
            {
                "access_token": issued.token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": " ".join(sorted(issued.scopes)),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    return router


def _public_router() -> APIRouter:
    router = APIRouter(tags=["discovery"])

    did_responses: dict[int | str, dict[str, Any]] = {
        200: {
            "description": "The gateway's did:web DID document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **_problem_responses(429),
    }

    @router.get("/did.json", summary="The gateway's DID document", response_model=None, responses=did_responses)
    async def did_json(ctx: Ctx) -> Response:
        """The did:web document of the gateway (also at ``/.well-known/did.json`` for a bare-domain did:web)."""
        return _json(ctx.identity.did_document())

    @router.get(
        "/issuers/{name}/did.json",
        summary="The DID document of a did:web issuer instance",
        response_model=None,
        responses={**did_responses, 404: {"description": "No such did:web issuer instance"}},
    )
    async def issuer_did_json(name: str, ctx: Ctx) -> Response:
        """``<gateway did>:issuers:<name>`` resolves here (did:web path form)."""
        instance = ctx.issuers.get(name)
        if instance is None or instance.method != "web":
            raise ApiError(404, "ISSUER_NOT_FOUND", "No such issuer", f"no did:web issuer instance {name!r}")
        return _json(instance.did_document())

    @router.get(
        "/.well-known/did.json",
        summary="The gateway's DID document (bare-domain did:web)",
        response_model=None,
        responses=did_responses,
    )
    async def well_known_did(ctx: Ctx) -> Response:
        """The same document as ``/did.json``."""
        return _json(ctx.identity.did_document())

    @router.get(
        "/status/{list_id}",
        summary="A status list credential",
        response_model=None,
        responses={
            200: {
                "description": "The signed BitstringStatusListCredential",
                "content": {STATUS_LIST_MEDIA_TYPE: {"schema": {"type": "object"}}},
            },
            **_problem_responses(404, 429),
        },
    )
    def status_list(list_id: str, ctx: Ctx) -> Response:
        """The current, signed list credential (re-signed on every change)."""
        body = ctx.status_lists.credential(list_id) if len(list_id) <= 64 else None
        if body is None:
            raise ApiError(404, "STATUS_LIST_NOT_FOUND", "No such status list", f"no list {list_id!r}")
        return Response(body, media_type=STATUS_LIST_MEDIA_TYPE, headers={"Cache-Control": "no-cache"})

    @router.get(
        "/health",
        summary="Liveness",
        response_model=None,
        responses={200: {"model": HealthResponse}, **_problem_responses(429)},
    )
    async def health(ctx: Ctx) -> Response:
        """``ok`` with the gateway's DID."""
        return _json({"status": "ok", "did": ctx.identity.did, "version": _package_version()})

    return router


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title="vcgate gateway API",
            version=API_VERSION,
            openapi_version="3.1.0",
            summary="W3C VC-API and presentation exchange of the vcgate customs gateway",
            description="Errors are RFC 9457 problem details (application/problem+json). Tokens: OAuth2 client "
            "credentials at /oauth2/token.",
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in (ProblemJson, VerificationProblemJson):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in model_schema.pop("$defs", {}).items():
                schemas.setdefault(name, sub)
            schemas[model.__name__] = model_schema
        components.setdefault("securitySchemes", {})["clientBasic"] = {
            "type": "http",
            "scheme": "basic",
            "description": "OAuth2 client authentication (RFC 6749 §2.3.1)",
        }
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                for response in operation.get("responses", {}).values():
                    problem = response.pop("x-problem", None)
                    if problem:
                        refs = [{"$ref": f"#/components/schemas/{name}"} for name in problem.split("|")]
                        response["content"] = {
                            PROBLEM_MEDIA_TYPE: {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}
                        }
        app.openapi_schema = schema
        return schema

    return build


def create_app(settings: ApiSettings, *, wiring: WiringSettings | None = None) -> FastAPI:
    """The gateway's ASGI application for ``settings`` (opens, and by default migrates, the database).

    ``wiring`` configures the ``/jobs``, ``/sync``, ``/parties``, ``/links`` and ``/adapters`` routes (default: from
    ``VCGATE_API_*`` variables, :meth:`WiringSettings.from_env`).
    """
    ctx = _build_context(settings)
    app = FastAPI(
        title="vcgate gateway API",
        version=API_VERSION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.ctx = ctx
    install_problem_handlers(app)
    app.include_router(_token_router())
    app.include_router(_credentials_router())
    app.include_router(_issuers_router())
    app.include_router(_presentations_router())
    app.include_router(_public_router())
    # Imported here: the wired routers use this module's auth and response helpers.
    from ._wiring import install_wiring

    install_wiring(app, ctx, wiring)
    from .pages import install_pages

    install_pages(app)
    app.openapi = _openapi(app)  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
    app.add_middleware(
        RequestGuard,
        max_request_bytes=settings.max_request_bytes,
        limiter=ctx.limiter,
        audit=ctx.audit,
        clock=settings.clock,
    )
    return app


__all__ = ["ApiContext", "create_app"]
