"""``RemoteAdapter``: the adapter SDK interface spoken over HTTP to a service implementing the remote adapter
protocol (``openapi.yaml``), such as ``vcgate adapters serve``.

The client is the boundary: httpx errors become :mod:`._errors` exceptions, every answer is parsed strictly
(``_wire``), and the service's protocol version is checked before anything else is believed.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final
from urllib.parse import quote, urlsplit

import httpx

from vcgate.adapters.sdk import (
    API_VERSION,
    AdapterConfigError,
    AdapterInfo,
    Check,
    CheckStatus,
    Cursor,
    EvidenceResult,
    Health,
    RecordPage,
    RewindPage,
    SourceRecord,
    Translation,
    TranslationError,
    format_datetime,
)
from vcgate.canonical_schema import InputError, Problem

from ._errors import (
    IncompatibleProtocolError,
    RemoteAdapterError,
    RemoteAuthError,
    RemoteProtocolError,
    RemoteRecordNotFoundError,
    RemoteRequestError,
    RemoteUnavailableError,
)
from ._wire import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    WireFormatError,
    dumps,
    evidence_result_from_json,
    health_from_json,
    info_from_json,
    loads_strictly,
    page_from_json,
    problem_from_json,
    protocol_major,
    record_from_json,
    record_to_json,
)

log = logging.getLogger("vcgate.adapters.remote")

#: Largest response body the client reads (a page of records can be big; anything larger is refused).
MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
_RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
_MAX_BACKOFF: Final = 5.0
_CONFIG_KEYS: Final = frozenset({"url", "token", "timeout", "retries", "backoff", "unsafeAllowHttp", "configDir"})


@dataclass(frozen=True, slots=True)
class SigningInfo:
    """What a service that signs in partner mode says about its key: the issuer DID, the suite and the method."""

    issuer: str
    suite: str
    verification_method: str


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class RemoteAdapter:
    """An adapter reached over HTTP through the remote adapter protocol (version 1; see ``openapi.yaml``).

    Settings (``from_config``): ``url`` (the service's base URL; ``http://`` only for loopback hosts unless
    ``unsafeAllowHttp``), ``token`` (bearer token), ``timeout`` (seconds per request, default 10), ``retries``
    (extra attempts after a connection failure, timeout or HTTP 429/502/503/504, default 3) and ``backoff`` (first
    wait in seconds, doubling each retry, default 0.25).

    The evidence checker it returns asks the service to re-check evidence **live**; that answer is advisory. The
    gateway checks evidence offline with its own installed checker for the evidence's ledger kind and never
    trusts the remote service for it (docs/remote-adapters.md, "Trust").
    """

    API_VERSION: ClassVar[int] = API_VERSION
    KIND: ClassVar[str] = "remote"

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.25,
        unsafe_allow_http: bool = False,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"remote adapter url {url!r} must be an http(s) URL with a host")
        if parts.query or parts.fragment:
            raise InputError(f"remote adapter url {url!r} must not have a query or fragment")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            if not unsafe_allow_http:
                raise InputError(
                    f"remote adapter url {url!r} uses plain http to a non-loopback host: use https, or set "
                    "unsafeAllowHttp (the token and every record would cross the network unprotected)"
                )
            log.warning("unsafe: remote adapter at %s is reached over plain http", url)
        self.url = url.rstrip("/")
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        headers = {"Accept": "application/json, application/problem+json", "User-Agent": "vcgate-remote-adapter/1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            headers=headers,
            follow_redirects=False,
            transport=transport,
        )
        self._info: AdapterInfo | None = None
        self._signing: SigningInfo | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RemoteAdapter:
        """Build the client from ``{url, token?, timeout?, retries?, backoff?, unsafeAllowHttp?}``; no I/O."""
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise AdapterConfigError(
                f"remote adapter settings {', '.join(unknown)} are unknown; known: {', '.join(sorted(_CONFIG_KEYS))}"
            )
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise AdapterConfigError("remote adapter setting 'url' is required (the service's base URL)")
        token = config.get("token")
        if token is not None and (not isinstance(token, str) or not token):
            raise AdapterConfigError("remote adapter setting 'token' must be a non-empty string")
        timeout = config.get("timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
            raise AdapterConfigError("remote adapter setting 'timeout' must be a number of seconds in (0, 600]")
        retries = config.get("retries", 3)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise AdapterConfigError("remote adapter setting 'retries' must be an integer from 0 to 10")
        backoff = config.get("backoff", 0.25)
        if isinstance(backoff, bool) or not isinstance(backoff, int | float) or not 0 <= backoff <= 10:
            raise AdapterConfigError("remote adapter setting 'backoff' must be a number of seconds in [0, 10]")
        unsafe = config.get("unsafeAllowHttp", False)
        if not isinstance(unsafe, bool):
            raise AdapterConfigError("remote adapter setting 'unsafeAllowHttp' must be true or false")
        try:
            return cls(
                url,
                token=token,
                timeout=float(timeout),
                retries=retries,
                backoff=float(backoff),
                unsafe_allow_http=unsafe,
            )
        except InputError as exc:
            raise AdapterConfigError(str(exc)) from None

    # -- HTTP ---------------------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None) -> Any:
        """Send one request (retrying transient failures) and return the parsed JSON of a 2xx answer."""
        url = self.url + path
        content = dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response, data = self._send(method, url, params, content, headers)
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempt >= self._retries:
                    raise RemoteUnavailableError(
                        f"remote adapter service {self.url} is unavailable ({reason}) after {attempt + 1} "
                        "attempt(s); check that `vcgate adapters serve` (or the partner's service) is running there",
                        url=url,
                    ) from None
            else:
                if response.status_code < 300 and response.status_code >= 200:
                    return self._json(response, data, url)
                if response.status_code not in _RETRY_STATUSES or attempt >= self._retries:
                    raise self._error(response, data, url)
                wait = _retry_after(response.headers.get("Retry-After"))
            attempt += 1
            delay = min(self._backoff * (2 ** (attempt - 1)), _MAX_BACKOFF)
            self._sleep(max(delay, min(wait, _MAX_BACKOFF)) if wait is not None else delay)

    def _send(
        self, method: str, url: str, params: Mapping[str, str] | None, content: bytes | None, headers: dict[str, str]
    ) -> tuple[httpx.Response, bytes]:
        request = self._http.build_request(method, url, params=params, content=content, headers=headers)
        response = self._http.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                raise RemoteProtocolError(
                    f"remote adapter service {self.url} sent {declared} bytes (limit {MAX_RESPONSE_BYTES})", url=url
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise RemoteProtocolError(
                        f"remote adapter service {self.url} sent more than {MAX_RESPONSE_BYTES} bytes", url=url
                    )
                chunks.append(chunk)
        finally:
            response.close()
        return response, b"".join(chunks)

    def _json(self, response: httpx.Response, data: bytes, url: str) -> Any:
        version = response.headers.get(PROTOCOL_HEADER)
        if version is not None:
            self._check_version(version, url)
        media = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise RemoteProtocolError(
                f"remote adapter service answered {url} with {media or 'no content type'}, not application/json",
                url=url,
                status=response.status_code,
            )
        try:
            return loads_strictly(data)
        except WireFormatError as exc:
            raise RemoteProtocolError(f"remote adapter service sent malformed JSON for {url}: {exc}", url=url) from None

    def _check_version(self, version: str, url: str) -> None:
        try:
            major = protocol_major(version)
        except WireFormatError:
            raise IncompatibleProtocolError(
                f"remote adapter service {self.url} announces protocol version {version!r}, which is not "
                f"MAJOR.MINOR.PATCH; this client speaks {PROTOCOL_VERSION}",
                url=url,
            ) from None
        if major != protocol_major(PROTOCOL_VERSION):
            raise IncompatibleProtocolError(
                f"remote adapter service {self.url} speaks protocol version {version}, but this vcgate speaks "
                f"{PROTOCOL_VERSION} (major versions must match); upgrade the side that is behind",
                url=url,
            )

    def _error(self, response: httpx.Response, data: bytes, url: str) -> RemoteAdapterError | TranslationError:
        status = response.status_code
        problem: Problem | None = None
        body: Any = None
        if response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower() in (
            "application/problem+json",
            "application/json",
        ):
            try:
                body = loads_strictly(data)
                problem = problem_from_json(body, "")
            except WireFormatError:
                problem = None
        said = f": {problem.detail or problem.title} [{problem.code}]" if problem is not None else ""
        where = f"remote adapter service {self.url} answered HTTP {status} for {response.request.method} {url}{said}"
        if problem is not None and problem.code == "REMOTE_TRANSLATION_FAILED" and isinstance(body, dict):
            inner = body.get("translationProblem")
            if isinstance(inner, dict) and isinstance(inner.get("code"), str):
                return TranslationError(
                    inner["code"],
                    str(inner.get("detail", "")),
                    record_pointer=str(inner.get("pointer", "")),
                    mapping_pointer=str(inner.get("mappingPointer", "")),
                )
        kind: type[RemoteAdapterError]
        if status == 404 and problem is not None and problem.code == "REMOTE_RECORD_NOT_FOUND":
            kind = RemoteRecordNotFoundError
        elif status in (401, 403):
            kind = RemoteAuthError
        elif status in (400, 404, 405, 409, 413, 415, 422):
            kind = RemoteRequestError
        elif status in _RETRY_STATUSES:
            kind = RemoteUnavailableError
        else:
            kind = RemoteProtocolError
        return kind(where, url=url, status=status, problem=problem)

    def _handshake(self) -> AdapterInfo:
        if self._info is None:
            self.describe()
        assert self._info is not None
        return self._info

    # -- the adapter interface ----------------------------------------------------------------------------------

    def describe(self) -> AdapterInfo:
        """``GET /v1/describe``: the remote adapter's info, after checking the protocol and adapter API versions."""
        url = self.url + "/v1/describe"
        body = self._request("GET", "/v1/describe")
        if not isinstance(body, dict) or "protocolVersion" not in body:
            raise IncompatibleProtocolError(
                f"remote adapter service {self.url} sent no protocolVersion in /v1/describe; it does not speak "
                f"the remote adapter protocol {PROTOCOL_VERSION}",
                url=url,
            )
        self._check_version(str(body["protocolVersion"]), url)
        try:
            unknown = sorted(set(body) - {"protocolVersion", "adapter", "signing"})
            if unknown:
                raise WireFormatError(f"/{unknown[0]}", "is not a member the protocol defines")
            info = info_from_json(body.get("adapter"))
            signing = _signing_from_json(body.get("signing"))
        except WireFormatError as exc:
            raise RemoteProtocolError(f"remote adapter service {self.url} sent a malformed describe: {exc}") from None
        if info.api_version != API_VERSION:
            raise IncompatibleProtocolError(
                f"the adapter behind {self.url} implements adapter API {info.api_version}; this vcgate implements "
                f"API {API_VERSION}",
                url=url,
            )
        self._info = info
        self._signing = signing
        return info

    def signing(self) -> SigningInfo | None:
        """The partner's issuer DID, suite and verification method when the service signs; ``None`` otherwise."""
        self._handshake()
        return self._signing

    def records(self, since: Cursor | None = None, *, limit: int | None = None) -> Iterator[RecordPage]:
        """``GET /v1/records``: pages after ``since`` exactly as the remote adapter pages them, including empty
        pages that only move the cursor and :class:`RewindPage` reorg notices, until the service says ``end``.

        Without ``limit`` each HTTP page is one adapter page; with ``limit`` the service joins whole adapter pages
        up to that many records (it never splits one, since only the adapter knows a cursor per record).
        """
        self._handshake()
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InputError("limit must be a positive integer")
        cursor = since
        while True:
            params: dict[str, str] = {}
            if cursor is not None:
                params["since"] = cursor.encode()
            if limit is not None:
                params["limit"] = str(limit)
            body = self._request("GET", "/v1/records", params=params)
            try:
                wire = page_from_json(body)
            except WireFormatError as exc:
                raise RemoteProtocolError(f"remote adapter service {self.url} sent a malformed page: {exc}") from None
            page = wire.page
            if page is not None:
                self._check_progress(page, cursor)
                yield page
                cursor = page.next_cursor
            if wire.end:
                return

    def _check_progress(self, page: RecordPage, cursor: Cursor | None) -> None:
        # A page moves forward from the requested cursor; only a rewind (a reorg) moves back. Either way the stream
        # moves, so a service cannot keep the client asking for the same page forever.
        if cursor is None:
            return
        if isinstance(page, RewindPage):
            if not page.next_cursor < cursor:
                raise RemoteProtocolError(
                    f"remote adapter service {self.url} answered a rewind to {page.next_cursor.encode()}, not before "
                    f"the requested cursor {cursor.encode()}"
                )
        elif not page.next_cursor > cursor:
            raise RemoteProtocolError(
                f"remote adapter service {self.url} answered a page ending at {page.next_cursor.encode()}, "
                f"not after the requested cursor {cursor.encode()}"
            )

    def fetch(self, locator: str) -> SourceRecord:
        """``GET /v1/records/{locator}``: the record at ``locator``; :class:`RemoteRecordNotFoundError` if none."""
        self._handshake()
        if not isinstance(locator, str) or not locator:
            raise RemoteRecordNotFoundError("a record locator is a non-empty string", url=self.url)
        body = self._request("GET", "/v1/records/" + _path_segment(locator))
        try:
            record = record_from_json(body)
        except WireFormatError as exc:
            raise RemoteProtocolError(f"remote adapter service {self.url} sent a malformed record: {exc}") from None
        if record.locator != locator:
            raise RemoteProtocolError(
                f"remote adapter service {self.url} answered locator {record.locator!r} for {locator!r}"
            )
        return record

    def translate(self, record: SourceRecord) -> Translation:
        """``POST /v1/translate``: the unsigned credential and evidence the remote adapter makes of ``record``."""
        self._handshake()
        body = self._request("POST", "/v1/translate", body=record_to_json(record))
        credential, evidence, _ = _translation_from_json(body, self.url, signed=False)
        return Translation(credential, evidence)

    def issue(self, record: SourceRecord) -> dict[str, Any]:
        """``POST /v1/translate?sign=true``: the credential for ``record`` signed by the service (partner mode).

        The service signs only a record equal to the one its ledger holds at that locator.
        """
        self._handshake()
        body = self._request("POST", "/v1/translate", params={"sign": "true"}, body=record_to_json(record))
        _, _, signed = _translation_from_json(body, self.url, signed=True)
        assert signed is not None
        return signed

    def evidence_checker(self) -> RemoteEvidenceChecker:
        """A checker that asks the service to re-check evidence (advisory; see the class docstring)."""
        return RemoteEvidenceChecker(self)

    def health(self) -> Health:
        """``GET /v1/health``; ``down`` (never an exception) when the service cannot be reached or understood."""
        try:
            body = self._request("GET", "/v1/health")
            if isinstance(body, dict):
                self._check_version(str(body.get("protocolVersion")), self.url + "/v1/health")
            return health_from_json(body)
        except (RemoteAdapterError, WireFormatError) as exc:
            return Health("down", str(exc))

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> RemoteAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- evidence (used by RemoteEvidenceChecker) ---------------------------------------------------------------

    def _check_evidence(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        at: datetime,
        mode: str,
    ) -> EvidenceResult:
        self._handshake()
        body = self._request(
            "POST",
            "/v1/evidence/check",
            body={
                "credential": dict(credential),
                "evidence": dict(evidence),
                "anchor": dict(anchor),
                "at": format_datetime(at),
                "mode": mode,
            },
        )
        try:
            return evidence_result_from_json(body)
        except WireFormatError as exc:
            raise RemoteProtocolError(
                f"remote adapter service {self.url} sent a malformed evidence result: {exc}"
            ) from None


