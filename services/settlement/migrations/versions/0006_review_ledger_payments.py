"""review workflow with its audit, funding pools on a double-entry ledger, payment files

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('used_vouchers', sa.Column('subsidy_ratio_percent', sa.SmallInteger(), server_default='100',
                                             nullable=False))
    op.alter_column('subsidy_claims', 'status', type_=sa.String(length=16))  # partly_approved
    for name, kind in (('reviewer', sa.Text()), ('reviewed_at', sa.DateTime(timezone=True)),
                       ('first_approver', sa.Text()), ('approved_fen', sa.BigInteger()),
                       ('decision_reason', sa.Text())):
        op.add_column('subsidy_claims', sa.Column(name, kind, nullable=True))
    for name in ('funding_source', 'review_reason'):
        op.add_column('claim_lines', sa.Column(name, sa.Text(), nullable=True))
    op.add_column('claim_lines', sa.Column('review', sa.String(length=10), nullable=True))
    op.drop_index('claim_lines_voucher_once', table_name='claim_lines')
    op.create_index('claim_lines_voucher_once', 'claim_lines', ['voucher_id'], unique=True,
                    postgresql_where=sa.text("accepted AND review IS DISTINCT FROM 'rejected'"))
    op.create_table('claim_audit',
                    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
                    sa.Column('claim_id', sa.UUID(), sa.ForeignKey('subsidy_claims.id'), nullable=False),
                    sa.Column('action', sa.String(length=24), nullable=False),
                    sa.Column('actor', sa.Text(), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('details', postgresql.JSONB(), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_claim_audit_claim_id', 'claim_audit', ['claim_id'])
    op.create_table('funding_pools',
                    sa.Column('id', sa.UUID(), nullable=False),
                    sa.Column('region_code', sa.String(length=6), nullable=False),
                    sa.Column('funding_source', sa.Text(), nullable=False),
                    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
                    sa.Column('available_fen', sa.BigInteger(), nullable=False),
                    sa.Column('reserved_fen', sa.BigInteger(), nullable=False),
                    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('region_code', 'funding_source', name='funding_pools_one_per_source'),
                    sa.CheckConstraint('available_fen >= 0 AND reserved_fen >= 0 AND paid_fen >= 0',
                                       name='funding_pools_not_negative'),
                    sa.CheckConstraint('budget_fen = available_fen + reserved_fen + paid_fen',
                                       name='funding_pools_balance'))
    op.create_table('ledger_entries',
                    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
                    sa.Column('pool_id', sa.UUID(), sa.ForeignKey('funding_pools.id'), nullable=False),
                    sa.Column('kind', sa.String(length=10), nullable=False),
                    sa.Column('debit', sa.String(length=10), nullable=False),
                    sa.Column('credit', sa.String(length=10), nullable=False),
                    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
                    sa.Column('claim_id', sa.UUID(), nullable=True),
                    sa.Column('instruction_id', sa.UUID(), nullable=True),
                    sa.Column('actor', sa.Text(), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.CheckConstraint('amount_fen > 0', name='ledger_entries_positive'))
    op.create_index('ix_ledger_entries_pool_id', 'ledger_entries', ['pool_id'])
    op.create_index('ix_ledger_entries_claim_id', 'ledger_entries', ['claim_id'])
    op.create_table('payment_files',
                    sa.Column('id', sa.UUID(), nullable=False),
                    sa.Column('region_code', sa.String(length=6), nullable=False),
                    sa.Column('created_by', sa.Text(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('instructions', sa.Integer(), nullable=False),
                    sa.Column('total_fen', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_payment_files_region_code', 'payment_files', ['region_code'])
    op.create_table('payment_instructions',
                    sa.Column('id', sa.UUID(), nullable=False),
                    sa.Column('claim_id', sa.UUID(), sa.ForeignKey('subsidy_claims.id'), nullable=False),
                    sa.Column('pool_id', sa.UUID(), sa.ForeignKey('funding_pools.id'), nullable=False),
                    sa.Column('region_code', sa.String(length=6), nullable=False),
                    sa.Column('payee_type', sa.String(length=12), nullable=False),
                    sa.Column('payee_ref', sa.Text(), nullable=False),
                    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
                    sa.Column('status', sa.String(length=10), nullable=False),
                    sa.Column('file_id', sa.UUID(), nullable=True),
                    sa.Column('bank_reference', sa.Text(), nullable=True),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.CheckConstraint('amount_fen > 0', name='payment_instructions_positive'))
    for column in ('claim_id', 'region_code', 'file_id'):
        op.create_index(f'ix_payment_instructions_{column}', 'payment_instructions', [column])


def downgrade():
    for table in ('payment_instructions', 'payment_files', 'ledger_entries', 'funding_pools', 'claim_audit'):
        op.drop_table(table)
    op.drop_index('claim_lines_voucher_once', table_name='claim_lines')
    op.create_index('claim_lines_voucher_once', 'claim_lines', ['voucher_id'], unique=True,
                    postgresql_where=sa.text('accepted'))
    for name in ('funding_source', 'review_reason', 'review'):
        op.drop_column('claim_lines', name)
    for name in ('reviewer', 'reviewed_at', 'first_approver', 'approved_fen', 'decision_reason'):
        op.drop_column('subsidy_claims', name)
    op.drop_column('used_vouchers', 'subsidy_ratio_percent')
