"""routing: documents searchable (folded search_text), replacements (replaces_id), and the
recipients a dispatch skipped because they already held the document (already_delivered)

Revision ID: 0008_routing
Revises: 0005_outbox
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from exchange.domain.search import document_search_text

revision = "0008_routing"
down_revision = "0006_registers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
        batch_op.create_unique_constraint(batch_op.f("uq_document_replaces_id"), ["replaces_id"])
        batch_op.create_foreign_key(batch_op.f("fk_document_replaces_id_document"), "document",
                                    ["replaces_id"], ["id"])
    with op.batch_alter_table("dispatch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("already_delivered", sa.Text(), nullable=False, server_default="[]"))
    # the documents already there become searchable too (the same folding as new ones)
    document = sa.table("document", sa.column("id", sa.Integer), sa.column("number", sa.String),
                        sa.column("notation", sa.String), sa.column("subject", sa.String),
                        sa.column("search_text", sa.Text))
    conn = op.get_bind()
    rows = conn.execute(sa.select(document.c.id, document.c.number, document.c.notation, document.c.subject)).all()
    for doc_id, number, notation, subject in rows:
        conn.execute(sa.update(document).where(document.c.id == doc_id)
                     .values(search_text=document_search_text(number or "", notation or "", subject or "")))


def downgrade() -> None:
    with op.batch_alter_table("dispatch", schema=None) as batch_op:
        batch_op.drop_column("already_delivered")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_document_replaces_id_document"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_document_replaces_id"), type_="unique")
        batch_op.drop_column("search_text")
        batch_op.drop_column("replaces_id")
