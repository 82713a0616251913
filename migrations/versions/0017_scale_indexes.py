"""delivery, agency_event: covering indexes of the inbox and events feed pages (index-only on PostgreSQL)

An agency's deliveries and events arrive over a year among everyone's: read from the heap, a
page of 50 touches ~50 scattered pages of a table of millions of rows, which a database larger
than its buffers reads from disk (``bench/scale.py``). These indexes hold every column a page
reads, so the page is an index-only scan of a few adjacent leaf pages. ``trace`` / ``data`` are
unbounded text and a B-tree entry holds at most ~2.7 kB: the covering index takes the rows
whose text fits (``exchange.models.COVERED_TEXT_MAX``), a small partial index the others.

PostgreSQL builds them ``CONCURRENTLY`` (outside a transaction): the upgrade of a production
database does not lock the tables against writes while it reads them. A build that fails
leaves an INVALID index behind: drop it (``DROP INDEX CONCURRENTLY``) and upgrade again.
SQLite has no INCLUDE and reads its pages in process: its indexes are declared empty
(``WHERE 0``), as the models say.

Revision ID: 0017_scale_indexes
Revises: 0016_edxml
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

revision = "0017_scale_indexes"
down_revision = "0016_edxml"
branch_labels = None
depends_on = None

# frozen here as they were when this migration landed (not imported from the models, which move on)
_TEXT_MAX = 2000
_INDEXES = (
    # table, agency column, unbounded text column, the page's other columns
    ("delivery", "recipient_agency_id", "trace",
     "id, status, incoming_number, created_at, addressed_agency_id, dispatch_id, trace, fetched_at, document_id"),
    ("agency_event", "agency_id", "data", "id, kind, at, delivery_id, document_id, data"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for table, agency, text, included in _INDEXES:
                op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_{table}_page ON {table} ({agency}, seq) "
                           f"INCLUDE ({included}) WHERE octet_length({text}) <= {_TEXT_MAX}")
                op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_{table}_page_long ON {table} "
                           f"({agency}, seq) WHERE octet_length({text}) > {_TEXT_MAX}")
        return
    for table, agency, _text, _included in _INDEXES:
        for name in (f"ix_{table}_page", f"ix_{table}_page_long"):
            op.create_index(name, table, [agency, "seq"], sqlite_where=sa.text("0"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for table, _agency, _text, _included in _INDEXES:
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS ix_{table}_page_long")
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS ix_{table}_page")
        return
    for table, _agency, _text, _included in _INDEXES:
        op.drop_index(f"ix_{table}_page_long", table_name=table)
        op.drop_index(f"ix_{table}_page", table_name=table)
