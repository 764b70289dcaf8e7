"""``relatedResource`` (VC 2.0 §5.3, "Integrity of Related Resources"): shape and, where vcgate knows the
resource's bytes without fetching anything, its digest.

vcgate never fetches a related resource. The resources it knows are the pinned JSON-LD contexts (their packaged
bytes) plus the digests the VC 2.0 specification itself publishes for the base context (it quotes the SHA-256 of
the 2024-07-20 revision of ``credentials/v2``, which differs from the packaged later revision). A digest of a known
resource that matches none of these is a mismatch; a resource vcgate does not know is accepted as the issuer states
it (checking it would need a fetch the caller did not allow).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import base58

from ._contexts import CREDENTIALS_V2_URL, pinned_contexts
from ._problems import json_pointer
from ._schema_formats import is_url

# Digests of https://www.w3.org/ns/credentials/v2 as the VC 2.0 Recommendation publishes it (the 2024-07-20
# revision of the file): its SHA-256 (printed in the spec) and SHA-384.
_PUBLISHED: dict[str, tuple[bytes, ...]] = {
    CREDENTIALS_V2_URL: (
        bytes.fromhex("24a18c90e9856d526111f29376e302d970b2bd10182e33959995b0207d7043b9"),
        bytes.fromhex(
            "35239c36999d2155312091af194a1edb61634d6ad789a5e5b19f2aebdd762dd9d1dcaada40eda7ef921c6b8c0ae107a0"
        ),
    ),
}

# multihash codes (multiformats table): sha2-256, sha2-384, sha2-512 -> digest length.
_MULTIHASH = {0x12: 32, 0x20: 48, 0x13: 64}
_SRI = {"sha256": 32, "sha384": 48, "sha512": 64}


@cache
def _known_digests() -> dict[str, frozenset[bytes]]:
    out: dict[str, set[bytes]] = {}
    root = resources.files(__package__).joinpath("contexts")
    for url, pinned in pinned_contexts().items():
        raw = root.joinpath(pinned.file).read_bytes()
        out.setdefault(url, set()).update(
            (hashlib.sha256(raw).digest(), hashlib.sha384(raw).digest(), hashlib.sha512(raw).digest())
        )
    for url, digests in _PUBLISHED.items():
        out.setdefault(url, set()).update(digests)
    return {k: frozenset(v) for k, v in out.items()}


def _sri_digests(value: Any) -> list[bytes] | None:
    # SRI (W3C Subresource Integrity): "alg-base64" tokens separated by spaces; standard base64 alphabet.
    if not isinstance(value, str) or not value.strip():
        return None
    out = []
    for token in value.split():
        alg, _, b64 = token.partition("-")
        if alg not in _SRI:
            return None
        try:
            digest = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(digest) != _SRI[alg]:
            return None
        out.append(digest)
    return out


def _multibase_digest(value: Any) -> bytes | None:
    # Multibase 'u' (base64url, no padding) or 'z' (base58btc) of a multihash; a bare 32/48/64-byte digest is
    # accepted too (published test material uses it).
    if not isinstance(value, str) or len(value) < 2:
        return None
    body = value[1:]
    try:
        if value[0] == "u":
            if "=" in body or "+" in body or "/" in body:
                return None
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        elif value[0] == "z":
            raw = base58.b58decode(body)
        else:
            return None
    except (binascii.Error, ValueError):
        return None
    if len(raw) >= 2 and raw[0] in _MULTIHASH and raw[1] == _MULTIHASH[raw[0]] == len(raw) - 2:
        return raw[2:]
    return raw if len(raw) in (32, 48, 64) else None


def related_resource_issues(value: Any) -> Iterator[tuple[str, str, str]]:
    """(problem code, JSON pointer, detail) for every rule ``value`` (the ``relatedResource`` member) breaks."""
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        yield "RELATED_RESOURCE_INVALID", "/relatedResource", "relatedResource must not be an empty list"
    seen: set[str] = set()
    for index, item in enumerate(items):
        ptr = json_pointer("relatedResource", index) if isinstance(value, list) else "/relatedResource"
        if not isinstance(item, dict):
            yield "RELATED_RESOURCE_INVALID", ptr, "each relatedResource value must be an object with an id"
            continue
        rid = item.get("id")
        if not (isinstance(rid, str) and is_url(rid)):
            yield "RELATED_RESOURCE_INVALID", ptr + "/id", "each related resource needs an id that is a URL"
            continue
        if rid in seen:
            yield "RELATED_RESOURCE_INVALID", ptr + "/id", f"{rid} is listed twice (ids must be unique)"
            continue
        seen.add(rid)
        yield from _digest_issues(item, rid, ptr)


def _digest_issues(item: dict[str, Any], rid: str, ptr: str) -> Iterator[tuple[str, str, str]]:
    if "digestSRI" not in item and "digestMultibase" not in item:
        yield "RELATED_RESOURCE_INVALID", ptr, "a related resource needs digestSRI or digestMultibase"
        return
    given: list[bytes] = []
    if "digestSRI" in item:
        sri = _sri_digests(item["digestSRI"])
        if sri is None:
            yield "RELATED_RESOURCE_INVALID", ptr + "/digestSRI", "digestSRI is not 'sha256|sha384|sha512-<base64>'"
            return
        given += sri
    if "digestMultibase" in item:
        mb = _multibase_digest(item["digestMultibase"])
        if mb is None:
            yield "RELATED_RESOURCE_INVALID", ptr + "/digestMultibase", "digestMultibase is not a multibase digest"
            return
        given.append(mb)
    known = _known_digests().get(rid)
    if known is not None and not all(d in known for d in given):
        yield (
            "RELATED_RESOURCE_DIGEST_MISMATCH",
            ptr,
            f"the digest does not match {rid} (vcgate holds that resource and its published digests)",
        )
