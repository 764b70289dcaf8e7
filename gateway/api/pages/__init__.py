"""The inspector's and analyst's web pages (vcgate issue 17): entries, products, jobs, parties and adapters, served
by ``vcgate serve`` under ``/ui`` in the same ASGI app as the HTTP API.

Server-rendered Jinja2 with htmx for small in-place updates; operator accounts with roles (``vcgate users add``),
argon2id password hashes, session cookies with CSRF protection and lockout. See ``docs/ui.md``.
"""

from ._people import LOCKOUT, MAX_FAILED_LOGINS, MIN_PASSWORD_LENGTH, ROLES, LoginError, Operator, People
from ._routes import install_pages
from ._views import multihash_of

__all__ = [
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "LoginError",
    "Operator",
    "People",
    "install_pages",
    "multihash_of",
]
