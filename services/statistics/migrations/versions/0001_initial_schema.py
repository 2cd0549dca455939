"""initial schema

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa

from common.migrations import create_messaging_tables, drop_messaging_tables

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables(op)
    op.create_table('voucher_counts',
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('template_id', sa.UUID(), nullable=False),
    sa.Column('function', sa.String(length=16), nullable=True),
    sa.Column('distribution', sa.String(length=16), nullable=True),
    sa.Column('issued', sa.BigInteger(), nullable=False),
    sa.Column('claimed', sa.BigInteger(), nullable=False),
    sa.Column('used', sa.BigInteger(), nullable=False),
    sa.Column('settled', sa.BigInteger(), nullable=False),
    sa.Column('settled_fen', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'template_id')
    )


def downgrade():
    drop_messaging_tables(op)
    op.drop_table('voucher_counts')
