"""Scale-out: per-task records of jobs, the cluster a job ran on, leases (one writer per adapter cursor).

Revision ID: cluster_0001
Revises:
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "cluster_0001"
down_revision = None
branch_labels = ("cluster",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_tasks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("task_key", sa.String(128), nullable=False),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("cpu_seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_job_tasks_job_id", "job_tasks", ["job_id"])
    op.create_table(
        "job_clusters",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("scheduler", sa.Text(), nullable=False),
        sa.Column("dashboard", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("job_clusters")
    op.drop_index("ix_job_tasks_job_id", "job_tasks")
    op.drop_table("job_tasks")
