"""The remote adapter client's errors; all derive from :class:`vcgate.canonical_schema.VcgateError`.

httpx exceptions are converted here, at the boundary, and never reach callers (STYLE.md 3).
"""

from __future__ import annotations

from vcgate.canonical_schema import InputError, Problem, VcgateError


class RemoteAdapterError(VcgateError):
    """Base of the remote adapter's errors. ``problem`` is the server's RFC 9457 problem, when it sent one."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None, problem: Problem | None = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.problem = problem

    @property
    def code(self) -> str | None:
        """The stable problem code of the server's answer, if any."""
        return self.problem.code if self.problem is not None else None


class RemoteUnavailableError(RemoteAdapterError):
    """The adapter service could not be reached, timed out, or kept answering 5xx after every retry.

    Like a ledger node being down: callers turn it into an ``error`` ("could not decide"), never ``invalid``.
    """


class RemoteRecordNotFoundError(RemoteAdapterError, InputError):
    """The service has no record at the requested locator (HTTP 404, ``ADAPTER_RECORD_NOT_FOUND``).

    An :class:`InputError`, as in-process adapters raise for an unknown locator.
    """


class RemoteRequestError(RemoteAdapterError, InputError):
    """The service refused the request as malformed or too large (HTTP 400, 413, 415, 422)."""


class RemoteAuthError(RemoteAdapterError):
    """The service refused the bearer token (HTTP 401/403): configure the adapter's ``token``."""


class RemoteProtocolError(RemoteAdapterError):
    """The service answered something the protocol does not allow (malformed JSON, wrong shape, HTTP 500)."""


class IncompatibleProtocolError(RemoteProtocolError):
    """The service speaks another major version of the remote adapter protocol (or another adapter API version)."""
