"""The adapter service: any installed adapter exposed over the remote adapter protocol (``vcgate adapters serve``).

The protocol is published as ``vcgate/adapters/remote/openapi.yaml``; :class:`vcgate.adapters.remote.RemoteAdapter` is
its client. With a key the service also signs translations in **partner mode** (ARCHITECTURE.md, "Layout"): the
partner runs it with its own key, and signs only records its own adapter reads from the ledger.

Security defaults: the CLI binds 127.0.0.1; an optional bearer token guards every route (compared in constant time);
request bodies are size-limited and parsed strictly (no duplicate members, no NaN, bounded nesting, unknown members
and query parameters refused). Adapter calls are serialised by a lock, since adapters need not be thread-safe.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vcgate.adapters.remote import (
    PROBLEM_MEDIA_TYPE,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    WireFormatError,
    cursor_from_token,
    dumps,
    loads_strictly,
    page_to_json,
    protocol_document,
    record_from_json,
    record_to_json,
    utc_time_from_json,
)
from vcgate.adapters.sdk import (
    Adapter,
    AdapterConfigError,
    AdapterLoadError,
    AdapterNotFoundError,
    Check,
    CheckStatus,
    Cursor,
    EvidenceResult,
    SourceRecord,
    TranslationError,
    load_adapter,
    load_adapter_config,
)
from vcgate.canonical_schema import InputError, Problem, VcgateError
from vcgate.canonical_schema._problems import PROBLEM_TYPE_BASE

from ._issuing import IssuingError, IssuingService
from .verification._keys import KeyPair

log = logging.getLogger("vcgate.adapter_server")

_T = TypeVar("_T")


@dataclass(frozen=True)
class AdapterServerSettings:
    """Limits and the optional bearer token of an adapter service."""

    token: str | None = None
    max_body_bytes: int = 1 << 20
    max_json_depth: int = 64
    max_page_records: int = 10_000


class _ProblemError(Exception):
    """Raised inside a handler to answer with an RFC 9457 problem."""

    def __init__(self, status: int, code: str, title: str, detail: str = "", pointer: str = "", **extra: Any) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.title, self.detail, self.pointer, self.extra = (
            status,
            code,
            title,
            detail,
            pointer,
            extra,
        )


def _problem_response(
    status: int,
    code: str,
    title: str,
    detail: str = "",
    pointer: str = "",
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "code": code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if pointer:
        body["pointer"] = pointer
    body.update(extra or {})
    return Response(dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {}))


def _json_response(value: Any) -> Response:
    return Response(dumps(value), media_type="application/json")


class _Guard:
    """ASGI middleware: protocol and safety headers on every answer, bearer token, request body size limit."""

    def __init__(self, app: ASGIApp, settings: AdapterServerSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (PROTOCOL_HEADER.lower().encode(), PROTOCOL_VERSION.encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.settings.token is not None:
            expected = ("Bearer " + self.settings.token).encode()
            given = headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(given, expected):
                response = _problem_response(
                    401,
                    "REMOTE_UNAUTHORIZED",
                    "Bearer token required",
                    "send 'Authorization: Bearer <token>' with the service's token",
                    headers={"WWW-Authenticate": 'Bearer realm="vcgate-adapter"'},
                )
                await response(scope, receive, send_with_headers)
                return
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, receive, send_with_headers)
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            # Bodies are small; read them whole (bounded) so that an oversized chunked body is refused too.
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await self._too_large(scope, receive, send_with_headers)
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            delivered = False

            async def replay() -> Message:
                nonlocal delivered
                if delivered:
                    return await receive()
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _problem_response(
            413,
            "REMOTE_REQUEST_TOO_LARGE",
            "Request body too large",
            f"request bodies are limited to {self.settings.max_body_bytes} bytes",
        )
        await response(scope, receive, send)


def create_adapter_app(
    adapter: Adapter,
    *,
    issuer: IssuingService | None = None,
    settings: AdapterServerSettings | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """The ASGI app serving ``adapter`` over the remote adapter protocol (``/v1/…``).

    ``issuer`` signs translations requested with ``?sign=true`` (partner mode); ``clock`` gives the proofs'
    ``created`` time (the service is an edge, so it may read the clock).
    """
    settings = settings or AdapterServerSettings()
    lock = threading.Lock()
    app = FastAPI(
        title="vcgate adapter service",
        version=PROTOCOL_VERSION,
        openapi_url=None,  # the protocol document is hand-written and versioned: /v1/openapi.json serves it
        docs_url=None,
        redoc_url=None,
    )
    # Outermost: the token and the body limit are enforced before any route (or FastAPI's own handling) runs.
    app.add_middleware(_Guard, settings=settings)

    async def call(fn: Callable[[], _T]) -> _T:
        def locked() -> _T:
            with lock:
                return fn()

        return await run_in_threadpool(locked)

    @app.exception_handler(_ProblemError)
    async def on_problem(request: Request, exc: _ProblemError) -> Response:
        return _problem_response(exc.status, exc.code, exc.title, exc.detail, exc.pointer, exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return _problem_response(405, "REMOTE_METHOD_NOT_ALLOWED", "Method not allowed", str(exc.detail))
        return _problem_response(
            exc.status_code, "REMOTE_NOT_FOUND", "No such route", f"{request.url.path} is not a protocol route"
        )

    def guarded(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        # Adapter bugs must not leak tracebacks or internals to the network: log them, answer a bare 500.
        async def wrapper(request: Request) -> Response:
            try:
                return await handler(request)
            except _ProblemError:
                raise
            except Exception:
                log.exception("adapter service: internal error in %s %s", request.method, request.url.path)
                raise _ProblemError(
                    500, "REMOTE_INTERNAL_ERROR", "Internal error", "the adapter failed; see the service log"
                ) from None

        wrapper.__name__ = handler.__name__
        wrapper.__doc__ = handler.__doc__
        return wrapper

    def only_params(request: Request, allowed: set[str]) -> dict[str, str]:
        params = request.query_params
        for name in params:
            if name not in allowed or len(params.getlist(name)) != 1:
                raise _ProblemError(
                    400,
                    "REMOTE_REQUEST_INVALID",
                    "Unknown or repeated query parameter",
                    f"query parameter {name!r} is unknown here or repeated (allowed once each: {sorted(allowed)})",
                )
        return dict(params)

    async def json_body(request: Request) -> Any:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise _ProblemError(415, "REMOTE_UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", "send application/json")
        try:
            return loads_strictly(await request.body(), max_depth=settings.max_json_depth)
        except WireFormatError as exc:
            raise _ProblemError(400, "REMOTE_REQUEST_INVALID", "Malformed JSON", exc.detail, exc.pointer) from None

    def ledger_failure(exc: VcgateError) -> _ProblemError:
        return _ProblemError(503, "REMOTE_LEDGER_UNAVAILABLE", "The adapter could not read its ledger", str(exc))

    @app.get("/v1/describe")
    @guarded
    async def describe(request: Request) -> Response:
        """The adapter's info, the protocol version, and the signing key when the service signs."""
        only_params(request, set())
        try:
            info = await call(adapter.describe)
        except VcgateError as exc:
            raise ledger_failure(exc) from None
        out: dict[str, Any] = {"protocolVersion": PROTOCOL_VERSION, "adapter": info.to_json()}
        if issuer is not None:
            out["signing"] = {
                "issuer": issuer.issuer,
                "suite": issuer.suite,
                "verificationMethod": issuer.key.verification_method,
            }
        return _json_response(out)

    @app.get("/v1/health")
    @guarded
    async def health(request: Request) -> Response:
        """The adapter's health; ``down`` when it cannot tell."""
        only_params(request, set())
        try:
            state = (await call(adapter.health)).to_json()
        except VcgateError as exc:
            state = {"status": "down", "detail": str(exc)}
        return _json_response({"protocolVersion": PROTOCOL_VERSION, **state})

    @app.get("/v1/openapi.json")
    @guarded
    async def openapi(request: Request) -> Response:
        """The protocol document this service implements."""
        only_params(request, set())
        return _json_response(protocol_document())

    @app.get("/v1/records")
    @guarded
    async def records(request: Request) -> Response:
        """Whole adapter pages after ``since``: one page, or as many as fit in ``limit`` records (at least one)."""
        params = only_params(request, {"since", "limit"})
        since: Cursor | None = None
        if "since" in params:
            try:
                since = cursor_from_token(params["since"], "")
            except WireFormatError as exc:
                raise _ProblemError(400, "REMOTE_CURSOR_INVALID", "Invalid cursor", f"since: {exc.detail}") from None
        limit: int | None = None
        if "limit" in params:
            text = params["limit"]
            if not text.isdigit() or not 1 <= int(text) <= settings.max_page_records:
                raise _ProblemError(
                    400,
                    "REMOTE_REQUEST_INVALID",
                    "Invalid limit",
                    f"limit must be an integer from 1 to {settings.max_page_records}",
                )
            limit = int(text)

        def read() -> dict[str, Any]:
            return _read_pages(adapter, since, limit)

        try:
            answer = await call(read)
        except (InputError, TypeError) as exc:
            if since is None:
                if isinstance(exc, VcgateError):
                    raise ledger_failure(exc) from None
                raise
            # A well-formed token from another stream: positions of other shapes do not compare (TypeError) or
            # the adapter refuses them (InputError).
            raise _ProblemError(
                400,
                "REMOTE_CURSOR_INVALID",
                "Invalid cursor",
                f"since is not a position in this adapter's stream: {exc}",
            ) from None
        except VcgateError as exc:
            raise ledger_failure(exc) from None
        return _json_response(answer)

    @app.get("/v1/records/{locator:path}")
    @guarded
    async def record(request: Request) -> Response:
        """The record at ``locator`` (one percent-encoded path segment)."""
        only_params(request, set())
        locator = request.path_params["locator"]
        try:
            found = await call(lambda: adapter.fetch(locator))
        except VcgateError as exc:
            raise _fetch_problem(locator, exc) from None
        return _json_response(record_to_json(found))

    @app.post("/v1/translate")
    @guarded
    async def translate(request: Request) -> Response:
        """The unsigned credential and evidence for the record in the body; signed too with ``?sign=true``."""
        params = only_params(request, {"sign"})
        sign = params.get("sign", "false")
        if sign not in ("true", "false"):
            raise _ProblemError(400, "REMOTE_REQUEST_INVALID", "Invalid sign", "sign must be 'true' or 'false'")
        body = await json_body(request)
        try:
            submitted = record_from_json(body)
        except WireFormatError as exc:
            raise _ProblemError(400, "REMOTE_REQUEST_INVALID", "Not a source record", exc.detail, exc.pointer) from None
        if sign == "true":
            if issuer is None:
                raise _ProblemError(
                    409, "REMOTE_NOT_SIGNING", "This service does not sign", "start it with --key to sign"
                )
            # Partner mode signs what the ledger says, never what a caller claims it says.
            try:
                on_ledger = await call(lambda: adapter.fetch(submitted.locator))
            except VcgateError as exc:
                raise _ProblemError(
                    422,
                    "REMOTE_RECORD_MISMATCH",
                    "Record is not on the ledger",
                    f"the adapter cannot read {submitted.locator!r}: {exc}",
                    "/locator",
                ) from None
            if record_to_json(on_ledger) != record_to_json(submitted):
                raise _ProblemError(
                    422,
                    "REMOTE_RECORD_MISMATCH",
                    "Record differs from the ledger",
                    f"the record submitted for {submitted.locator!r} is not what the ledger holds there now; "
                    "fetch it again and resubmit",
                )
        try:
            translation = await call(lambda: adapter.translate(submitted))
        except TranslationError as exc:
            raise _ProblemError(
                422,
                "REMOTE_TRANSLATION_FAILED",
                "Record cannot be translated",
                str(exc),
                translationProblem=exc.problem.to_json(),
            ) from None
        except InputError as exc:
            raise _ProblemError(422, "REMOTE_TRANSLATION_FAILED", "Record cannot be translated", str(exc)) from None
        except VcgateError as exc:
            raise ledger_failure(exc) from None
        out: dict[str, Any] = {"credential": translation.to_json(), "evidence": dict(translation.evidence)}
        if sign == "true":
            assert issuer is not None
            try:
                out["verifiableCredential"] = issuer.issue(translation, created=clock())
            except IssuingError as exc:
                raise _ProblemError(422, "REMOTE_ISSUING_FAILED", "Translation cannot be signed", str(exc)) from None
        return _json_response(out)

    @app.post("/v1/evidence/check")
    @guarded
    async def evidence_check(request: Request) -> Response:
        """Check evidence with the adapter's checker: ``offline`` (default) or ``live`` (re-read the ledger)."""
        only_params(request, set())
        body = await json_body(request)
        if not isinstance(body, dict):
            raise _ProblemError(400, "REMOTE_REQUEST_INVALID", "Not an evidence check request", "expected an object")
        allowed = {"credential", "evidence", "anchor", "at", "mode"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise _ProblemError(
                400, "REMOTE_REQUEST_INVALID", "Unknown member", "not a protocol member", f"/{unknown[0]}"
            )
        for name in ("credential", "evidence", "anchor", "at"):
            if name not in body:
                raise _ProblemError(400, "REMOTE_REQUEST_INVALID", "Missing member", f"{name} is required", f"/{name}")
        for name in ("credential", "evidence", "anchor"):
            if not isinstance(body[name], dict):
                raise _ProblemError(400, "REMOTE_REQUEST_INVALID", "Not an object", f"{name} is an object", f"/{name}")
        mode = body.get("mode", "offline")
        if mode not in ("offline", "live"):
            raise _ProblemError(400, "REMOTE_REQUEST_INVALID", "Invalid mode", "'offline' or 'live'", "/mode")
        try:
            at = utc_time_from_json(body["at"], "/at")
        except WireFormatError as exc:
            raise _ProblemError(400, "REMOTE_REQUEST_INVALID", "Invalid time", exc.detail, exc.pointer) from None

        def check() -> EvidenceResult:
            checker = adapter.evidence_checker()
            if mode == "live":
                live = getattr(checker, "recheck_live", None)
                if not callable(live):
                    return _error_result("REMOTE_LIVE_UNSUPPORTED", "this adapter's checker has no live re-check")
                result = live(body["credential"], body["evidence"], body["anchor"], at=at)
            else:
                result = checker.check(body["credential"], body["evidence"], body["anchor"], at=at)
            if not isinstance(result, EvidenceResult):
                return _error_result("REMOTE_CHECKER_FAILED", f"the checker returned a {type(result).__name__}")
            return result

        try:
            result = await call(check)
        except VcgateError as exc:  # a checker must not raise (STYLE.md 4); report it as "could not decide"
            result = _error_result("REMOTE_CHECKER_FAILED", f"the adapter's checker raised: {exc}")
        return _json_response(result.to_json())

    return app


def _fetch_problem(locator: str, exc: VcgateError) -> _ProblemError:
    problem: Problem | None = getattr(exc, "problem", None)
    not_found = isinstance(exc, InputError) or (isinstance(problem, Problem) and problem.code.endswith("_NOT_FOUND"))
    if not_found:
        extra = {"adapterCode": problem.code} if isinstance(problem, Problem) else {}
        return _ProblemError(404, "REMOTE_RECORD_NOT_FOUND", "No such record", str(exc), **extra)
    return _ProblemError(503, "REMOTE_LEDGER_UNAVAILABLE", "The adapter could not read its ledger", str(exc))


def _error_result(code: str, detail: str) -> EvidenceResult:
    return EvidenceResult(
        (Check("remote.evidence", CheckStatus.ERROR, (Problem(code, "Evidence not checked", detail),)),)
    )


def protocol_routes(app: FastAPI) -> set[tuple[str, str]]:
    """``(METHOD, path template)`` of every protocol route ``app`` serves (``{locator:path}`` → ``{locator}``)."""
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None) or set()
        if isinstance(path, str):
            for method in methods:
                if method != "HEAD":
                    out.add((method, path.replace(":path}", "}")))
    return out


