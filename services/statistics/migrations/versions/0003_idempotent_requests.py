"""idempotent requests

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from common.migrations import create_request_table

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    create_request_table(op)


def downgrade():
    op.drop_table("requests")
