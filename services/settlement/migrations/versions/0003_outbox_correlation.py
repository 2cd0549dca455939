"""outbox correlation id

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from common.migrations import add_outbox_correlation

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    add_outbox_correlation(op)


def downgrade():
    op.drop_column("outbox", "correlation_id")
