"""Settings of the HTTP API, and the gateway's identity (its did:web DID, key and DID document)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from vcgate.canonical_schema import InputError

from .._issuing import IssuerInstance, IssuingError, load_issuers
from ..verification._dids import DID_CONTEXT, MULTIKEY_CONTEXT
from ..verification._keys import KeyPair
from ..verification._policy import Policy

#: 1 MiB: the largest request body accepted (a credential is capped at the policy's ``max_credential_bytes``).
DEFAULT_MAX_REQUEST_BYTES = 1 << 20


def _utcnow() -> datetime:
    return datetime.now(UTC)


def did_web_for_url(public_url: str) -> str:
    """The did:web DID for the gateway published at ``public_url`` (DID Web method §3.1: the host, with a port
    percent-encoded, then the path segments separated by ``:``)."""
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"public URL {public_url!r} must be an absolute http(s) URL")
    host = parts.hostname + (f"%3A{parts.port}" if parts.port else "")
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join(["did:web", host, *segments])


@dataclass(frozen=True)
class GatewayIdentity:
    """The gateway's DID (did:web of its public URL), the signing key bound to it, and its DID document."""

    did: str
    key: KeyPair
    public_url: str

    @classmethod
    def create(cls, key: KeyPair, public_url: str) -> GatewayIdentity:
        """Bind ``key`` (Ed25519) to the did:web of ``public_url``; the verification method is ``DID#<multibase>``."""
        if key.key_type != "Ed25519":
            raise InputError(f"the gateway key must be Ed25519 (it signs EdDSA access tokens), not {key.key_type}")
        url = public_url.rstrip("/")
        did = did_web_for_url(url)
        bound = KeyPair.from_private(key.private, did, f"{did}#{key.public.to_multibase()}")
        return cls(did, bound, url)

    @property
    def domain(self) -> str:
        """The host (and port) presentations must be bound to (``proof.domain``)."""
        return urlsplit(self.public_url).netloc

    def did_document(self) -> dict[str, Any]:
        """The did:web document served at ``/did.json`` and ``/.well-known/did.json``."""
        vm = self.key.verification_method
        return {
            "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
            "id": self.did,
            "verificationMethod": [
                {
                    "id": vm,
                    "type": "Multikey",
                    "controller": self.did,
                    "publicKeyMultibase": self.key.public.to_multibase(),
                }
            ],
            "authentication": [vm],
            "assertionMethod": [vm],
        }

    def status_list_url(self, list_id: str) -> str:
        """Where the status list ``list_id`` is published."""
        return f"{self.public_url}/status/{list_id}"


@dataclass(frozen=True)
class ApiSettings:
    """Everything :func:`~vcgate.gateway.api.create_app` needs.

    ``public_url`` is the gateway's external base URL: it names the gateway's did:web DID, the status list URLs
    and the ``domain`` presentations are bound to. ``resolve_remote_dids`` allows did:web and plugin DID methods
    over the network (did:key, did:jwk and the gateway's own DID are always resolved locally).
    ``unsafe_allow_http_localhost`` lets did:web and status lists be fetched over plain http from localhost only
    (tests and demos; logged every time).
    """

    key: KeyPair
    public_url: str
    database_url: str | None = None
    policy: Policy = field(default_factory=Policy.default)
    token_ttl_seconds: int = 300
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    challenge_ttl_seconds: int = 600
    migrate: bool = True
    resolve_remote_dids: bool = True
    unsafe_allow_http_localhost: bool = False
    clock: Callable[[], datetime] = _utcnow
    #: The issuers file (``vcgate serve --issuers``): issuer instances served at ``/issuers/{name}/…``.
    issuers_file: str | None = None

    def issuer_instances(self) -> tuple[IssuerInstance, ...]:
        """The configured issuer instances (none without an issuers file)."""
        if not self.issuers_file:
            return ()
        try:
            return load_issuers(self.issuers_file, self.identity.did)
        except IssuingError as exc:
            raise InputError(str(exc)) from None

    @property
    def identity(self) -> GatewayIdentity:
        """The gateway's DID, key and DID document."""
        return GatewayIdentity.create(self.key, self.public_url)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ApiSettings:
        """Settings from ``VCGATE_API_*`` variables (what ``vcgate serve`` passes to each uvicorn worker).

        ``VCGATE_API_KEY_FILE`` and ``VCGATE_API_PUBLIC_URL`` are required; ``VCGATE_DATABASE_URL``,
        ``VCGATE_API_POLICY``, ``VCGATE_API_RATE_LIMIT``, ``VCGATE_API_RATE_BURST``, ``VCGATE_API_TOKEN_TTL``,
        ``VCGATE_API_MAX_REQUEST_BYTES``, ``VCGATE_API_MIGRATE`` (``0``/``1``) and
        ``VCGATE_API_UNSAFE_HTTP_LOCALHOST`` (``1``) and ``VCGATE_API_ISSUERS`` (an issuers file) are optional.
        """
        env = dict(os.environ if environ is None else environ)
        try:
            key_file = env["VCGATE_API_KEY_FILE"]
            public_url = env["VCGATE_API_PUBLIC_URL"]
        except KeyError as exc:
            raise InputError(f"{exc.args[0]} is not set") from None
        policy_file = env.get("VCGATE_API_POLICY")
        try:
            return cls(
                key=KeyPair.from_file(Path(key_file)),
                public_url=public_url,
                database_url=env.get("VCGATE_DATABASE_URL"),
                policy=Policy.load(policy_file) if policy_file else Policy.default(),
                token_ttl_seconds=int(env.get("VCGATE_API_TOKEN_TTL", "300")),
                max_request_bytes=int(env.get("VCGATE_API_MAX_REQUEST_BYTES", str(DEFAULT_MAX_REQUEST_BYTES))),
                rate_limit_per_second=float(env.get("VCGATE_API_RATE_LIMIT", "50")),
                rate_limit_burst=int(env.get("VCGATE_API_RATE_BURST", "200")),
                migrate=env.get("VCGATE_API_MIGRATE", "1") == "1",
                unsafe_allow_http_localhost=env.get("VCGATE_API_UNSAFE_HTTP_LOCALHOST") == "1",
                issuers_file=env.get("VCGATE_API_ISSUERS") or None,
            )
        except ValueError as exc:
            raise InputError(f"invalid VCGATE_API_* setting: {exc}") from None


__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "ApiSettings", "GatewayIdentity", "did_web_for_url"]
