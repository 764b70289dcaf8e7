"""An ASGI middleware in front of every route: request ids, the request size limit, per-address rate limiting of
requests without a bearer token, and the audit record of every state-changing request.

Pure ASGI (not Starlette's ``BaseHTTPMiddleware``) so it adds little per request and sees the final status code.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._audit import AuditEntry, AuditLog, outcome_of
from ._auth import RateLimiter
from ._problems import ApiError, problem_response

log = logging.getLogger("vcgate.api")

#: POST routes that change nothing (pure verification): not audited.
READ_ONLY_POSTS = frozenset({"/credentials/verify", "/presentations/verify"})
#: Audit action names of the state-changing routes; anything else non-GET is audited as "METHOD path".
ACTIONS = {
    "/oauth2/token": "token.issue",
    "/credentials/issue": "credential.issue",
    "/credentials/status": "credential.status",
    "/presentations/available": "presentation.challenge",
    "/presentations/submissions": "presentation.submit",
}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestGuard:
    """See the module docstring. ``scope["state"]`` carries ``request_id``, and routes may set ``principal``,
    ``audit_target``, ``audit_detail`` and ``audit_client_id`` for the audit record."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_request_bytes: int,
        limiter: RateLimiter,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.limiter = limiter
        self.audit = audit
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        request_id = secrets.token_hex(8)
        state["request_id"] = request_id
        method: str = scope["method"]
        path: str = scope["path"]
        audited = method not in _SAFE_METHODS and path not in READ_ONLY_POSTS
        headers = dict(scope.get("headers") or [])
        remote = (scope.get("client") or ("?", 0))[0]
        status_holder: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder.append(int(message["status"]))
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        async def reply(problem: ApiError) -> None:
            await problem_response(problem, path)(scope, receive, send_with_id)

        # Requests without a bearer token are limited per remote address here; bearer requests are limited per
        # client after the token is checked (a forged token must not drain someone else's bucket).
        authz = headers.get(b"authorization", b"")
        if authz[:7].lower() != b"bearer ":
            wait = self.limiter.take("addr:" + str(remote))
            if wait:
                await reply(_rate_limited(wait))
                await self._record(scope, state, remote, status_holder)
                return

        # Request size limit: refuse a declared length over the limit before reading anything, else read at most
        # limit + 1 bytes and replay them to the app.
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_request_bytes):
            await reply(_too_large(self.max_request_bytes))
            await self._record(scope, state, remote, status_holder)
            return
        body = bytearray()
        more = method not in _SAFE_METHODS or declared is not None
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_request_bytes:
                await reply(_too_large(self.max_request_bytes))
                await self._record(scope, state, remote, status_holder)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        if not audited:
            await self.app(scope, replay, send_with_id)
            return
        # Hold the response until the audit record is committed, so a client that saw the response can rely on
        # the log containing the request.
        held: list[Message] = []

        async def send_held(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
                return
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                if held:
                    await send_with_id(held.pop())
                    await self._record(scope, state, remote, status_holder)
                await send(message)
                return
            if held:
                await send_with_id(held.pop())
            await send(message)

        try:
            await self.app(scope, replay, send_held)
        except Exception:
            if not status_holder:
                status_holder.append(500)
                await self._record(scope, state, remote, status_holder)
            raise

    async def _record(self, scope: Scope, state: dict[str, Any], remote: str, status_holder: list[int]) -> None:
        method, path = scope["method"], scope["path"]
        if method in _SAFE_METHODS or path in READ_ONLY_POSTS:
            return
        status = status_holder[-1] if status_holder else 500
        principal = state.get("principal")
        entry = AuditEntry(
            at=self.clock(),
            request_id=str(state.get("request_id", "")),
            method=method,
            path=path,
            action=ACTIONS.get(path, f"{method} {path}")[:64],
            status_code=status,
            outcome=outcome_of(status),
            client_id=principal.client_id if principal else state.get("audit_client_id"),
            party=principal.party if principal else None,
            remote=str(remote)[:128],
            target=state.get("audit_target"),
            detail=state.get("audit_detail"),
        )
        try:
            await anyio.to_thread.run_sync(self.audit.append, entry)
        except Exception:
            # The change (if any) is committed; losing its audit record must be loud.
            log.exception("could not write the audit record of %s %s (request %s)", method, path, entry.request_id)
            raise


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "REQUEST_TOO_LARGE", "Request too large", f"the request body exceeds {limit} bytes")


def _rate_limited(wait: float) -> ApiError:
    seconds = max(1, int(wait + 0.999))
    return ApiError(
        429,
        "RATE_LIMITED",
        "Too many requests",
        f"rate limit exceeded; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


__all__ = ["ACTIONS", "READ_ONLY_POSTS", "RequestGuard"]
