"""Operator accounts for the web pages: roles, argon2id password hashes, lockout, and server-side login sessions.

Roles map onto the API's OAuth2 scopes so a person and a client holding the same scopes may do the same things:
officers read (entries, products, jobs, parties), analysts also run jobs, admins also manage parties and adapters.
Passwords are hashed with argon2id (``argon2-cffi``, RFC 9106 parameters of the library's current profile). A session
is a 256-bit random token in an HttpOnly, SameSite=Strict cookie; only its SHA-256 is stored, with a per-session CSRF
token that every state-changing form and htmx request must echo.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table, delete, insert, select, update

from vcgate.canonical_schema import InputError, VcgateError

from ..._db import Database, metadata

Role = Literal["officer", "analyst", "admin"]
ROLES: dict[str, frozenset[str]] = {
    "officer": frozenset({"read:jobs", "read:credentials", "verify:credentials"}),
    "analyst": frozenset({"read:jobs", "read:credentials", "verify:credentials", "run:jobs"}),
    "admin": frozenset({"admin"}),
}
#: Failed logins in a row that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

users_table = Table(
    "ui_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
)
sessions_table = Table(
    "ui_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("ui_users.username", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


class LoginError(VcgateError):
    """A login was refused; the message never says whether the user exists (``locked`` says the account is locked)."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


@dataclass(frozen=True)
class Operator:
    """A logged-in person: name, role, the scopes the role grants, and the session's CSRF token."""

    username: str
    role: str
    csrf_token: str

    @property
    def scopes(self) -> frozenset[str]:
        """The OAuth2 scopes of the role (``admin`` holds every scope)."""
        return ROLES[self.role]

    def can(self, scope: str) -> bool:
        """Whether the role grants ``scope``."""
        return "admin" in self.scopes or scope in self.scopes


def _aware(t: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for timezone-aware columns; they were stored as UTC.
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class People:
    """Accounts and sessions in the gateway database (tables ``ui_users`` and ``ui_sessions``)."""

    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.hasher = hasher or PasswordHasher()

    def add(self, username: str, password: str, role: str, *, now: datetime) -> None:
        """Create an account; :class:`InputError` for a bad name, role or a short password, or a taken name."""
        if not _USERNAME.fullmatch(username):
            raise InputError(f"user name {username!r}: lower-case letters, digits, '.', '_' or '-' (at most 64)")
        if role not in ROLES:
            raise InputError(f"role {role!r}: choose one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        with self.db.transaction() as conn:
            if conn.execute(select(users_table.c.username).where(users_table.c.username == username)).first():
                raise InputError(f"user {username!r} exists")
            conn.execute(
                insert(users_table).values(
                    username=username,
                    password_hash=self.hasher.hash(password),
                    role=role,
                    created_at=now,
                    failed_logins=0,
                )
            )

    def list(self) -> list[dict[str, object]]:
        """Every account: name, role, created, locked until (no hashes)."""
        cols = users_table.c
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(cols.username, cols.role, cols.created_at, cols.locked_until, cols.failed_logins).order_by(
                    cols.username
                )
            ).all()
        return [dict(r._mapping) for r in rows]

    def login(self, username: str, password: str, *, now: datetime) -> tuple[str, Operator]:
        """Check the password; on success a new session ``(cookie token, operator)``. Every failure counts towards
        the lockout; a locked account is refused even with the right password until the lock expires."""
        refusal: LoginError | None = None
        with self.db.transaction() as conn:
            row = conn.execute(select(users_table).where(users_table.c.username == username)).first()
            if row is None or row.disabled_at is not None:
                # Hash anyway so the answer takes as long as for a real account.
                self.hasher.hash(password)
                refusal = LoginError("wrong user name or password")
            else:
                refusal = self._check(conn, row, password, now)
            if refusal is None:
                token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
                conn.execute(
                    insert(sessions_table).values(
                        token_hash=_token_hash(token),
                        username=username,
                        csrf_token=csrf,
                        created_at=now,
                        expires_at=now + SESSION_LIFETIME,
                    )
                )
        # Raised after the transaction commits, so failed attempts are counted.
        if refusal is not None or row is None:
            raise refusal or LoginError("wrong user name or password")
        return token, Operator(username, row.role, csrf)

    def _check(self, conn: Any, row: Any, password: str, now: datetime) -> LoginError | None:
        """Verify the password and record the outcome (failure count, lock); the refusal, or ``None``."""
        cols = users_table.c
        locked_until = _aware(row.locked_until)
        if locked_until is not None and locked_until > now:
            return LoginError("this account is locked after repeated failed logins; try again later", locked=True)
        try:
            self.hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            failed = (0 if locked_until is not None else row.failed_logins) + 1
            lock = now + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
            conn.execute(
                update(users_table)
                .where(cols.username == row.username)
                .values(failed_logins=0 if lock else failed, locked_until=lock)
            )
            if lock:
                return LoginError("this account is locked after repeated failed logins; try again later", locked=True)
            return LoginError("wrong user name or password")
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if self.hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = self.hasher.hash(password)
        conn.execute(update(users_table).where(cols.username == row.username).values(**values))
        return None

    def session(self, token: str, *, now: datetime) -> Operator | None:
        """The operator of a live session cookie, ``None`` for an unknown or expired one."""
        if not token or len(token) > 128:
            return None
        s, u = sessions_table.c, users_table.c
        with self.db.transaction() as conn:
            row = conn.execute(
                select(s.username, s.csrf_token, s.expires_at, u.role, u.disabled_at)
                .join(users_table, u.username == s.username)
                .where(s.token_hash == _token_hash(token))
            ).first()
        if row is None or row.disabled_at is not None:
            return None
        expires = _aware(row.expires_at)
        if expires is None or expires <= now:
            return None
        return Operator(row.username, row.role, row.csrf_token)

    def logout(self, token: str) -> None:
        """End the session (the cookie is useless afterwards)."""
        with self.db.transaction() as conn:
            conn.execute(delete(sessions_table).where(sessions_table.c.token_hash == _token_hash(token)))


__all__ = [
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "LoginError",
    "Operator",
    "People",
    "Role",
]
