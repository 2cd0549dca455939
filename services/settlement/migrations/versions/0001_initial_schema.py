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
    op.create_table('completions',
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('class_id', 'person_key')
    )
    op.create_table('subsidy_claims',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.UUID(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('submitted_by', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.Text(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disbursed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_subsidy_claims_institution_id'), 'subsidy_claims', ['institution_id'], unique=False)
    op.create_index(op.f('ix_subsidy_claims_region_code'), 'subsidy_claims', ['region_code'], unique=False)
    op.create_table('used_vouchers',
    sa.Column('voucher_id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('institution_id', sa.UUID(), nullable=False),
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('terms', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.PrimaryKeyConstraint('voucher_id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_used_vouchers_institution_id'), 'used_vouchers', ['institution_id'], unique=False)
    op.create_index(op.f('ix_used_vouchers_region_code'), 'used_vouchers', ['region_code'], unique=False)
    op.create_table('claim_lines',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('claim_id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('voucher_id', sa.UUID(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['subsidy_claims.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('claim_lines_voucher_once', 'claim_lines', ['voucher_id'], unique=True, postgresql_where=sa.text('accepted'))
    op.create_index(op.f('ix_claim_lines_claim_id'), 'claim_lines', ['claim_id'], unique=False)


def downgrade():
    drop_messaging_tables(op)
    op.drop_index(op.f('ix_claim_lines_claim_id'), table_name='claim_lines')
    op.drop_index('claim_lines_voucher_once', table_name='claim_lines', postgresql_where=sa.text('accepted'))
    op.drop_table('claim_lines')
    op.drop_index(op.f('ix_used_vouchers_region_code'), table_name='used_vouchers')
    op.drop_index(op.f('ix_used_vouchers_institution_id'), table_name='used_vouchers')
    op.drop_table('used_vouchers')
    op.drop_index(op.f('ix_subsidy_claims_region_code'), table_name='subsidy_claims')
    op.drop_index(op.f('ix_subsidy_claims_institution_id'), table_name='subsidy_claims')
    op.drop_table('subsidy_claims')
    op.drop_table('completions')
