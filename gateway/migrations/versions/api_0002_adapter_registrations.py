"""HTTP API: adapter registrations (remote adapters registered through POST /adapters) and their conformance reports.

Revision ID: api_0002
Revises: api_0001
Create Date: 2026-01-02
"""

import sqlalchemy as sa
from alembic import op

revision = "api_0002"
down_revision = "api_0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_adapter_registrations",
        sa.Column("registration_id", sa.String(64), primary_key=True),
        sa.Column("party", sa.String(512), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("descriptor", sa.Text, nullable=False),
        sa.Column("adapter_info", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("failed_cases", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("report_json", sa.Text, nullable=True),
        sa.Column("report_html", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("registered_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("activated_at", TZ, nullable=True),
        sa.Column("deactivated_at", TZ, nullable=True),
        sa.UniqueConstraint("party", "name", name="uq_api_adapter_registrations_party_name"),
    )
    op.create_index("ix_api_adapter_registrations_party", "api_adapter_registrations", ["party"])


def downgrade() -> None:
    op.drop_index("ix_api_adapter_registrations_party", table_name="api_adapter_registrations")
    op.drop_table("api_adapter_registrations")
