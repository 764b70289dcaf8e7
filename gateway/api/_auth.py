"""OAuth2 client credentials (RFC 6749 §4.4) with JWT access tokens (RFC 9068) signed by the gateway's key.

Clients belong to a party (a DID) and hold scopes. Secrets are generated here (256 bits), shown once and stored
only as an scrypt hash (RFC 7914, stdlib ``hashlib.scrypt``: N=2^14, r=8, p=1, 16-byte salt). Access tokens are
compact JWS (``alg`` EdDSA, ``typ`` ``at+jwt``) with ``sub``/``client_id``, ``party``, ``scope``, ``iat``, ``exp``
and ``jti``; every request re-checks that the client has not been revoked since, so revocation takes effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from vcgate.canonical_schema import InputError, VcgateError, b64url, b64url_decode

from .._db import Database
from ..verification._keys import verify_signature
from . import _tables as t
from ._settings import GatewayIdentity

#: The traceability-interop scopes plus vcgate's own (vcgate issue 8, "Auth").
SCOPES: dict[str, str] = {
    "verify:credentials": "Verify credentials",
    "issue:credentials": "Issue credentials with the gateway's key",
    "read:credentials": "Read credentials the client's party owns",
    "update:credentials": "Update the status of credentials the client's party owns",
    "verify:presentations": "Verify presentations",
    "submit:presentations": "Submit presentations for the client's own party",
    "register:adapters": "Register adapters for the client's own party",
    "run:jobs": "Run verification jobs",
    "read:jobs": "Read verification jobs and reports",
    "admin": "Everything, for any party",
}
ADMIN_SCOPE = "admin"

_DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._%:-]*[A-Za-z0-9._%-]$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class TokenError(VcgateError):
    """An access token is malformed, forged, expired or not for this gateway; ``code`` is the problem code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_scopes(values: Iterable[str]) -> frozenset[str]:
    """Scopes from space- or comma-separated strings; unknown scopes raise :class:`InputError`."""
    out: set[str] = set()
    for value in values:
        out.update(s for s in re.split(r"[\s,]+", value) if s)
    unknown = sorted(out - SCOPES.keys())
    if unknown:
        raise InputError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    return frozenset(out)


def check_party_did(party: str) -> str:
    """``party`` if it is a syntactically valid DID (W3C DID Core §3.1), else :class:`InputError`."""
    if not isinstance(party, str) or len(party) > 512 or not _DID.fullmatch(party):
        raise InputError(f"party {party!r} is not a DID (did:<method>:<id>)")
    return party


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64url) of ``secret``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32, maxmem=64 << 20
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64url(salt)}${b64url(digest)}"


def check_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a :func:`hash_secret` string (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            secret.encode("utf-8"),
            salt=b64url_decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
            maxmem=64 << 20,
        )
    except (ValueError, InputError):
        return False
    return hmac.compare_digest(got, b64url_decode(digest))


@dataclass(frozen=True)
class ClientInfo:
    """A registered client (never its secret)."""

    client_id: str
    party: str
    scopes: frozenset[str]
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        """JSON form (``clientId``, ``party``, ``scopes``, ``name``, ``createdAt``, ``revokedAt``)."""
        return {
            "clientId": self.client_id,
            "party": self.party,
            "scopes": sorted(self.scopes),
            "name": self.name,
            "createdAt": _ts(self.created_at),
            "revokedAt": _ts(self.revoked_at) if self.revoked_at else None,
        }


@dataclass(frozen=True)
class NewClient:
    """A client just created: the only time its secret is known."""

    info: ClientInfo
    secret: str


