"""initial schema

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa

from common.migrations import create_messaging_tables, drop_messaging_tables
from sqlalchemy.dialects import postgresql
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables(op)
    op.create_table('classes',
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.UUID(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('occupation', sa.Text(), nullable=False),
    sa.Column('skill_level', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('class_id')
    )
    op.create_index(op.f('ix_classes_institution_id'), 'classes', ['institution_id'], unique=False)
    op.create_table('voucher_rights',
    sa.Column('voucher_id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('terms', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_institution', sa.UUID(), nullable=True),
    sa.Column('used_in_class', sa.UUID(), nullable=True),
    sa.PrimaryKeyConstraint('voucher_id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_voucher_rights_holder'), 'voucher_rights', ['holder'], unique=False)
    op.create_index(op.f('ix_voucher_rights_region_code'), 'voucher_rights', ['region_code'], unique=False)


def downgrade():
    drop_messaging_tables(op)
    op.drop_index(op.f('ix_voucher_rights_region_code'), table_name='voucher_rights')
    op.drop_index(op.f('ix_voucher_rights_holder'), table_name='voucher_rights')
    op.drop_table('voucher_rights')
    op.drop_index(op.f('ix_classes_institution_id'), table_name='classes')
    op.drop_table('classes')
