"""attachment: who added it and when, and what the agency seal made of it (sealed PDF, .p7s)

Revision ID: 0009_attachments
Revises: 0005_outbox
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = "0009_attachments"
down_revision = "0008_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # every new column is nullable: attachments stored before this revision stay valid
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sealed_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("sealed_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("signature_sha256", sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column("signature_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key("fk_attachment_created_by_id_app_user", "app_user", ["created_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_attachment_created_by_id_app_user", type_="foreignkey")
        for column in ("sealed_at", "signature_size", "signature_sha256", "sealed_size", "sealed_sha256",
                       "created_at", "created_by_id"):
            batch_op.drop_column(column)
