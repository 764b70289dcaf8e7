"""Credential status: W3C Bitstring Status List v1.0 and its VC 1.1 predecessor StatusList2021.

Issuing side: :class:`StatusList` keeps the bitstring, sets and clears entries and produces the unsigned list
credential and the ``credentialStatus`` entries that point into it (sign the list credential with
:func:`vcgate.gateway.sign`).

Verifying side: :class:`StatusListChecker` is the ``status_checker`` of a :class:`~vcgate.gateway.Verifier`.
For each entry it fetches the list credential through an injected :class:`StatusListFetcher`, verifies it with
the same verifier (proof, contexts, validity at ``at``), requires the credential's issuer, matches
``statusPurpose``, decodes the list strictly and reads the entry's bits (Bitstring Status List §3.2 "Validate
Algorithm"). A list that cannot be fetched, or that is stale, makes the result ``error`` (we could not
decide), never ``invalid``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import re
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from vcgate.canonical_schema import (
    CREDENTIALS_V1_URL,
    CREDENTIALS_V2_URL,
    Check,
    Problem,
    VcgateError,
    json_pointer,
)

if TYPE_CHECKING:
    import httpx

    from ._verify import Verifier

log = logging.getLogger("vcgate.status")

STAGE = "status"
STATUS_LIST_2021_CONTEXT = "https://w3id.org/vc/status-list/2021/v1"
DATA_INTEGRITY_V2_CONTEXT = "https://w3id.org/security/data-integrity/v2"

#: Bitstring Status List §2.2: the uncompressed bitstring is at least 16 KB (131,072 entries of one bit).
MIN_BITSTRING_BITS = 131_072
#: Largest uncompressed bitstring accepted (a GZIP bomb is refused before it is inflated further).
MAX_BITSTRING_BYTES = 16 * 1024 * 1024
#: Largest list credential accepted from the network.
MAX_STATUS_LIST_CREDENTIAL_BYTES = 4 * 1024 * 1024
#: Bitstring Status List §2.2 ``ttl``: 300,000 ms when the list does not say.
DEFAULT_TTL_SECONDS = 300.0

StatusListFormat = Literal["bitstring", "2021"]
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_INDEX = re.compile(r"^[0-9]{1,15}$")


class StatusListError(VcgateError):
    """A status list could not be built, changed or decoded; ``code`` is the stable problem code."""

    def __init__(self, message: str, *, code: str = "STATUS_LIST_MALFORMED") -> None:
        super().__init__(message)
        self.code = code


class StatusListFetchError(VcgateError):
    """A status list credential could not be retrieved (network, HTTP error, refused URL, unknown URL)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot fetch status list {url!r}: {reason}")
        self.url = url
        self.reason = reason


# --- the bitstring -------------------------------------------------------------------------------------


def _b64url_strict(text: str) -> bytes:
    # base64.urlsafe_b64decode silently skips characters outside the alphabet; a status list must not decode
    # differently in different verifiers, so anything but the bare alphabet (RFC 4648 §5, no padding) is
    # refused.
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise StatusListError("encodedList is not unpadded base64url", code="STATUS_LIST_DECODING_FAILED")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _gunzip(data: bytes) -> bytes:
    # RFC 1952 GZIP, one member, nothing after it, inflated with a hard output limit (decompression bombs).
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, MAX_BITSTRING_BYTES + 1)
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not GZIP data: {exc}", code="STATUS_LIST_DECODING_FAILED") from None
    if len(out) > MAX_BITSTRING_BYTES:
        raise StatusListError(
            f"the status list inflates to more than {MAX_BITSTRING_BYTES} bytes",
            code="STATUS_LIST_TOO_LARGE",
        )
    if not inflater.eof:
        raise StatusListError("encodedList holds truncated GZIP data", code="STATUS_LIST_DECODING_FAILED")
    if inflater.unused_data:
        raise StatusListError("encodedList has data after the GZIP member", code="STATUS_LIST_DECODING_FAILED")
    return out


