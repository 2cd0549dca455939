"""each right's subsidy ratio, decided at claim

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Rights claimed so far pay the whole subsidy standard, as before ratios.
    op.add_column('voucher_rights', sa.Column('subsidy_ratio_percent', sa.Integer(), server_default='100',
                                              nullable=False))


def downgrade():
    op.drop_column('voucher_rights', 'subsidy_ratio_percent')