class AdapterServiceError(VcgateError):
    """The adapter service cannot start: ``exit_code`` is the CLI's (1 broken adapter, 2 ledger, 64 usage)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps the service on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_adapter_service(
    name: str,
    config_path: str,
    *,
    key_path: str | None = None,
    suite: str = "eddsa-rdfc-2022",
    host: str = "127.0.0.1",
    token: str | None = None,
    max_body_bytes: int = 1 << 20,
) -> tuple[FastAPI, str]:
    """Load adapter ``name`` with its configuration (and the partner key), and build its service app.

    Returns the app and a one-line description. Raises :class:`AdapterServiceError` with the CLI exit code.
    """
    if not is_loopback_host(host) and not token:
        raise AdapterServiceError(
            f"refusing to serve on {host} without a bearer token: anyone who can reach it could read the ledger "
            "and get records signed; give --token-file (or VCGATE_ADAPTER_TOKEN), and put TLS in front",
            64,
        )
    try:
        plugin = load_adapter(name)
    except AdapterNotFoundError as exc:
        raise AdapterServiceError(str(exc), 64) from None
    except AdapterLoadError as exc:
        raise AdapterServiceError(str(exc), 1) from None
    if plugin.kind == "remote":
        raise AdapterServiceError("the remote adapter is a client; serve the adapter it would talk to instead", 64)
    try:
        settings = load_adapter_config(config_path)
        issuer = IssuingService.for_key(KeyPair.from_file(key_path), suite) if key_path is not None else None
    except (AdapterConfigError, VcgateError) as exc:
        raise AdapterServiceError(str(exc), 64) from None
    try:
        adapter = plugin.create(settings)
    except (AdapterConfigError, AdapterLoadError) as exc:
        raise AdapterServiceError(str(exc), 1) from None
    try:
        info = adapter.describe()
    except VcgateError as exc:
        raise AdapterServiceError(f"adapter {name!r} could not describe itself: {exc}", 2) from None
    app = create_adapter_app(
        adapter, issuer=issuer, settings=AdapterServerSettings(token=token, max_body_bytes=max_body_bytes)
    )
    signing = f", signing as {issuer.issuer} ({issuer.suite})" if issuer is not None else ""
    return app, f"adapter {name!r} ({info.ledger_id}), remote adapter protocol {PROTOCOL_VERSION}{signing}"


def _read_pages(adapter: Any, since: Cursor | None, limit: int | None) -> dict[str, Any]:
    """One ``/v1/records`` answer: whole adapter pages after ``since`` (one, or as many as fit in ``limit``).

    Empty pages move the cursor and are passed on (an empty block window); a rewind (a reorg) is answered alone, as
    its own page; ``end`` is true only when the adapter's stream ran out.
    """
    pages: Iterator[Any] = iter(adapter.records(since))
    collected: list[SourceRecord] = []
    cursor: Cursor | None = None
    end = True
    try:
        for page in pages:
            keep_through = getattr(page, "keep_through", None)
            if isinstance(keep_through, int):
                if cursor is not None:
                    end = False  # answer what came before; the next request meets the rewind again
                    break
                abandoned = getattr(page, "abandoned", None)
                return page_to_json(
                    (),
                    page.next_cursor,
                    keep_through=keep_through,
                    abandoned=abandoned if isinstance(abandoned, Cursor) else page.next_cursor,
                )
            if not page.records and since is not None and not page.next_cursor > since:
                continue  # an empty page that moves nowhere says nothing (the client would refuse it)
            if collected and limit is not None and len(collected) + len(page.records) > limit:
                end = False
                break
            collected.extend(page.records)
            cursor = page.next_cursor
            if limit is None or len(collected) >= limit:
                end = False
                break
    finally:
        close = getattr(pages, "close", None)
        if callable(close):
            close()
    return page_to_json(tuple(collected), cursor, end=end)
