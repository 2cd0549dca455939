"""the use_seq of the use or reversal a used voucher's row records

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('used_vouchers', sa.Column('use_seq', sa.Integer(), server_default='0', nullable=False))
    # Every row so far records a voucher's first use.
    op.execute("UPDATE used_vouchers SET use_seq = 1")


def downgrade():
    op.drop_column('used_vouchers', 'use_seq')
