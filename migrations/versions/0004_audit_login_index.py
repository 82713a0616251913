"""audit_event: index (action, object, seq) for the login limiter

Revision ID: 0004_audit_login_index
Revises: 0003_exchange
Create Date: 2026-12-01

The index first landed by an edit of 0003; databases migrated in between already have it,
so it is created only where it is missing (and 0003 is back to what it was when it landed).
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_audit_login_index"
down_revision = "0003_exchange"
branch_labels = None
depends_on = None

INDEX = "ix_audit_event_action_object_seq"


def _has_index() -> bool:
    return any(ix["name"] == INDEX for ix in sa.inspect(op.get_bind()).get_indexes("audit_event"))


def upgrade() -> None:
    if not _has_index():
        with op.batch_alter_table("audit_event", schema=None) as batch_op:
            batch_op.create_index(INDEX, ["action", "object", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
