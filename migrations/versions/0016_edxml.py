"""document.imported, edxml_package: imported edXML (QCVN 102) packages and their envelope signature's check

Revision ID: 0016_edxml
Revises: 0015_web_sessions
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = "0016_edxml"
down_revision = "0015_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("imported", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "edxml_package",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("edxml_document_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("sender_code", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=True),
        sa.Column("status_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("signature_state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("signature_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("signature_detail", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("signature_signer", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["delivery_id"], ["delivery.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_edxml_package_sha256", "edxml_package", ["sha256"])
    op.create_index("ix_edxml_package_edxml_document_id", "edxml_package", ["edxml_document_id"])
    op.create_index("ix_edxml_package_document_id", "edxml_package", ["document_id"])
    op.create_index("ix_edxml_package_delivery_id", "edxml_package", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("edxml_package")
    with op.batch_alter_table("document") as batch:
        batch.drop_column("imported")
