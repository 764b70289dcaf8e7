"""RFC 9457 problem details for every error the HTTP API returns, including FastAPI's own 404/405/422.

Every problem has ``type`` (vcgate's problem namespace + a stable ``code``), ``title``, ``status``, ``detail`` and
``code``; extension members carry the verification result, OAuth2 error codes (RFC 6749 §5.2) and the like.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from vcgate.canonical_schema import VcgateError
from vcgate.canonical_schema._problems import PROBLEM_TYPE_BASE

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("vcgate.api")

#: HTTP status → the code used when FastAPI/Starlette raise a bare HTTP error.
_STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "Bad request"),
    401: ("UNAUTHORIZED", "Authentication required"),
    403: ("FORBIDDEN", "Forbidden"),
    404: ("NOT_FOUND", "Not found"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    406: ("NOT_ACCEPTABLE", "Not acceptable"),
    413: ("REQUEST_TOO_LARGE", "Request too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),
    422: ("REQUEST_INVALID", "Request does not match the API schema"),
    429: ("RATE_LIMITED", "Too many requests"),
}


class ApiError(VcgateError):
    """An error answered as an RFC 9457 problem: HTTP ``status``, stable ``code``, ``title`` and ``detail``."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def to_json(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document."""
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


def problem_response(problem: ApiError, instance: str | None = None) -> Response:
    """An ``application/problem+json`` response for ``problem``."""
    return Response(
        json.dumps(problem.to_json(instance), ensure_ascii=False, separators=(",", ":")),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _validation_problem(exc: RequestValidationError) -> ApiError:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        errors.append({"pointer": "/" + "/".join(loc[1:]) if loc[:1] == ["body"] else "/".join(loc), "msg": err["msg"]})
        if err.get("type") == "json_invalid":
            # The strict parser's message is "CODE: detail" (MALFORMED_JSON, INPUT_TOO_DEEP, INPUT_TOO_LARGE).
            message = str((err.get("ctx") or {}).get("error") or err.get("msg"))
            code, sep, detail = message.partition(": ")
            if not (sep and code.isupper() and code.replace("_", "").isalpha()):
                code, detail = "MALFORMED_JSON", message
            return ApiError(400, code, "Malformed JSON" if code == "MALFORMED_JSON" else "Unacceptable JSON", detail)
    first = errors[0] if errors else {"pointer": "", "msg": "invalid request"}
    return ApiError(
        422,
        "REQUEST_INVALID",
        "Request does not match the API schema",
        f"{first['pointer'] or '(request)'}: {first['msg']}",
        extra={"errors": errors[:20]},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error through :func:`problem_response`."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return problem_response(exc, request.url.path)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code, title = _STATUS_CODES.get(exc.status_code, ("HTTP_ERROR", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else ""
        return problem_response(ApiError(exc.status_code, code, title, detail, headers=exc.headers), request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(_validation_problem(exc), request.url.path)

    async def on_error(request: Request, exc: Exception) -> Response:
        # Never leak internals: log the exception, answer a generic problem (STYLE.md §3).
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            ApiError(500, "INTERNAL_ERROR", "Internal server error", "the error was logged"),
            request.url.path,
        )

    app.add_exception_handler(ApiError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_error)


__all__ = ["PROBLEM_MEDIA_TYPE", "ApiError", "install_problem_handlers", "problem_response"]
