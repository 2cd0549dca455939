"""the number of a voucher's latest use or reversal, so that uses and reversals apply in any order

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('vouchers', sa.Column('use_seq', sa.Integer(), server_default='0', nullable=False))
    # A voucher used so far was used once: a late copy of that use must not apply again.
    op.execute("UPDATE vouchers SET use_seq = 1 WHERE used_at IS NOT NULL")


def downgrade():
    op.drop_column('vouchers', 'use_seq')
