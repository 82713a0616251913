"""register_entry: the outgoing and incoming registers (sổ văn bản đi / đến)

Revision ID: 0006_registers
Revises: 0005_outbox
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = "0006_registers"
down_revision = "0005_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("doc_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("signer", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("handler", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("scan_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["delivery_id"], ["delivery.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "kind", "year", "number", name="uq_register_entry_number"),
    )
    with op.batch_alter_table("register_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_register_entry_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_register_entry_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_register_entry_document_id"), ["document_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("register_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_entry_document_id"))
        batch_op.drop_index(batch_op.f("ix_register_entry_delivery_id"))
        batch_op.drop_index(batch_op.f("ix_register_entry_agency_id"))
    op.drop_table("register_entry")
