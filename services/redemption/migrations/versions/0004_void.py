"""batch void of claimed vouchers

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('voucher_rights', sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('voucher_rights', sa.Column('void_reason', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('voucher_rights', 'void_reason')
    op.drop_column('voucher_rights', 'voided_at')
