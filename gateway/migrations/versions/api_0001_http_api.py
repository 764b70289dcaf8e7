"""HTTP API: OAuth2 clients, append-only audit log, status lists, credentials, challenges, submissions.

Revision ID: api_0001
Revises:
Create Date: 2026-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "api_0001"
down_revision = None
branch_labels = ("api",)
depends_on = None

TZ = sa.DateTime(timezone=True)

# The audit log is append-only: the database itself refuses UPDATE and DELETE, so neither a bug nor a direct SQL
# session through the application's connection can rewrite history (vcgate issue 8, "Audit").
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER api_audit_log_no_update BEFORE UPDATE ON api_audit_log
       BEGIN SELECT RAISE(ABORT, 'api_audit_log is append-only'); END""",
    """CREATE TRIGGER api_audit_log_no_delete BEFORE DELETE ON api_audit_log
       BEGIN SELECT RAISE(ABORT, 'api_audit_log is append-only'); END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION api_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'api_audit_log is append-only'; END $$""",
    """CREATE TRIGGER api_audit_log_no_change BEFORE UPDATE OR DELETE ON api_audit_log
       FOR EACH ROW EXECUTE FUNCTION api_audit_log_append_only()""",
    """CREATE TRIGGER api_audit_log_no_truncate BEFORE TRUNCATE ON api_audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION api_audit_log_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(256), nullable=False),
        sa.Column("party", sa.String(512), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_index("ix_api_clients_party", "api_clients", ["party"])
    op.create_table(
        "api_audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("party", sa.String(512), nullable=True),
        sa.Column("remote", sa.String(128), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.String(2048), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(2048), nullable=True),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_api_audit_log_at", "api_audit_log", ["at"])
    op.create_table(
        "api_status_lists",
        sa.Column("list_id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("encoded_list", sa.Text, nullable=False),
        sa.Column("next_index", sa.Integer, nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("credential", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "api_credentials",
        sa.Column("credential_id", sa.String(2048), primary_key=True),
        sa.Column("party", sa.String(512), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("issuer", sa.String(512), nullable=True),
        sa.Column("types", sa.Text, nullable=False),
        sa.Column("subject_id", sa.String(2048), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("submission_id", sa.String(64), nullable=True),
        sa.Column(
            "status_list_id",
            sa.String(64),
            sa.ForeignKey("api_status_lists.list_id", name="fk_api_credentials_status_list_id_api_status_lists"),
            nullable=True,
        ),
        sa.Column("status_index", sa.Integer, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    for col in ("party", "issuer", "subject_id", "submission_id"):
        op.create_index(f"ix_api_credentials_{col}", "api_credentials", [col])
    op.create_table(
        "api_challenges",
        sa.Column("challenge", sa.String(128), primary_key=True),
        sa.Column("domain", sa.String(512), nullable=False),
        sa.Column("party", sa.String(512), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("query", sa.Text, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
    )
    op.create_table(
        "api_submissions",
        sa.Column("submission_id", sa.String(64), primary_key=True),
        sa.Column("party", sa.String(512), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column(
            "challenge",
            sa.String(128),
            sa.ForeignKey("api_challenges.challenge", name="fk_api_submissions_challenge_api_challenges"),
            nullable=False,
        ),
        sa.Column("holder", sa.String(512), nullable=False),
        sa.Column("presentation", sa.Text, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
    )
    op.create_index("ix_api_submissions_party", "api_submissions", ["party"])
    dialect = op.get_bind().dialect.name
    triggers = _SQLITE_TRIGGERS if dialect == "sqlite" else _POSTGRES_TRIGGERS if dialect == "postgresql" else ()
    for ddl in triggers:
        op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS api_audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS api_audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS api_audit_log_no_change ON api_audit_log")
        op.execute("DROP TRIGGER IF EXISTS api_audit_log_no_truncate ON api_audit_log")
        op.execute("DROP FUNCTION IF EXISTS api_audit_log_append_only()")
    for table in (
        "api_submissions",
        "api_challenges",
        "api_credentials",
        "api_status_lists",
        "api_audit_log",
        "api_clients",
    ):
        op.drop_table(table)
