"""Invoice claims remember the claiming entry's importer: a claim counts against an invoice only when that importer
is the invoice's buyer (issue 11; docs/jobs.md, "Linking and verdicts").

Revision ID: jobs_0002
Revises: jobs_0001
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "jobs_0002"
down_revision = "jobs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoice_claims", sa.Column("importer", sa.String(512), nullable=True))


def downgrade() -> None:
    op.drop_column("invoice_claims", "importer")
