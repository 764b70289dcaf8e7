"""The cluster's tables: per-task records of a job (who verified which chunk, how fast, what failed), the cluster a
job ran on, and leases that keep one writer per adapter cursor. Declared on the shared metadata; alembic branch
``cluster`` (gateway/migrations/versions/cluster_0001_tasks_leases.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, Text, and_, delete, func, or_, select, update

from ._db import Database, DatabaseError, metadata

__all__ = ["ClusterStore", "WorkerThroughput"]

job_tasks_table = Table(
    "job_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), nullable=False, index=True),
    Column("task_key", String(128), nullable=False),
    Column("worker", Text, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("cpu_seconds", Float, nullable=False),
    Column("error", Text, nullable=False),
    Column("finished_at", String(40), nullable=False),
)
job_clusters_table = Table(
    "job_clusters",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("scheduler", Text, nullable=False),
    Column("dashboard", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)
leases_table = Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", String(40), nullable=False),
)


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


class WorkerThroughput(dict[str, Any]):
    """``{"worker", "tasks", "entries", "seconds", "cpuSeconds", "entriesPerSecond", "failed"}`` for one worker."""


class ClusterStore:
    """Reads and writes the cluster tables of a gateway database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put_tasks(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record finished or failed tasks (rows from :meth:`TaskRecord.to_row`)."""
        if rows:
            with self.db.transaction() as conn:
                conn.execute(job_tasks_table.insert(), [dict(r) for r in rows])

    def set_cluster(self, job_id: str, scheduler: str, dashboard: str) -> None:
        """Remember the cluster (scheduler and dashboard addresses) a job runs on."""
        t = job_clusters_table
        with self.db.transaction() as conn:
            conn.execute(delete(t).where(t.c.job_id == job_id))
            conn.execute(
                t.insert().values(
                    job_id=job_id, scheduler=scheduler, dashboard=dashboard, updated_at=_ts(datetime.now(UTC))
                )
            )

    def cluster(self, job_id: str) -> dict[str, str] | None:
        """The cluster a job last ran on, or ``None`` (it ran in-process or on a local pool)."""
        t = job_clusters_table
        with self.db.transaction() as conn:
            row = conn.execute(select(t).where(t.c.job_id == job_id)).first()
        return None if row is None else {"scheduler": row.scheduler, "dashboard": row.dashboard}

    def throughput(self, job_id: str) -> list[WorkerThroughput]:
        """Per-worker totals of a job's successful tasks, plus the failed tasks' count per worker (``""`` when the
        worker was lost)."""
        t = job_tasks_table
        ok = t.c.error == ""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(
                    t.c.worker,
                    func.count().filter(ok),
                    func.coalesce(func.sum(t.c.entries).filter(ok), 0),
                    func.coalesce(func.sum(t.c.seconds).filter(ok), 0.0),
                    func.coalesce(func.sum(t.c.cpu_seconds).filter(ok), 0.0),
                    func.count().filter(~ok),
                )
                .where(t.c.job_id == job_id)
                .group_by(t.c.worker)
                .order_by(t.c.worker)
            ).all()
        out = []
        for worker, tasks, entries, seconds, cpu, failed in rows:
            out.append(
                WorkerThroughput(
                    worker=worker or "(lost)",
                    tasks=int(tasks),
                    entries=int(entries),
                    seconds=round(float(seconds), 3),
                    cpuSeconds=round(float(cpu), 3),
                    entriesPerSecond=round(entries / seconds, 1) if seconds else 0.0,
                    failed=int(failed),
                )
            )
        return out

    def failures(self, job_id: str) -> list[dict[str, str]]:
        """The failed tasks of a job: task key and error."""
        t = job_tasks_table
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(t.c.task_key, t.c.error).where(and_(t.c.job_id == job_id, t.c.error != "")).order_by(t.c.id)
            ).all()
        return [{"task": r[0], "error": r[1]} for r in rows]

    # -- leases --------------------------------------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, *, seconds: float, now: datetime | None = None) -> bool:
        """Take the lease ``name`` for ``holder`` unless another holder has an unexpired one. One transaction: of
        two concurrent callers at most one succeeds (the row's primary key settles ties)."""
        now = now or datetime.now(UTC)
        expires = _ts(now + timedelta(seconds=seconds))
        t = leases_table
        with self.db.transaction() as conn:
            taken = conn.execute(
                update(t)
                .where(and_(t.c.name == name, or_(t.c.holder == holder, t.c.expires_at <= _ts(now))))
                .values(holder=holder, expires_at=expires)
            ).rowcount
            if taken:
                return True
            exists = conn.execute(select(t.c.name).where(t.c.name == name)).first()
            if exists is not None:
                return False
        try:
            with self.db.transaction() as conn:
                conn.execute(t.insert().values(name=name, holder=holder, expires_at=expires))
            return True
        except DatabaseError:
            # A concurrent caller inserted the row first (primary key): the lease is theirs, not an error.
            if self.lease_holders([name]).get(name, (holder, ""))[0] != holder:
                return False
            raise

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease back (only its holder can)."""
        t = leases_table
        with self.db.transaction() as conn:
            conn.execute(delete(t).where(and_(t.c.name == name, t.c.holder == holder)))

    def lease_holders(self, names: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Current holders and expiries of the named leases."""
        t = leases_table
        with self.db.transaction() as conn:
            rows = conn.execute(select(t).where(t.c.name.in_(sorted(set(names))))).all()
        return {r.name: (r.holder, r.expires_at) for r in rows}
