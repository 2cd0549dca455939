"""schedule changes, the vouchers that let trainees check in, refused attempts, anomalies

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('classes', sa.Column('schedule_seq', sa.Integer(), server_default='1', nullable=False))
    op.add_column('checkins', sa.Column('device', sa.Text(), nullable=True))
    op.create_index('checkins_located_by_trainee', 'checkins', ['person_key', 'checked_in_at'],
                    postgresql_where=sa.text('latitude IS NOT NULL'))
    op.create_table('voucher_uses',
                    sa.Column('voucher_id', sa.UUID(), nullable=False),
                    sa.Column('class_id', sa.UUID(), nullable=False),
                    sa.Column('person_key', sa.String(length=64), nullable=False),
                    sa.Column('use_seq', sa.Integer(), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.PrimaryKeyConstraint('voucher_id'))
    op.create_index('voucher_uses_of_trainee', 'voucher_uses', ['class_id', 'person_key'],
                    postgresql_where=sa.text('active'))
    op.create_table('attempts',
                    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
                    sa.Column('class_id', sa.UUID(), nullable=False),
                    sa.Column('person_key', sa.String(length=64), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('attempts_by_class', 'attempts', ['class_id', 'at'])
    op.create_table('anomalies',
                    sa.Column('id', sa.UUID(), nullable=False),
                    sa.Column('kind', sa.String(length=24), nullable=False),
                    sa.Column('subject', sa.Text(), nullable=False),
                    sa.Column('class_id', sa.UUID(), nullable=False),
                    sa.Column('session_id', sa.UUID(), nullable=True),
                    sa.Column('institution_id', sa.UUID(), nullable=False),
                    sa.Column('region_code', sa.String(length=6), nullable=False),
                    sa.Column('evidence', postgresql.JSONB(), nullable=False),
                    sa.Column('status', sa.String(length=10), nullable=False),
                    sa.Column('reason', sa.Text(), nullable=True),
                    sa.Column('decided_by', sa.Text(), nullable=True),
                    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('detected_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                              nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('kind', 'subject', name='anomalies_found_once'),
                    sa.CheckConstraint("status IN ('open', 'confirmed', 'dismissed')", name='anomalies_status'))
    op.create_index('anomalies_by_region', 'anomalies', ['region_code', 'detected_at'])


def downgrade():
    for table in ('anomalies', 'attempts', 'voucher_uses'):
        op.drop_table(table)
    op.drop_index('checkins_located_by_trainee', table_name='checkins')
    op.drop_column('checkins', 'device')
    op.drop_column('classes', 'schedule_seq')
