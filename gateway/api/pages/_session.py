"""Sessions for the pages: the login form, the session cookie, CSRF checks and role gates.

The cookie ``vcgate_session`` is HttpOnly, SameSite=Strict, ``Path=/`` and Secure when the gateway's public URL is
https. State-changing requests must carry the session's CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``, which htmx sends from ``hx-headers``); the login form itself uses a double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote

import anyio.to_thread
from fastapi import Request
from starlette.responses import RedirectResponse, Response

from ._people import Operator, People

SESSION_COOKIE = "vcgate_session"
LOGIN_CSRF_COOKIE = "vcgate_login_csrf"


class PageError(Exception):
    """Ends a page request with an HTML error page (status, title, message) or a redirect (``location``)."""

    def __init__(self, status: int, title: str, message: str = "", *, location: str | None = None) -> None:
        super().__init__(message or title)
        self.status = status
        self.title = title
        self.message = message
        self.location = location


def people(request: Request) -> People:
    """The application's account store."""
    value: People = request.app.state.people
    return value


def now(request: Request) -> datetime:
    """The API's clock."""
    result: datetime = request.app.state.ctx.now()
    return result


async def form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the pages post nothing else); later duplicates win."""
    body = await request.body()
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20))
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "Unreadable form", "the form could not be read") from None


async def current_operator(request: Request) -> Operator:
    """The logged-in operator, or a redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE, "")
    op = await anyio.to_thread.run_sync(lambda: people(request).session(token, now=now(request))) if token else None
    if op is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise PageError(303, "Log in", location=f"/ui/login?next={quote(target, safe='')}")
    request.state.audit_client_id = f"user:{op.username}"
    request.state.operator = op
    return op


def check_csrf(request: Request, op: Operator, fields: Mapping[str, str]) -> None:
    """403 unless the request echoes the session's CSRF token."""
    sent = fields.get("csrf_token") or request.headers.get("x-csrf-token") or ""
    if not hmac.compare_digest(sent.encode(), op.csrf_token.encode()):
        raise PageError(403, "Request refused", "the form has expired or did not come from this site; reload the page")


def require(op: Operator, scope: str, what: str) -> None:
    """403 unless the operator's role grants ``scope``."""
    if not op.can(scope):
        raise PageError(403, "Not allowed", f"your role ({op.role}) may not {what}")


def safe_next(value: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie (see the module docstring)."""
    secure = request.app.state.ctx.settings.public_url.startswith("https://")
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")


def login_csrf(request: Request) -> str:
    """The double-submit token for the login form (reuses the cookie's value when present)."""
    existing = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return existing if 20 <= len(existing) <= 64 else secrets.token_urlsafe(24)


def redirect(location: str) -> RedirectResponse:
    """A 303 See Other (after a POST, the browser GETs the target)."""
    return RedirectResponse(location, status_code=303)


def is_htmx(request: Request) -> bool:
    """Whether htmx made the request (answer a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def context(request: Request, op: Operator | None, **values: Any) -> dict[str, Any]:
    """Template variables every page has."""
    return {"request": request, "op": op, **values}


__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "PageError",
    "check_csrf",
    "context",
    "current_operator",
    "form",
    "is_htmx",
    "login_csrf",
    "now",
    "people",
    "redirect",
    "require",
    "safe_next",
    "set_session_cookie",
]
