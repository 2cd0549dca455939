"""foldable events' parts, joined by the outbox relay (ADR 0011)

Revision ID: 0006
Revises: 0005
"""
from alembic import op

from common.migrations import create_outbox_parts

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    create_outbox_parts(op)


def downgrade():
    op.drop_table("outbox_parts")
