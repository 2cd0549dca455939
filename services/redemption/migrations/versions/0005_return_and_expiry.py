"""each right's own last day, for automatic expiry

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
    op.add_column('voucher_rights', sa.Column('valid_until', sa.Date(), nullable=True))
    # Rights claimed so far end with their template.
    op.execute("UPDATE voucher_rights SET valid_until = (terms->>'valid_until')::date")
    op.alter_column('voucher_rights', 'valid_until', nullable=False)
    op.create_index('voucher_rights_claimed_until', 'voucher_rights', ['valid_until'],
                    postgresql_where=sa.text("status = 'claimed'"))


def downgrade():
    op.drop_index('voucher_rights_claimed_until', table_name='voucher_rights')
    op.drop_column('voucher_rights', 'valid_until')
