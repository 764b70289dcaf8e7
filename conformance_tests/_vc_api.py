"""A small VC-API client (httpx) and the verifiers the vector cases run against.

Requests follow the W3C VC-API shapes: ``POST /credentials/issue {credential, options}`` →
``{verifiableCredential}``, ``POST /credentials/verify {verifiableCredential, options}`` → 200 with ``verified``
(or 4xx with problem details), ``POST /credentials/status {credentialId, credentialStatus: [{type, status}]}``.
Authentication: a bearer token given directly, or one obtained with the OAuth2 client-credentials grant from
``POST /oauth2/token`` (RFC 6749 §4.4; client authentication with HTTP Basic, §2.3.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx

from vcgate.canonical_schema import VcgateError

from ._targets import Settings

if TYPE_CHECKING:
    from vcgate.gateway import Policy

Verdict = Literal["verified", "invalid", "error"]


class VcApiError(VcgateError):
    """The VC-API endpoint could not be reached, or a token could not be obtained."""


@dataclass(frozen=True)
class VerifyOutcome:
    """What a verifier said about one input: verdict, HTTP status (VC-API only), problem codes and detail."""

    verdict: Verdict
    codes: frozenset[str]
    detail: str
    http_status: int | None = None
    proof_verified: bool | None = None


class VerifierUnderTest(Protocol):
    """Something that verifies credentials: a VC-API endpoint or vcgate's library."""

    def verify_bytes(self, document: bytes) -> VerifyOutcome:
        """Verify one credential given as its exact JSON bytes."""
        ...


def problem_codes(value: Any) -> frozenset[str]:
    """Every ``code`` string anywhere in a JSON response (problem details nest them in results and checks)."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            code = v.get("code")
            if isinstance(code, str):
                found.add(code)
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return frozenset(found)


class VcApiClient:
    """An httpx client for one VC-API base URL, with bearer authentication when configured."""

    def __init__(self, base_url: str, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self._http = httpx.Client(base_url=self.base_url, timeout=settings.timeout, transport=transport)
        self._token: str | None = settings.token

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def token(self) -> str | None:
        """The bearer token: configured, or fetched once with the client-credentials grant."""
        if self._token is None and self.settings.client_id and self.settings.client_secret:
            form = {"grant_type": "client_credentials"}
            if self.settings.scope:
                form["scope"] = self.settings.scope
            try:
                response = self._http.post(
                    "/oauth2/token", data=form, auth=(self.settings.client_id, self.settings.client_secret)
                )
            except httpx.HTTPError as exc:
                raise VcApiError(f"cannot reach {self.base_url}/oauth2/token: {exc}") from None
            if response.status_code != 200:
                raise VcApiError(
                    f"POST /oauth2/token answered {response.status_code}: {response.text[:300]} "
                    "(check conformance.clientId / clientSecret / scope, or give --token)"
                )
            token = response.json().get("access_token")
            if not isinstance(token, str):
                raise VcApiError("POST /oauth2/token answered without an access_token")
            self._token = token
        return self._token

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        token: str | Literal["configured"] | None = "configured",
    ) -> httpx.Response:
        """Send one request; JSON ``body`` or exact ``raw`` bytes (sent as application/json)."""
        headers = {"Accept": "application/json, application/problem+json"}
        bearer = self.token() if token == "configured" else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        content: bytes | None = raw
        if body is not None:
            content = json.dumps(body).encode("utf-8")
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            return self._http.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise VcApiError(f"{method} {self.base_url}{path} failed: {type(exc).__name__}: {exc}") from None

    def issuer(self) -> str:
        """The DID the endpoint issues as: ``conformance.issuer``, else the ``id`` of ``GET /did.json``."""
        if self.settings.issuer:
            return self.settings.issuer
        response = self.request("GET", "/did.json")
        if response.status_code == 200:
            did = response.json().get("id")
            if isinstance(did, str) and did.startswith("did:"):
                return did
        raise VcApiError(
            f"GET /did.json answered {response.status_code} without a DID document; "
            "set conformance.issuer to the DID the endpoint issues as"
        )

    def verify_bytes(self, document: bytes) -> VerifyOutcome:
        """``POST /credentials/verify`` with the credential embedded byte for byte."""
        raw = b'{"verifiableCredential":' + document + b',"options":{}}'
        response = self.request("POST", "/credentials/verify", raw=raw)
        return outcome_of_response(response)


def outcome_of_response(response: httpx.Response) -> VerifyOutcome:
    """Map a verify response to a verdict: 200 + verified → verified; 4xx → invalid; anything else → error."""
    try:
        body = response.json()
    except ValueError:
        body = None
    codes = problem_codes(body)
    detail = f"HTTP {response.status_code}: {response.text[:400]}"
    if response.status_code == 200 and isinstance(body, dict) and body.get("verified") is True:
        return VerifyOutcome("verified", codes, detail, response.status_code)
    if 400 <= response.status_code < 500 or (response.status_code == 200 and isinstance(body, dict)):
        return VerifyOutcome("invalid", codes, detail, response.status_code)
    return VerifyOutcome("error", codes, detail, response.status_code)


class LibraryVerifier:
    """vcgate's own verifier (the default policy unless given; offline DID resolution), judged at the time it was
    made."""

    def __init__(self, policy: Policy | None = None) -> None:
        from vcgate.gateway import DidResolver, Policy, Verifier

        self._verifier = Verifier(policy or Policy.default(), DidResolver.offline())
        self.at = datetime.now(UTC)

    def verify_bytes(self, document: bytes) -> VerifyOutcome:
        """``Verifier.check`` on the exact bytes."""
        result = self._verifier.check(document, at=self.at)
        codes = frozenset(p.code for p in result.problems)
        proof_checks = [c for c in result.checks if c.stage == "proof" and c.name != "issuer_key_binding"]
        proof_ok = bool(proof_checks) and all(c.status in ("passed", "not_applicable") for c in proof_checks)
        detail = "; ".join(f"{p.code}: {p.detail}" for p in result.problems)[:600] or result.status
        return VerifyOutcome(result.status, codes, detail, None, proof_ok)
