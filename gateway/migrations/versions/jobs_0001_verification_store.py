"""Cross-chain verification: parties, credential store and identifier index, ledger facts, result cache, jobs.

Revision ID: jobs_0001
Revises:
Create Date: 2026-01-02
"""

import sqlalchemy as sa
from alembic import op

revision = "jobs_0001"
down_revision = None
branch_labels = ("jobs",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parties",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("did", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(512), primary_key=True),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("types", sa.Text(), nullable=False),
        sa.Column("issuer", sa.Text()),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("stored_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "credential_index",
        sa.Column("scheme", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(512), primary_key=True),
        sa.Column("credential_id", sa.String(512), primary_key=True),
    )
    op.create_table(
        "ledger_revocations",
        sa.Column("credential_id", sa.String(512), primary_key=True),
        sa.Column("ledger_id", sa.String(160), nullable=False),
        sa.Column("locator", sa.Text(), nullable=False),
        sa.Column("ledger_time", sa.String(40), nullable=False),
        sa.Column("ledger_height", sa.Integer(), nullable=False),
    )
    op.create_table(
        "ledger_observations",
        sa.Column("ledger_id", sa.String(160), primary_key=True),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("last_ok_at", sa.String(40)),
        sa.Column("last_attempt_at", sa.String(40)),
        sa.Column("last_error", sa.Text(), nullable=False),
    )
    op.create_table(
        "mappings",
        sa.Column("mapping_id", sa.String(512), primary_key=True),
        sa.Column("digest", sa.String(80), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
    )
    op.create_table(
        "raw_records",
        sa.Column("ledger_id", sa.String(160), primary_key=True),
        sa.Column("locator", sa.String(512), primary_key=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sa.String(120), nullable=False),
    )
    op.create_table(
        "fetched_documents",
        sa.Column("url", sa.String(1024), primary_key=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "adapter_registrations",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("plugin", sa.String(128), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("cursor", sa.Text()),
        sa.Column("registered_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "verification_cache",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("credential_id", sa.String(512), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("policy_name", sa.Text(), nullable=False),
        sa.Column("policy_digest", sa.String(80), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.String(40), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("finished_at", sa.String(40)),
    )
    op.create_table(
        "job_rows",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("row_no", sa.Integer(), primary_key=True),
        sa.Column("entry_key", sa.String(80)),
        sa.Column("problem", sa.Text()),
        sa.Column("raw", sa.Text(), nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("entry_key", sa.String(80), primary_key=True),
        sa.Column("entry_number", sa.String(128), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
    )
    op.create_table(
        "entry_results",
        sa.Column("entry_key", sa.String(80), primary_key=True),
        sa.Column("policy_digest", sa.String(80), primary_key=True),
        sa.Column("checked_at", sa.String(40), primary_key=True),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
    )
    op.create_table(
        "invoice_claims",
        sa.Column("entry_number", sa.String(128), primary_key=True),
        sa.Column("line", sa.Integer(), primary_key=True),
        sa.Column("entry_key", sa.String(80), nullable=False),
        sa.Column("entry_date", sa.String(40), nullable=False),
        sa.Column("invoice_number", sa.String(256), nullable=False),
        sa.Column("gtin", sa.String(14), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
    )
    op.create_index("ix_credential_index_value", "credential_index", ["value"])
    op.create_index("ix_credential_index_credential_id", "credential_index", ["credential_id"])
    op.create_index("ix_invoice_claims_invoice_number_gtin", "invoice_claims", ["invoice_number", "gtin"])


def downgrade() -> None:
    op.drop_table("invoice_claims")
    op.drop_table("entry_results")
    op.drop_table("entries")
    op.drop_table("job_rows")
    op.drop_table("jobs")
    op.drop_table("verification_cache")
    op.drop_table("store_meta")
    op.drop_table("adapter_registrations")
    op.drop_table("fetched_documents")
    op.drop_table("raw_records")
    op.drop_table("mappings")
    op.drop_table("ledger_observations")
    op.drop_table("ledger_revocations")
    op.drop_table("credential_index")
    op.drop_table("credentials")
    op.drop_table("parties")
