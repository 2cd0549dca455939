"""signed QR keys, the device of a use, offline scans, conflicts and reversals

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('voucher_rights', sa.Column('used_by_device', sa.UUID(), nullable=True))
    op.add_column('voucher_rights', sa.Column('use_seq', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE voucher_rights SET use_seq = 1 WHERE used_at IS NOT NULL")
    op.create_table('qr_keys',
                    sa.Column('key_id', sa.String(length=16), nullable=False),
                    sa.Column('public_key', sa.LargeBinary(), nullable=False),
                    sa.Column('private_sealed', sa.LargeBinary(), nullable=False),
                    sa.Column('status', sa.String(length=10), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                              nullable=False),
                    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('key_id'),
                    sa.CheckConstraint("status IN ('active', 'verifying', 'retired')", name='qr_keys_status'))
    op.create_index('qr_keys_one_active', 'qr_keys', ['status'], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_table('offline_scans',
                    sa.Column('device_id', sa.UUID(), nullable=False),
                    sa.Column('sequence', sa.BigInteger(), nullable=False),
                    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                              nullable=False),
                    sa.Column('outcome', postgresql.JSONB(), nullable=False),
                    sa.PrimaryKeyConstraint('device_id', 'sequence'))
    op.create_table('use_conflicts',
                    sa.Column('id', sa.UUID(), nullable=False),
                    sa.Column('voucher_id', sa.UUID(), nullable=False),
                    sa.Column('code', sa.String(length=16), nullable=False),
                    sa.Column('region_code', sa.String(length=6), nullable=False),
                    sa.Column('winner', postgresql.JSONB(), nullable=False),
                    sa.Column('loser', postgresql.JSONB(), nullable=False),
                    sa.Column('loser_institution_id', sa.UUID(), nullable=False),
                    sa.Column('reason', sa.String(length=32), nullable=False),
                    sa.Column('detected_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                              nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_use_conflicts_voucher_id', 'use_conflicts', ['voucher_id'])
    op.create_index('ix_use_conflicts_region_code', 'use_conflicts', ['region_code'])
    op.create_index('ix_use_conflicts_loser_institution_id', 'use_conflicts', ['loser_institution_id'])
    op.create_table('use_reversals',
                    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
                    sa.Column('voucher_id', sa.UUID(), nullable=False),
                    sa.Column('institution_id', sa.UUID(), nullable=False),
                    sa.Column('class_id', sa.UUID(), nullable=False),
                    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('reason', sa.String(length=32), nullable=False),
                    sa.Column('reversed_by', sa.Text(), nullable=False),
                    sa.Column('reversed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                              nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_use_reversals_voucher_id', 'use_reversals', ['voucher_id'])


def downgrade():
    for table in ('use_reversals', 'use_conflicts', 'offline_scans', 'qr_keys'):
        op.drop_table(table)
    op.drop_column('voucher_rights', 'use_seq')
    op.drop_column('voucher_rights', 'used_by_device')
