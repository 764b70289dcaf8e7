"""Sync: records quarantined by ``vcgate sync`` (translation, mapping or evidence failures) and what an adapter
registration says about itself (its party, ledger kind and id, and the summary of its last sync pass).

Revision ID: jobs_0003_sync
Revises: jobs_0002
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "jobs_0003_sync"
down_revision = "jobs_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_quarantine",
        sa.Column("adapter", sa.String(128), primary_key=True),
        sa.Column("locator", sa.String(512), primary_key=True),
        sa.Column("ledger_id", sa.String(160), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.Text()),
        sa.Column("first_seen", sa.String(40), nullable=False),
        sa.Column("last_tried", sa.String(40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("adapter_registrations") as batch:
        batch.add_column(sa.Column("party", sa.Text()))
        batch.add_column(sa.Column("kind", sa.String(64)))
        batch.add_column(sa.Column("ledger_id", sa.String(160)))
        batch.add_column(sa.Column("last_sync", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("adapter_registrations") as batch:
        batch.drop_column("last_sync")
        batch.drop_column("ledger_id")
        batch.drop_column("kind")
        batch.drop_column("party")
    op.drop_table("sync_quarantine")
