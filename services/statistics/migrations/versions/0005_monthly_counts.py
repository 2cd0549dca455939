"""monthly counts and voided vouchers

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
    op.add_column('voucher_counts', sa.Column('voided', sa.BigInteger(), server_default='0', nullable=False))
    op.create_table('monthly_counts',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('template_id', sa.UUID(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('function', sa.String(length=16), nullable=True),
    sa.Column('distribution', sa.String(length=16), nullable=True),
    sa.Column('issued', sa.BigInteger(), nullable=False),
    sa.Column('claimed', sa.BigInteger(), nullable=False),
    sa.Column('used', sa.BigInteger(), nullable=False),
    sa.Column('settled', sa.BigInteger(), nullable=False),
    sa.Column('settled_fen', sa.BigInteger(), nullable=False),
    sa.Column('voided', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'template_id', 'month')
    )
    # The report reads a region's rows by code prefix (LIKE '43%', whatever the collation), then a year's months.
    op.create_index('monthly_counts_by_region', 'monthly_counts', ['region_code', 'month'],
                    postgresql_ops={'region_code': 'varchar_pattern_ops'})


def downgrade():
    op.drop_index('monthly_counts_by_region', table_name='monthly_counts')
    op.drop_table('monthly_counts')
    op.drop_column('voucher_counts', 'voided')
