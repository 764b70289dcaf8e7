"""The gateway database on PostgreSQL: every migration branch (jobs, api) applies, and a whole verification run
gives the same verdicts as on SQLite (VCGATE_DATABASE_URL=postgresql+psycopg2://…)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, text

from vcgate.gateway._db import Database
from vcgate.gateway._jobs import run_entries
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, World, plain_checkers

pytestmark = pytest.mark.server


def test_migrations_apply_on_postgresql(postgres_url: str) -> None:
    db = Database.open(postgres_url)
    try:
        tables = set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            heads = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    finally:
        db.close()
    assert {h.split("_")[0] for h in heads} >= {"jobs", "api"}
    assert "alembic_version" in tables
    assert len(tables) > 5


def test_verdicts_on_postgresql_equal_sqlite(
    world: World,
    rows: dict[str, dict[str, Any]],
    store: Store,
    postgres_url: str,
) -> None:
    names = list(rows)
    entries = [rows[n] for n in names]
    on_sqlite = [
        r.to_json()
        for r in run_entries(entries, store, world.policy(), checked_at=CHECKED_AT, checkers=plain_checkers())
    ]
    pg = Store.open(postgres_url)
    try:
        world.fill(pg)
        on_pg = [
            r.to_json()
            for r in run_entries(entries, pg, world.policy(), checked_at=CHECKED_AT, checkers=plain_checkers())
        ]
    finally:
        pg.close()
    assert [r["verdict"] for r in on_pg] == [r["verdict"] for r in on_sqlite]
    assert on_pg == on_sqlite