def _ts(at: datetime) -> str:
    return _aware(at).astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _aware(at: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone=True columns; everything is stored in UTC.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _info(row: Any) -> ClientInfo:
    return ClientInfo(
        row.client_id,
        row.party,
        frozenset(row.scopes.split()),
        row.name,
        _aware(row.created_at),
        _aware(row.revoked_at) if row.revoked_at else None,
    )


class ClientRegistry:
    """OAuth2 clients in the gateway database.

    :meth:`active` answers from a per-process cache for up to ``cache_seconds`` (1 s by default): a revocation is
    seen at once by the process that made it and within that time by every other worker.
    """

    def __init__(self, db: Database, *, cache_seconds: float = 1.0) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ClientInfo | None]] = {}
        self._lock = threading.Lock()

    def active(self, client_id: str) -> ClientInfo | None:
        """The client if it exists and is not revoked (cached, see the class docstring)."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(client_id)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        info = self.get(client_id)
        found = info if info is not None and info.active else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[client_id] = (now, found)
        return found

    def add(self, party: str, scopes: Iterable[str], *, name: str = "", at: datetime | None = None) -> NewClient:
        """Register a client for ``party`` with ``scopes``; returns its id and (only now) its secret."""
        check_party_did(party)
        wanted = parse_scopes(scopes)
        if not wanted:
            raise InputError("a client needs at least one scope")
        client_id = "vcg_" + secrets.token_urlsafe(16)
        secret = secrets.token_urlsafe(32)
        now = at or datetime.now(UTC)
        with self.db.transaction() as conn:
            conn.execute(
                insert(t.clients).values(
                    client_id=client_id,
                    secret_hash=hash_secret(secret),
                    party=party,
                    scopes=" ".join(sorted(wanted)),
                    name=name,
                    created_at=now,
                    revoked_at=None,
                )
            )
        return NewClient(ClientInfo(client_id, party, wanted, name, now, None), secret)

    def get(self, client_id: str) -> ClientInfo | None:
        """The client, or None."""
        if not _CLIENT_ID.fullmatch(client_id or ""):
            return None
        with self.db.transaction() as conn:
            row = conn.execute(select(t.clients).where(t.clients.c.client_id == client_id)).first()
        return _info(row) if row else None

    def list(self) -> list[ClientInfo]:
        """Every client, oldest first."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(t.clients).order_by(t.clients.c.created_at, t.clients.c.client_id)).all()
        return [_info(r) for r in rows]

    def revoke(self, client_id: str, *, at: datetime | None = None) -> bool:
        """Revoke a client (its tokens stop working at once); False if there is no such active client."""
        with self.db.transaction() as conn:
            res = conn.execute(
                update(t.clients)
                .where(t.clients.c.client_id == client_id, t.clients.c.revoked_at.is_(None))
                .values(revoked_at=at or datetime.now(UTC))
            )
        with self._lock:
            self._cache.pop(client_id, None)
        return bool(res.rowcount)

    def authenticate(self, client_id: str, secret: str) -> ClientInfo | None:
        """The active client with this id and secret, else None (the same answer for every failure)."""
        if not _CLIENT_ID.fullmatch(client_id or ""):
            return None
        with self.db.transaction() as conn:
            row = conn.execute(select(t.clients).where(t.clients.c.client_id == client_id)).first()
        if row is None:
            # Spend the same time as a real check so response timing does not reveal which ids exist.
            check_secret(secret, _DUMMY_HASH)
            return None
        if not check_secret(secret, row.secret_hash) or row.revoked_at is not None:
            return None
        return _info(row)


