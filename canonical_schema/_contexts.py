"""Pinned JSON-LD contexts and the offline document loader.

vcgate never fetches a JSON-LD context from the network: every context it accepts ships inside the package,
listed in ``contexts/index.json`` with its SHA-256. The loader refuses any other URL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ._errors import ContextNotAllowedError, VcgateError

VCGATE_CONTEXT_URL = "https://w3id.org/vcgate/v1"
CREDENTIALS_V2_URL = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1_URL = "https://www.w3.org/2018/credentials/v1"
TRACEABILITY_V1_URL = "https://w3id.org/traceability/v1"

#: The ``@context`` every canonical vcgate credential carries, in this order.
CANONICAL_CONTEXT: tuple[str, ...] = (CREDENTIALS_V2_URL, TRACEABILITY_V1_URL, VCGATE_CONTEXT_URL)


@dataclass(frozen=True, slots=True)
class PinnedContext:
    """One pinned context: its URL, the packaged file, the SHA-256 of the file's bytes and the parsed JSON."""

    url: str
    file: str
    sha256: str
    document: Mapping[str, Any]


@cache
def pinned_contexts() -> Mapping[str, PinnedContext]:
    """All pinned contexts by URL. Each file's hash is checked against the index when first loaded."""
    root = resources.files(__package__).joinpath("contexts")
    index = json.loads(root.joinpath("index.json").read_text(encoding="utf-8"))
    out: dict[str, PinnedContext] = {}
    for entry in index["contexts"]:
        raw = root.joinpath(entry["file"]).read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest != entry["sha256"]:
            raise VcgateError(
                f"pinned context {entry['url']} ({entry['file']}) has sha256 {digest}, expected "
                f"{entry['sha256']}: the installed package is corrupt; reinstall vcgate"
            )
        out[entry["url"]] = PinnedContext(entry["url"], entry["file"], digest, json.loads(raw))
    return out


def _normalise(url: str) -> str:
    # A trailing '#fragment' never changes the document a context URL names.
    return url.split("#", 1)[0]


def load_pinned(url: str) -> dict[str, Any]:
    """Return a PyLD remote-document for a pinned context, tagged static so PyLD caches processed contexts.

    Raises :class:`ContextNotAllowedError` for any URL outside the pinned set.
    """
    pinned = pinned_contexts().get(_normalise(url))
    if pinned is None:
        raise ContextNotAllowedError(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": pinned.url,
        "document": pinned.document,
        "tag": "static",
    }


def document_loader(extra: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[..., dict[str, Any]]:
    """A PyLD document loader that serves pinned contexts only (plus ``extra`` URL → document, if given).

    ``extra`` is for callers that pin further contexts themselves (a test suite's own vocabulary, say);
    anything else is refused with :class:`ContextNotAllowedError`.
    """
    extras = {k: dict(v) for k, v in (extra or {}).items()}

    def load(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if url in extras:
            return {
                "contentType": "application/ld+json",
                "contextUrl": None,
                "documentUrl": url,
                "document": extras[url],
                "tag": "static",
            }
        return load_pinned(url)

    return load
