"""every indicator's read models: daily counts, demographics, the catalogue, check-in institutions,
trainees and their evaluations, activity counts, region facts; the event journal they are rebuilt from

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

COUNTS = ('issued', 'claimed', 'used', 'settled', 'settled_fen', 'voided', 'returned', 'expired')


def upgrade():
    op.create_table('daily_counts',
                    sa.Column('region_code', sa.String(6), primary_key=True),
                    sa.Column('template_id', sa.UUID(), primary_key=True),
                    sa.Column('day', sa.Date(), primary_key=True),
                    sa.Column('function', sa.String(16)), sa.Column('distribution', sa.String(16)),
                    *[sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS])
    op.create_index('daily_counts_by_region', 'daily_counts', ['region_code', 'day'],
                    postgresql_ops={'region_code': 'varchar_pattern_ops'})
    op.create_table('demographic_counts',
                    sa.Column('region_code', sa.String(6), primary_key=True),
                    sa.Column('month', sa.Date(), primary_key=True),
                    sa.Column('age_band', sa.String(8), primary_key=True),
                    sa.Column('gender', sa.String(7), primary_key=True),
                    sa.Column('home_province', sa.String(7), primary_key=True),
                    sa.Column('employer_type', sa.String(16), primary_key=True),
                    sa.Column('groups', sa.Text(), primary_key=True),
                    sa.Column('claimed', sa.BigInteger(), nullable=False),
                    sa.Column('used', sa.BigInteger(), nullable=False))
    op.create_index('demographic_counts_by_region', 'demographic_counts', ['region_code', 'month'],
                    postgresql_ops={'region_code': 'varchar_pattern_ops'})
    op.create_table('catalogue',
                    sa.Column('kind', sa.String(12), primary_key=True),
                    sa.Column('entry_id', sa.UUID(), primary_key=True),
                    sa.Column('region_code', sa.String(6), nullable=False),
                    sa.Column('occupation', sa.Text()), sa.Column('skill_level', sa.SmallInteger()),
                    sa.Column('since', sa.DateTime(timezone=True), nullable=False))
    op.create_table('checkin_institutions',
                    sa.Column('institution_id', sa.UUID(), primary_key=True),
                    sa.Column('region_code', sa.String(6), nullable=False),
                    sa.Column('since', sa.DateTime(timezone=True), nullable=False))
    op.create_table('trainees',
                    sa.Column('region_code', sa.String(6), primary_key=True),
                    sa.Column('person_key', sa.String(64), primary_key=True),
                    sa.Column('completed_at', sa.DateTime(timezone=True)),
                    sa.Column('evaluated_at', sa.DateTime(timezone=True)))
    op.create_table('activity_counts',
                    sa.Column('region_code', sa.String(6), primary_key=True),
                    sa.Column('month', sa.Date(), primary_key=True),
                    sa.Column('kind', sa.String(40), primary_key=True),
                    sa.Column('n', sa.BigInteger(), nullable=False))
    op.create_table('event_journal',
                    sa.Column('position', sa.BigInteger(), sa.Identity(), nullable=False, unique=True),
                    sa.Column('event_id', sa.UUID(), primary_key=True),
                    sa.Column('source', sa.String(32), nullable=False),
                    sa.Column('type', sa.String(64), nullable=False),
                    sa.Column('occurred_at', sa.Text(), nullable=False),
                    sa.Column('payload', postgresql.JSONB(), nullable=False))
    op.create_table('region_facts',
                    sa.Column('region_code', sa.String(6), primary_key=True),
                    sa.Column('month', sa.Date(), primary_key=True),
                    sa.Column('working_group', sa.Boolean()), sa.Column('policy_issued', sa.Boolean()),
                    sa.Column('promotion_plan', sa.Boolean()),
                    sa.Column('e_cards_issued', sa.BigInteger()), sa.Column('resident_population', sa.BigInteger()),
                    sa.Column('institutions_total', sa.BigInteger()),
                    sa.Column('ecard_channels', sa.Integer()), sa.Column('voucher_channels', sa.Integer()))


def downgrade():
    for table in ('region_facts', 'event_journal', 'activity_counts', 'trainees', 'checkin_institutions',
                  'catalogue', 'demographic_counts', 'daily_counts'):
        op.drop_table(table)
