"""certs tables

Revision ID: 0002_certs
Revises: 0001_baseline
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = "0002_certs"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("owner_kind", text(length=16), nullable=False),
        sa.Column("owner_ref", text(length=128), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("serial", text(length=64), nullable=False),
        sa.Column("subject", text(length=1024), nullable=False),
        sa.Column("issuer", text(length=1024), nullable=False),
        sa.Column("key_store", text(length=16), nullable=False),
        sa.Column("key_ref", text(length=512), nullable=False),
        sa.Column("image_png", sa.LargeBinary(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", text(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_credential_owner_ref", "credential", ["owner_ref"], unique=False)
    op.create_index("ix_credential_serial", "credential", ["serial"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_credential_serial", table_name="credential")
    op.drop_index("ix_credential_owner_ref", table_name="credential")
    op.drop_table("credential")
