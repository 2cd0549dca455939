"""returned and expired vouchers

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('voucher_counts', 'monthly_counts')


def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column('returned', sa.BigInteger(), server_default='0', nullable=False))
        op.add_column(table, sa.Column('expired', sa.BigInteger(), server_default='0', nullable=False))


def downgrade():
    for table in TABLES:
        op.drop_column(table, 'expired')
        op.drop_column(table, 'returned')
