"""The one exception root of vcgate.

Every error vcgate raises derives from :class:`VcgateError`. It lives in the lowest layer
(``canonical_schema``) so that ``adapters`` and ``gateway`` can derive from it without importing upward.
"""

from __future__ import annotations


class VcgateError(Exception):
    """Base of every vcgate error. The message says what happened and what to do about it."""


class ContextNotAllowedError(VcgateError):
    """A JSON-LD context (or other remote document) was requested that is not in the pinned set."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"refusing to load {url!r}: it is not one of vcgate's pinned JSON-LD contexts; "
            "vcgate never fetches contexts from the network (see `vcgate.canonical_schema.pinned_contexts()`)"
        )
        self.url = url


class InputError(VcgateError):
    """Input was malformed, too large or of the wrong shape."""