def decode_bitstring(encoded: str, *, list_format: StatusListFormat = "bitstring") -> bytes:
    """Decode ``encodedList``: multibase ``u`` + base64url (Bitstring Status List) or plain base64url
    (StatusList2021) of a GZIP'd bitstring. Raises :class:`StatusListError` with a stable code."""
    if not isinstance(encoded, str):
        raise StatusListError("encodedList must be a string", code="STATUS_LIST_DECODING_FAILED")
    if list_format == "bitstring":
        # Bitstring Status List §2.2: "Multibase-encoded base64url (with no padding)", i.e. prefix 'u'.
        if not encoded.startswith("u"):
            raise StatusListError(
                "encodedList must be multibase base64url (prefix 'u')", code="STATUS_LIST_DECODING_FAILED"
            )
        encoded = encoded[1:]
    bits = _gunzip(_b64url_strict(encoded))
    if len(bits) * 8 < MIN_BITSTRING_BITS:
        raise StatusListError(
            f"the status list has {len(bits) * 8} bits; at least {MIN_BITSTRING_BITS} are required",
            code="STATUS_LIST_TOO_SHORT",
        )
    return bits


def read_status(bitstring: bytes, index: int, status_size: int = 1) -> int:
    """The value of entry ``index`` (``status_size`` bits starting at bit ``index × status_size``; bit 0 is
    the most significant bit of byte 0). Raises :class:`StatusListError` (``STATUS_INDEX_OUT_OF_RANGE``)."""
    start = index * status_size
    if index < 0 or start + status_size > len(bitstring) * 8:
        raise StatusListError(
            f"statusListIndex {index} is outside the list ({len(bitstring) * 8 // status_size} entries)",
            code="STATUS_INDEX_OUT_OF_RANGE",
        )
    value = 0
    for pos in range(start, start + status_size):
        value = (value << 1) | ((bitstring[pos >> 3] >> (7 - (pos & 7))) & 1)
    return value


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class StatusList:
    """A status list being issued: ``length`` entries of ``status_size`` bits, published at ``url``.

    ``list_format`` is ``"bitstring"`` (W3C Bitstring Status List, VC 2.0) or ``"2021"`` (StatusList2021, VC
    1.1).
    """

    def __init__(
        self,
        url: str,
        bits: bytearray,
        *,
        status_size: int = 1,
        list_format: StatusListFormat = "bitstring",
        status_messages: tuple[tuple[int, str], ...] = (),
    ) -> None:
        self.url = url
        self.status_size = status_size
        self.list_format: StatusListFormat = list_format
        self.status_messages = status_messages
        self._bits = bits

    @classmethod
    def create(
        cls,
        url: str,
        *,
        length: int = MIN_BITSTRING_BITS,
        status_size: int = 1,
        list_format: StatusListFormat = "bitstring",
        status_messages: Mapping[int, str] | None = None,
    ) -> StatusList:
        """An all-zero list of ``length`` entries (at least 131,072, Bitstring Status List §2.2).

        With ``status_size`` > 1 the entries must carry ``statusMessage``: give one message per possible
        value.
        """
        if list_format not in ("bitstring", "2021"):
            raise StatusListError(f"unknown status list format {list_format!r}")
        if not isinstance(status_size, int) or status_size < 1 or status_size > 8:
            raise StatusListError("status_size must be an integer from 1 to 8")
        if list_format == "2021" and status_size != 1:
            raise StatusListError("StatusList2021 entries are one bit")
        if length < MIN_BITSTRING_BITS:
            raise StatusListError(f"a status list needs at least {MIN_BITSTRING_BITS} entries")
        messages: tuple[tuple[int, str], ...] = ()
        if status_messages is not None or status_size > 1:
            given = dict(status_messages or {})
            if sorted(given) != list(range(2**status_size)):
                raise StatusListError(
                    f"statusMessage needs exactly one message for each of the {2**status_size} values "
                    f"0..{2**status_size - 1} (Bitstring Status List §2.1)"
                )
            messages = tuple(sorted(given.items()))
        nbytes = (length * status_size + 7) // 8
        return cls(url, bytearray(nbytes), status_size=status_size, list_format=list_format, status_messages=messages)

    @classmethod
    def from_encoded(
        cls, url: str, encoded: str, *, status_size: int = 1, list_format: StatusListFormat = "bitstring"
    ) -> StatusList:
        """Re-open a published list from its ``encodedList`` (to change and republish it)."""
        return cls(
            url,
            bytearray(decode_bitstring(encoded, list_format=list_format)),
            status_size=status_size,
            list_format=list_format,
        )

    @property
    def length(self) -> int:
        """The number of entries."""
        return len(self._bits) * 8 // self.status_size

    def get(self, index: int) -> int:
        """The value of entry ``index``."""
        return read_status(bytes(self._bits), index, self.status_size)

    def set(self, index: int, value: int = 1) -> None:
        """Set entry ``index`` to ``value`` (1 = revoked/suspended for one-bit lists)."""
        if index < 0 or index >= self.length:
            raise StatusListError(f"index {index} is outside the list", code="STATUS_INDEX_OUT_OF_RANGE")
        if value < 0 or value >= 2**self.status_size:
            raise StatusListError(f"value {value} does not fit in {self.status_size} bits")
        start = index * self.status_size
        for i in range(self.status_size):
            pos = start + i
            bit = (value >> (self.status_size - 1 - i)) & 1
            mask = 1 << (7 - (pos & 7))
            if bit:
                self._bits[pos >> 3] |= mask
            else:
                self._bits[pos >> 3] &= ~mask & 0xFF

    def clear(self, index: int) -> None:
        """Set entry ``index`` back to 0."""
        self.set(index, 0)

    def encode(self) -> str:
        """``encodedList``: GZIP, then base64url without padding; with the multibase ``u`` prefix for
        Bitstring Status List, without it for StatusList2021."""
        # mtime=0: the same bits always give the same encodedList (reproducible list credentials).
        body = base64.urlsafe_b64encode(gzip.compress(bytes(self._bits), mtime=0)).rstrip(b"=").decode("ascii")
        return "u" + body if self.list_format == "bitstring" else body

    def to_credential(
        self,
        issuer: str,
        purpose: str,
        valid_from: datetime,
        *,
        valid_until: datetime | None = None,
        ttl_ms: int | None = None,
        extra_contexts: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """The unsigned list credential (``BitstringStatusListCredential`` or ``StatusList2021Credential``)
        whose ``id`` is the list's ``url``; sign it with :func:`vcgate.gateway.sign` and publish it at that
        URL.

        A StatusList2021 credential is a VC 1.1 document; it carries the Data Integrity context so that the
        default ``eddsa-rdfc-2022`` proof's terms are defined.
        """
        if self.list_format == "bitstring":
            subject: dict[str, Any] = {
                "id": f"{self.url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": self.encode(),
            }
            if ttl_ms is not None:
                subject["ttl"] = ttl_ms
            cred: dict[str, Any] = {
                "@context": [CREDENTIALS_V2_URL, *extra_contexts],
                "id": self.url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": issuer,
                "validFrom": _timestamp(valid_from),
            }
            if valid_until is not None:
                cred["validUntil"] = _timestamp(valid_until)
        else:
            subject = {
                "id": f"{self.url}#list",
                "type": "StatusList2021",
                "statusPurpose": purpose,
                "encodedList": self.encode(),
            }
            cred = {
                "@context": [
                    CREDENTIALS_V1_URL,
                    STATUS_LIST_2021_CONTEXT,
                    *(extra_contexts or (DATA_INTEGRITY_V2_CONTEXT,)),
                ],
                "id": self.url,
                "type": ["VerifiableCredential", "StatusList2021Credential"],
                "issuer": issuer,
                "issuanceDate": _timestamp(valid_from),
            }
            if valid_until is not None:
                cred["expirationDate"] = _timestamp(valid_until)
        cred["credentialSubject"] = subject
        return cred

    def entry(self, index: int, purpose: str) -> dict[str, Any]:
        """The ``credentialStatus`` entry for entry ``index`` of this list."""
        if index < 0 or index >= self.length:
            raise StatusListError(f"index {index} is outside the list", code="STATUS_INDEX_OUT_OF_RANGE")
        out: dict[str, Any] = {
            "id": f"{self.url}#{index}",
            "type": "BitstringStatusListEntry" if self.list_format == "bitstring" else "StatusList2021Entry",
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": self.url,
        }
        if self.status_size > 1:
            out["statusSize"] = self.status_size
        if self.status_messages:
            out["statusMessage"] = [{"status": hex(v), "message": m} for v, m in self.status_messages]
        return out


# --- fetching list credentials -------------------------------------------------------------------------


@runtime_checkable
class StatusListFetcher(Protocol):
    """Retrieves a status list credential's bytes; raises :class:`StatusListFetchError` when it cannot."""

    def fetch(self, url: str) -> bytes:
        """The bytes published at ``url``."""
        ...


class StaticStatusListFetcher:
    """Serves fixed list credentials (URL → credential object or bytes): tests, offline use, stapled lists."""

    def __init__(self, lists: Mapping[str, Mapping[str, Any] | bytes | str] | None = None) -> None:
        self._lists: dict[str, bytes] = {}
        for url, value in (lists or {}).items():
            self.publish(url, value)

    def publish(self, url: str, value: Mapping[str, Any] | bytes | str) -> None:
        """Add or replace the list credential served at ``url``."""
        if isinstance(value, bytes):
            self._lists[url] = value
        elif isinstance(value, str):
            self._lists[url] = value.encode("utf-8")
        else:
            self._lists[url] = json.dumps(value).encode("utf-8")

    def fetch(self, url: str) -> bytes:
        """The stored bytes for ``url``."""
        try:
            return self._lists[url]
        except KeyError:
            raise StatusListFetchError(url, "no such status list is known to this static fetcher") from None


def _cache_lifetime(body: bytes, now: float, default_ttl: float) -> float:
    # Bitstring Status List §2.2 ``ttl`` (milliseconds) bounds how long a fetched list may be used; so does
    # the list credential's own validUntil / expirationDate. Take the earliest; fall back to the default TTL.
    lifetime = default_ttl
    try:
        text = body.strip()
        if text.startswith(b"ey") and text.count(b".") == 2:
            # A vc+jwt list: its payload is the credential. Read unverified here, only to bound the cache; the
            # checker verifies every list it uses.
            text = base64.urlsafe_b64decode(text.split(b".")[1] + b"=" * (-len(text.split(b".")[1]) % 4))
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return 0.0
    if not isinstance(doc, dict):
        return 0.0
    subject = doc.get("credentialSubject")
    ttl = subject.get("ttl") if isinstance(subject, dict) else None
    if isinstance(ttl, int) and not isinstance(ttl, bool) and ttl >= 0:
        lifetime = min(lifetime, ttl / 1000.0)
    for key in ("validUntil", "expirationDate"):
        raw = doc.get(key)
        if isinstance(raw, str):
            try:
                end = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                continue
            if end.tzinfo is not None:
                lifetime = min(lifetime, end.timestamp() - now)
    return max(lifetime, 0.0)


class HttpStatusListFetcher:
    """Fetches list credentials over HTTPS with httpx, with a size limit, timeouts and a cache that honours
    the list's ``ttl`` (default 300 s) and ``validUntil``.

    ``unsafe_allow_http_localhost`` allows plain http to localhost / 127.0.0.1 only (tests and local demos);
    it is logged every time it is used.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        max_bytes: int = MAX_STATUS_LIST_CREDENTIAL_BYTES,
        default_ttl: float = DEFAULT_TTL_SECONDS,
        unsafe_allow_http_localhost: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # httpx is imported only where a fetch happens: the verification core itself does no I/O.
        import httpx

        self._client = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False)
        self._max_bytes = max_bytes
        self._default_ttl = default_ttl
        self._unsafe_http = unsafe_allow_http_localhost
        self._clock = clock
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        #: Number of network requests made (cache hits are not counted).
        self.requests = 0

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"):
            if self._unsafe_http:
                log.warning("unsafe: fetching status list %s over plain http", url)
                return
            raise StatusListFetchError(url, "plain http is refused (unsafe_allow_http_localhost is off)")
        raise StatusListFetchError(url, "only https status list URLs are fetched")

    def fetch(self, url: str) -> bytes:
        """The list credential at ``url``, from the cache while it is fresh."""
        self._check_url(url)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(url)
        if hit is not None and now < hit[0]:
            return hit[1]
        with self._lock:
            self.requests += 1
        try:
            with self._client.stream("GET", url, headers={"Accept": "application/vc+ld+json, application/json"}) as r:
                if r.status_code != 200:
                    raise StatusListFetchError(url, f"HTTP {r.status_code}")
                body = b""
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise StatusListFetchError(url, f"larger than {self._max_bytes} bytes")
        except _http_error() as exc:
            raise StatusListFetchError(url, f"{type(exc).__name__}: {exc}") from None
        lifetime = _cache_lifetime(body, now, self._default_ttl)
        if lifetime > 0:
            with self._lock:
                self._cache[url] = (now + lifetime, body)
        return body


# --- checking entries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusEntry:
    """One parsed ``credentialStatus`` entry of a supported type."""

    list_format: StatusListFormat
    purpose: str
    index: int
    list_url: str
    status_size: int
    messages: Mapping[int, str]
    pointer: str


_ENTRY_TYPES: dict[str, StatusListFormat] = {
    "BitstringStatusListEntry": "bitstring",
    "StatusList2021Entry": "2021",
}
_LIST_TYPES: dict[StatusListFormat, tuple[str, str]] = {
    "bitstring": ("BitstringStatusListCredential", "BitstringStatusList"),
    "2021": ("StatusList2021Credential", "StatusList2021"),
}


def _failed(name: str, code: str, title: str, detail: str, pointer: str) -> Check:
    return Check.failed(name, Problem(code, title, detail, pointer), STAGE)


def _errored(name: str, code: str, title: str, detail: str, pointer: str) -> Check:
    return Check.errored(name, Problem(code, title, detail, pointer), STAGE)


def _malformed(detail: str, pointer: str) -> Check:
    return _failed("status", "STATUS_ENTRY_MALFORMED", "Malformed status entry", detail, pointer)


def parse_status_entry(raw: Any, pointer: str = "/credentialStatus") -> StatusEntry | Check:
    """Parse one ``credentialStatus`` entry; a failed (errored, for an unknown type) check if unusable."""
    if not isinstance(raw, dict):
        return _malformed("a credentialStatus entry must be an object", pointer)
    t = raw.get("type")
    types = [t] if isinstance(t, str) else [x for x in t if isinstance(x, str)] if isinstance(t, list) else []
    kinds = [_ENTRY_TYPES[x] for x in types if x in _ENTRY_TYPES]
    if not kinds:
        return _errored(
            "status",
            "STATUS_TYPE_UNSUPPORTED",
            "Unsupported status mechanism",
            f"credentialStatus type {t!r} is not BitstringStatusListEntry or StatusList2021Entry",
            pointer + "/type",
        )
    purpose = raw.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        return _malformed("statusPurpose must be a non-empty string", pointer + "/statusPurpose")
    idx = raw.get("statusListIndex")
    # Bitstring Status List §2.1: an integer >= 0 "expressed as a string in base 10"; bare JSON integers are
    # common in the wild and unambiguous, so they are accepted too.
    if isinstance(idx, str) and _INDEX.fullmatch(idx):
        index = int(idx)
    elif isinstance(idx, int) and not isinstance(idx, bool) and idx >= 0:
        index = idx
    else:
        return _malformed("statusListIndex must be a base-10 integer string", pointer + "/statusListIndex")
    url = raw.get("statusListCredential")
    if not isinstance(url, str) or not urlsplit(url).scheme:
        return _malformed("statusListCredential must be a URL", pointer + "/statusListCredential")
    size = raw.get("statusSize", 1)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 8:
        return _malformed("statusSize must be an integer from 1 to 8", pointer + "/statusSize")
    if kinds[0] == "2021" and size != 1:
        return _malformed("StatusList2021 entries are one bit", pointer + "/statusSize")
    messages: dict[int, str] = {}
    raw_messages = raw.get("statusMessage")
    if raw_messages is not None or size > 1:
        # §2.1 statusMessage: required when statusSize > 1, one {status: "0x…", message} per possible value.
        if not isinstance(raw_messages, list) or len(raw_messages) != 2**size:
            return _malformed(
                f"statusMessage must list {2**size} messages for statusSize {size}",
                pointer + "/statusMessage",
            )
        for i, m in enumerate(raw_messages):
            status = m.get("status") if isinstance(m, dict) else None
            text = m.get("message") if isinstance(m, dict) else None
            try:
                value = int(status, 16) if isinstance(status, str) and status.startswith("0x") else -1
            except ValueError:
                value = -1
            if value < 0 or value >= 2**size or value in messages or not isinstance(text, str):
                return _malformed(
                    "each statusMessage needs a distinct status '0x…' in range and a message string",
                    f"{pointer}/statusMessage/{i}",
                )
            messages[value] = text
    return StatusEntry(kinds[0], purpose, index, url, size, messages, pointer)


def _purposes(subject: Mapping[str, Any]) -> list[str]:
    p = subject.get("statusPurpose")
    if isinstance(p, str):
        return [p]
    return [x for x in p if isinstance(x, str)] if isinstance(p, list) else []


def _type_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [x for x in value if isinstance(x, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class _ListOutcome:
    """A verified (or rejected) list credential, cached by its bytes' digest and the verification inputs."""

    check: Check
    document: Mapping[str, Any] | None


class StatusListChecker:
    """Checks ``credentialStatus`` entries (Bitstring Status List, StatusList2021); a ``Verifier`` status
    checker.

    ``require_same_issuer`` (default on): the list credential must be issued by the credential's issuer. The
    Bitstring Status List note "Issuer validation is use case dependent" allows others; vcgate's parties
    revoke their own credentials, so anything else is treated as a forged list.
    """

    def __init__(self, fetcher: StatusListFetcher, *, require_same_issuer: bool = True) -> None:
        self.fetcher = fetcher
        self.require_same_issuer = require_same_issuer
        self._verified: OrderedDict[tuple[Any, ...], _ListOutcome] = OrderedDict()
        self._decoded: OrderedDict[tuple[bytes, str], bytes | StatusListError] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, doc: Mapping[str, Any], at: datetime, verifier: Verifier) -> list[Check]:
        """Check every status entry of ``doc`` at ``at``; ``verifier`` verifies the list credentials."""
        return self._check(doc, at, verifier, ())

    def _check(self, doc: Mapping[str, Any], at: datetime, verifier: Verifier, chain: tuple[str, ...]) -> list[Check]:
        from ._verify import issuer_id

        raw = doc.get("credentialStatus")
        entries: list[tuple[Any, str]]
        if isinstance(raw, list):
            entries = [(e, json_pointer("credentialStatus", i)) for i, e in enumerate(raw)]
        else:
            entries = [(raw, "/credentialStatus")]
        if not entries:
            return [Check.not_applicable("status", STAGE)]
        checks: list[Check] = []
        for raw_entry, pointer in entries:
            entry = parse_status_entry(raw_entry, pointer)
            if isinstance(entry, Check):
                checks.append(entry)
                continue
            checks.extend(self._check_entry(entry, issuer_id(doc), at, verifier, chain))
        return checks

    def _list_credential(
        self, entry: StatusEntry, body: bytes, at: datetime, verifier: Verifier, chain: tuple[str, ...]
    ) -> _ListOutcome:
        from ._verify import Verifier

        key = (hashlib.sha256(body).digest(), at, verifier.policy.digest, id(verifier.resolver), chain)
        with self._lock:
            hit = self._verified.get(key)
        if hit is not None:
            return hit
        url = entry.list_url
        inner_chain = (*chain, url)

        def nested(d: Mapping[str, Any], a: datetime, v: Verifier) -> list[Check]:
            return self._check(d, a, v, inner_chain)

        # The list credential is verified like any credential (proof, pinned contexts, strict terms, validity
        # at `at`), and its own status, if it has one, is checked with this list remembered to stop cycles.
        inner = Verifier(verifier.policy, verifier.resolver, status_checker=nested, loader=verifier.loader)
        result = inner.check(body, at=at)
        if result.verified and isinstance(result.credential, Mapping):
            outcome = _ListOutcome(Check.passed("status_list_credential", STAGE), result.credential)
        else:
            bad = [c for c in result.checks if c.status in ("failed", "error") and c.problem is not None]
            first = bad[0].problem if bad else None
            why = f"{first.code}: {first.detail or first.title}" if first else result.status
            failed = [c for c in bad if c.status == "failed"]
            if failed and all(c.stage == "validity" for c in failed):
                # An expired (or not yet valid) list cannot tell the current status: undecided, not invalid.
                check = _errored(
                    "status_list_credential",
                    "STATUS_LIST_STALE",
                    "Status list not valid at this time",
                    f"{url}: {why}",
                    entry.pointer + "/statusListCredential",
                )
            elif result.status == "invalid":
                check = _failed(
                    "status_list_credential",
                    "STATUS_LIST_INVALID",
                    "Status list credential does not verify",
                    f"{url}: {why}",
                    entry.pointer + "/statusListCredential",
                )
            else:
                check = _errored(
                    "status_list_credential",
                    "STATUS_LIST_UNVERIFIABLE",
                    "Status list credential could not be verified",
                    f"{url}: {why}",
                    entry.pointer + "/statusListCredential",
                )
            outcome = _ListOutcome(check, None)
        with self._lock:
            self._verified[key] = outcome
            while len(self._verified) > 64:
                self._verified.popitem(last=False)
        return outcome

    def _bits(self, encoded: Any, list_format: StatusListFormat) -> bytes:
        if not isinstance(encoded, str):
            raise StatusListError("encodedList must be a string", code="STATUS_LIST_DECODING_FAILED")
        key = (hashlib.sha256(encoded.encode("utf-8")).digest(), list_format)
        with self._lock:
            hit = self._decoded.get(key)
        if hit is None:
            try:
                hit = decode_bitstring(encoded, list_format=list_format)
            except StatusListError as exc:
                hit = exc
            with self._lock:
                self._decoded[key] = hit
                while len(self._decoded) > 16:
                    self._decoded.popitem(last=False)
        if isinstance(hit, StatusListError):
            raise hit
        return hit

    def _check_entry(
        self,
        entry: StatusEntry,
        issuer: str | None,
        at: datetime,
        verifier: Verifier,
        chain: tuple[str, ...],
    ) -> list[Check]:
        from ._verify import issuer_id

        url_ptr = entry.pointer + "/statusListCredential"
        if entry.list_url in chain:
            return [
                _failed(
                    "status_list_credential",
                    "STATUS_LIST_CYCLE",
                    "Status list refers to itself",
                    f"{entry.list_url} is already being checked ({' -> '.join(chain)})",
                    url_ptr,
                )
            ]
        # Bitstring Status List §3.2 step 4: dereference; a failure is STATUS_RETRIEVAL_ERROR - undecided.
        try:
            body = self.fetcher.fetch(entry.list_url)
        except StatusListFetchError as exc:
            return [
                _errored(
                    "status_list_credential",
                    "STATUS_UNREACHABLE",
                    "Status list unreachable",
                    str(exc),
                    url_ptr,
                )
            ]
        outcome = self._list_credential(entry, body, at, verifier, chain)
        if outcome.document is None:
            return [outcome.check]
        list_doc = outcome.document
        credential_type, subject_type = _LIST_TYPES[entry.list_format]
        subject = list_doc.get("credentialSubject")
        if (
            credential_type not in _type_list(list_doc.get("type"))
            or not isinstance(subject, dict)
            or subject_type not in _type_list(subject.get("type"))
        ):
            return [
                _failed(
                    "status_list_credential",
                    "STATUS_LIST_MALFORMED",
                    "Not a status list credential",
                    f"{entry.list_url} is not a {credential_type} with a {subject_type} subject",
                    url_ptr,
                )
            ]
        if "id" in list_doc and list_doc["id"] != entry.list_url:
            # A list published for another URL (even by the same issuer) must not be replayed here.
            return [
                _failed(
                    "status_list_credential",
                    "STATUS_LIST_ID_MISMATCH",
                    "Status list served under another URL",
                    f"the list credential's id is {list_doc['id']!r}, the entry points to {entry.list_url!r}",
                    url_ptr,
                )
            ]
        list_issuer = issuer_id(list_doc)
        if self.require_same_issuer and list_issuer != issuer:
            return [
                _failed(
                    "status_list_credential",
                    "STATUS_ISSUER_MISMATCH",
                    "Status list from another issuer",
                    f"the list is issued by {list_issuer!r}, the credential by {issuer!r}",
                    url_ptr,
                )
            ]
        # §3.2 step 5: the entry's purpose must be one the list declares.
        if entry.purpose not in _purposes(subject):
            return [
                _failed(
                    "status_list_credential",
                    "STATUS_PURPOSE_MISMATCH",
                    "Status purpose mismatch",
                    f"the entry's statusPurpose {entry.purpose!r} is not one of the list's {_purposes(subject)}",
                    entry.pointer + "/statusPurpose",
                )
            ]
        checks = [outcome.check]
        try:
            bits = self._bits(subject.get("encodedList"), entry.list_format)
            value = read_status(bits, entry.index, entry.status_size)
        except StatusListError as exc:
            ptr = entry.pointer + "/statusListIndex" if exc.code == "STATUS_INDEX_OUT_OF_RANGE" else url_ptr
            checks.append(_failed("status", exc.code, "Unusable status list", str(exc), ptr))
            return checks
        if value and entry.purpose == "revocation":
            checks.append(
                _failed(
                    "status",
                    "STATUS_REVOKED",
                    "Credential revoked",
                    f"entry {entry.index} of {entry.list_url} is set"
                    + (f" ({entry.messages[value]})" if value in entry.messages else ""),
                    entry.pointer,
                )
            )
        elif value and entry.purpose == "suspension":
            checks.append(
                _failed(
                    "status",
                    "STATUS_SUSPENDED",
                    "Credential suspended",
                    f"entry {entry.index} of {entry.list_url} is set"
                    + (f" ({entry.messages[value]})" if value in entry.messages else ""),
                    entry.pointer,
                )
            )
        else:
            # Other purposes (message, refresh, …) carry information but do not invalidate the credential.
            checks.append(Check.passed("status", STAGE))
        return checks


__all__ = [
    "HttpStatusListFetcher",
    "StaticStatusListFetcher",
    "StatusEntry",
    "StatusList",
    "StatusListChecker",
    "StatusListError",
    "StatusListFetchError",
    "StatusListFetcher",
    "decode_bitstring",
    "parse_status_entry",
    "read_status",
]


def _http_error() -> type[Exception]:
    import httpx

    return httpx.HTTPError
