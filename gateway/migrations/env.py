"""Alembic environment for the gateway's database (run through ``vcgate.gateway._db.Database.migrate``)."""

from __future__ import annotations

from alembic import context

from vcgate.gateway._db import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations are always run with a connection from Database.migrate
    raise RuntimeError("run migrations through vcgate.gateway._db.Database.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