class RemoteEvidenceChecker:
    """Asks the adapter service to check evidence (``POST /v1/evidence/check``). **Advisory**, never a trust root.

    The answer comes from the partner's own service, so it cannot vouch for the partner's evidence: vcgate's
    verification checks evidence with its own installed checker for the evidence's ledger kind, offline against
    the anchor its policy pins. Every result carries a ``remote.advisory`` check (``not_applicable``) saying so,
    and a service that cannot be reached yields an ``error`` result (``REMOTE_EVIDENCE_UNCHECKED``), never an
    exception.
    """

    def __init__(self, adapter: RemoteAdapter) -> None:
        self._adapter = adapter

    def check(
        self, credential: Mapping[str, Any], evidence: Mapping[str, Any], anchor: Mapping[str, Any], *, at: datetime
    ) -> EvidenceResult:
        """The service's offline check of ``evidence`` against ``anchor`` at ``at`` (its adapter's checker)."""
        return self._run(credential, evidence, anchor, at, "offline")

    def recheck_live(
        self, credential: Mapping[str, Any], evidence: Mapping[str, Any], anchor: Mapping[str, Any], *, at: datetime
    ) -> EvidenceResult:
        """The service re-reads the record from its ledger and checks the evidence still matches (live)."""
        return self._run(credential, evidence, anchor, at, "live")

    def _run(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        at: datetime,
        mode: str,
    ) -> EvidenceResult:
        advisory = Check(
            "remote.advisory",
            CheckStatus.NOT_APPLICABLE,
            detail=f"checked by the adapter service at {self._adapter.url}; advisory only — the gateway checks "
            "evidence with its own checker for the ledger kind",
        )
        try:
            result = self._adapter._check_evidence(credential, evidence, anchor, at, mode)
        except (RemoteAdapterError, InputError, TypeError, ValueError) as exc:
            problem = Problem("REMOTE_EVIDENCE_UNCHECKED", "Evidence not checked by the adapter service", str(exc))
            return EvidenceResult((Check("remote.evidence", CheckStatus.ERROR, (problem,)), advisory))
        return EvidenceResult((*result.checks, advisory))


