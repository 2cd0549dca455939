"""idempotent requests

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from common.migrations import create_request_table

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    create_request_table(op)


def downgrade():
    op.drop_table("requests")
