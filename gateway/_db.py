"""The gateway's database: SQLAlchemy engine set-up and alembic migrations.

A SQLite file by default (WAL journal, ``synchronous=FULL`` so a commit survives a crash), PostgreSQL for
production through ``VCGATE_DATABASE_URL`` (``postgresql+psycopg2://…``). Every component keeps its tables in its own
module on :data:`metadata` and its migrations in ``gateway/migrations/versions`` under its own alembic branch label
(``jobs``, ``api``, …); :meth:`Database.migrate` upgrades all heads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from vcgate.canonical_schema import VcgateError

#: Shared metadata: every gateway table is declared on it (with a naming convention so migrations are stable).
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

DEFAULT_DATABASE_URL = "sqlite:///vcgate.sqlite"


class DatabaseError(VcgateError):
    """The database could not be opened, migrated or written."""


def database_url(url: str | None = None) -> str:
    """``url``, else ``$VCGATE_DATABASE_URL``, else a SQLite file ``vcgate.sqlite`` in the working directory."""
    return url or os.environ.get("VCGATE_DATABASE_URL") or DEFAULT_DATABASE_URL


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Database:
    """An engine plus migrations. Build with :meth:`open`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Database:
        """Open (and by default migrate to the newest schema) the database at ``url``."""
        url = database_url(url)
        try:
            if url.startswith("sqlite"):
                path = url.split("///", 1)[1] if "///" in url else ""
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ValueError) as exc:
            raise DatabaseError(f"cannot open database {_redact(url)}: {exc}") from None
        db = cls(engine)
        if migrate:
            db.migrate()
        return db

    def migrate(self) -> None:
        """Upgrade the schema to every branch's head (alembic ``upgrade heads``)."""
        from alembic import command
        from alembic.config import Config

        script_location = str(resources.files(__package__).joinpath("migrations"))
        cfg = Config()
        cfg.set_main_option("script_location", script_location)
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
        except SQLAlchemyError as exc:
            raise DatabaseError(f"migrating {_redact(str(self.engine.url))} failed: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success; SQLAlchemy errors become :class:`DatabaseError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database operation failed: {exc}") from None

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()


def _redact(url: str) -> str:
    # Never print a password (STYLE: no secrets in logs).
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