def _retry_after(value: str | None) -> float | None:
    # RFC 9110 §10.2.3 allows seconds or an HTTP date; a date would need the clock, so only seconds are honoured.
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def _path_segment(locator: str) -> str:
    # One path segment whatever the locator holds: '/' is escaped, and so are '.' (a locator of '.' or '..' must
    # not become a dot segment that URL normalisation removes, RFC 3986 §5.2.4).
    return quote(locator, safe="").replace(".", "%2E")


def _signing_from_json(value: Any) -> SigningInfo | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"issuer", "suite", "verificationMethod"}:
        raise WireFormatError("/signing", "must be {issuer, suite, verificationMethod} or absent")
    if not all(isinstance(v, str) and v for v in value.values()):
        raise WireFormatError("/signing", "members must be non-empty strings")
    return SigningInfo(value["issuer"], value["suite"], value["verificationMethod"])


def _translation_from_json(
    body: Any, url: str, *, signed: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    allowed = {"credential", "evidence", "verifiableCredential"} if signed else {"credential", "evidence"}
    if not isinstance(body, dict) or not {"credential", "evidence"} <= set(body) or set(body) - allowed:
        raise RemoteProtocolError(
            f"remote adapter service {url} sent a translation that is not {{{', '.join(sorted(allowed))}}}"
        )
    credential, evidence = body["credential"], body["evidence"]
    if not isinstance(credential, dict) or not isinstance(credential.get("id"), str) or "proof" in credential:
        raise RemoteProtocolError(f"remote adapter service {url} sent a credential without an id, or with a proof")
    items = credential.get("evidence")
    if not isinstance(evidence, dict) or not isinstance(items, list) or evidence not in items:
        raise RemoteProtocolError(f"remote adapter service {url} sent evidence that the credential does not carry")
    vc = body.get("verifiableCredential")
    if signed:
        if not isinstance(vc, dict) or not isinstance(vc.get("proof"), dict | list):
            raise RemoteProtocolError(f"remote adapter service {url} sent no signed verifiableCredential")
        unsigned = {k: v for k, v in vc.items() if k != "proof"}
        if unsigned != credential:
            raise RemoteProtocolError(f"remote adapter service {url} signed a credential other than its translation")
    return credential, evidence, vc if signed else None
