"""client rate limit

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('clients', sa.Column('rate_limit', sa.Integer(), server_default='100', nullable=False))


def downgrade():
    op.drop_column('clients', 'rate_limit')
