"""Anchored credentials: a party keeps a full signed credential off-chain and anchors its digest on chain through the
minimal ``AnchorRegistry`` contract shipped in ``contracts/`` (Solidity source + compiled ABI and bytecode).

The digest is sha256 of the credential's RFC 8785 (JCS) form, which is also the SDK's ``recordDigest`` of the
credential taken as a JSON raw record: the evidence checker compares the two without any Ethereum-specific hashing.
The adapter reads credentials from the files and URLs its configuration names (never from URIs found on chain) and
matches them to ``Anchored`` events by digest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from vcgate.canonical_schema import InputError

from ._checker import credential_digest
from ._errors import LedgerUnavailableError

_MAX_CREDENTIAL_BYTES = 2 * 1024 * 1024


@cache
def anchor_registry_artifact() -> dict[str, Any]:
    """The compiled ``AnchorRegistry`` (ABI, creation and runtime bytecode, compiler version and settings), as
    shipped in ``contracts/AnchorRegistry.json``; ``tests/ethereum_adapter`` recompiles the source and compares."""
    text = resources.files(__package__).joinpath("contracts/AnchorRegistry.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]  # json.loads returns Any


def anchor_registry_source() -> str:
    """The Solidity source of ``AnchorRegistry``."""
    return resources.files(__package__).joinpath("contracts/AnchorRegistry.sol").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class AnchoredCredential:
    """A credential read from a configured location, with its digest (sha256 of its RFC 8785 form)."""

    location: str
    credential: Mapping[str, Any]
    digest: bytes


def _read(location: str, base: Path, fetch: Callable[[str], bytes] | None) -> bytes:
    if location.startswith(("http://", "https://")):
        if fetch is not None:
            return fetch(location)
        try:
            response = httpx.get(location, timeout=10.0, follow_redirects=False, trust_env=False)
        except httpx.HTTPError as exc:
            raise LedgerUnavailableError(location, f"fetching the anchored credential failed ({exc})") from None
        if response.status_code != 200:
            raise LedgerUnavailableError(location, f"fetching the anchored credential gave HTTP {response.status_code}")
        return response.content
    path = Path(location)
    path = path if path.is_absolute() else base / path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read anchored credential {path}: {exc.strerror}") from None


def load_anchored_credentials(
    locations: Iterable[str], *, base: Path, fetch: Callable[[str], bytes] | None = None
) -> list[AnchoredCredential]:
    """Read each location (a JSON file, a folder of ``*.json`` files, or an http(s) URL) into an
    :class:`AnchoredCredential`. Raises ``InputError`` for an unreadable or non-JSON credential and
    ``LedgerUnavailableError`` when a URL cannot be fetched."""
    out: list[AnchoredCredential] = []
    for location in locations:
        path = base / location if not Path(location).is_absolute() else Path(location)
        if not location.startswith(("http://", "https://")) and path.is_dir():
            items = [str(p) for p in sorted(path.glob("*.json"))]
        else:
            items = [location]
        for item in items:
            data = _read(item, base, fetch)
            if len(data) > _MAX_CREDENTIAL_BYTES:
                raise InputError(f"anchored credential {item} is larger than {_MAX_CREDENTIAL_BYTES} bytes")
            try:
                credential = json.loads(data)
            except ValueError as exc:
                raise InputError(f"anchored credential {item} is not JSON: {exc}") from None
            if not isinstance(credential, dict):
                raise InputError(f"anchored credential {item} must be a JSON object")
            out.append(AnchoredCredential(item, credential, credential_digest(credential)))
    return out