_DUMMY_HASH = hash_secret("not a secret", salt=b"\0" * 16)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request: its client, party and granted scopes."""

    client_id: str
    party: str
    scopes: frozenset[str]
    token_id: str

    def has(self, scope: str) -> bool:
        """Granted ``scope`` (``admin`` grants every scope)."""
        return scope in self.scopes or ADMIN_SCOPE in self.scopes

    @property
    def is_admin(self) -> bool:
        """Holds the ``admin`` scope (acts for any party)."""
        return ADMIN_SCOPE in self.scopes


@dataclass(frozen=True)
class IssuedToken:
    """An access token and what it grants."""

    token: str
    expires_in: int
    scopes: frozenset[str]


class TokenService:
    """Issues and checks the gateway's access tokens."""

    def __init__(self, identity: GatewayIdentity, ttl_seconds: int = 300) -> None:
        self.identity = identity
        self.ttl = ttl_seconds
        # Tokens whose signature and claims checked out, by their exact text: a client reuses its token for many
        # requests, and the signature check is most of the cost. Expiry is still checked on every use.
        self._verified: dict[str, tuple[int, Principal]] = {}
        self._lock = threading.Lock()

    def issue(self, client: ClientInfo, scopes: frozenset[str], at: datetime) -> IssuedToken:
        """A token for ``client`` with ``scopes`` (a subset of the client's), valid ``ttl_seconds`` from ``at``."""
        iat = int(at.timestamp())
        claims = {
            "iss": self.identity.public_url,
            "aud": self.identity.public_url,
            "sub": client.client_id,
            "client_id": client.client_id,
            "party": client.party,
            "scope": " ".join(sorted(scopes)),
            "iat": iat,
            "exp": iat + self.ttl,
            "jti": secrets.token_urlsafe(12),
        }
        header = {"alg": "EdDSA", "typ": "at+jwt", "kid": self.identity.key.verification_method}
        signing_input = _b64json(header) + "." + _b64json(claims)
        signature = self.identity.key.sign(signing_input.encode("ascii"))
        return IssuedToken(signing_input + "." + b64url(signature), self.ttl, scopes)

    def check(self, token: str, at: datetime) -> Principal:
        """The principal a token names, or :class:`TokenError` (``TOKEN_INVALID``/``TOKEN_EXPIRED``)."""
        with self._lock:
            hit = self._verified.get(token)
        if hit is not None:
            if at.timestamp() >= hit[0]:
                raise TokenError("TOKEN_EXPIRED", "the access token has expired; request a new one")
            return hit[1]
        exp, principal = self._check_uncached(token, at)
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[token] = (exp, principal)
        return principal

    def _check_uncached(self, token: str, at: datetime) -> tuple[int, Principal]:
        parts = token.split(".")
        if len(parts) != 3 or len(token) > 8192:
            raise TokenError("TOKEN_INVALID", "the access token is not a compact JWS")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise TokenError("TOKEN_INVALID", "the access token is not base64url JSON") from None
        if not isinstance(header, dict) or header.get("alg") != "EdDSA" or header.get("typ") != "at+jwt":
            raise TokenError("TOKEN_INVALID", "the access token must be an EdDSA at+jwt")
        signing_input = (parts[0] + "." + parts[1]).encode("ascii")
        # RFC 9068 §4: validate the signature with the gateway's own key only - never a key the token names.
        if not verify_signature(self.identity.key.public, signing_input, signature):
            raise TokenError("TOKEN_INVALID", "the access token's signature does not verify")
        if not isinstance(claims, dict):
            raise TokenError("TOKEN_INVALID", "the access token's claims are not an object")
        if claims.get("iss") != self.identity.public_url or claims.get("aud") != self.identity.public_url:
            raise TokenError("TOKEN_INVALID", "the access token was issued for another gateway")
        exp, now = claims.get("exp"), at.timestamp()
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise TokenError("TOKEN_INVALID", "the access token has no exp")
        if now >= exp:
            raise TokenError("TOKEN_EXPIRED", "the access token has expired; request a new one")
        client_id, party, scope = claims.get("client_id"), claims.get("party"), claims.get("scope")
        if not all(isinstance(v, str) for v in (client_id, party, scope)):
            raise TokenError("TOKEN_INVALID", "the access token lacks client_id, party or scope")
        return exp, Principal(str(client_id), str(party), frozenset(str(scope).split()), str(claims.get("jti", "")))


def _b64json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _b64decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RateLimiter:
    """Token buckets per key (client id or remote address): ``rate`` requests per second, bursts of ``burst``.

    In-process: with several uvicorn workers each enforces its own buckets (documented in docs/http-api.md).
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # bound memory under a flood of distinct keys
                    self._buckets.clear()
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0


__all__ = [
    "ADMIN_SCOPE",
    "SCOPES",
    "ClientInfo",
    "ClientRegistry",
    "IssuedToken",
    "NewClient",
    "Principal",
    "RateLimiter",
    "TokenError",
    "TokenService",
    "check_party_did",
    "check_secret",
    "hash_secret",
    "parse_scopes",
]
