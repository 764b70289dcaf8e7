"""Web pages: operator accounts (argon2id password hashes, roles, lockout) and their login sessions.

Revision ID: ui_0001
Revises:
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "ui_0001"
down_revision = None
branch_labels = ("ui",)
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ui_users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", TZ, nullable=True),
        sa.Column("disabled_at", TZ, nullable=True),
    )
    op.create_table(
        "ui_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("ui_users.username", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_index("ix_ui_sessions_username", "ui_sessions", ["username"])


def downgrade() -> None:
    op.drop_index("ix_ui_sessions_username", table_name="ui_sessions")
    op.drop_table("ui_sessions")
    op.drop_table("ui_users")
