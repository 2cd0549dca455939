"""template versions, the full template terms, target groups, voucher validity and history

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('templates', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('templates', sa.Column('eligible_groups', postgresql.ARRAY(sa.String(length=32)), nullable=True))
    op.add_column('templates', sa.Column('payee', sa.String(length=16), server_default='institution',
                                         nullable=False))
    op.add_column('templates', sa.Column('validity_days', sa.Integer(), nullable=True))
    op.add_column('templates', sa.Column('one_training_per_occupation_year', sa.Boolean(),
                                         server_default=sa.text('true'), nullable=False))
    op.add_column('templates', sa.Column('reversal_grace_hours', sa.Integer(), server_default='24', nullable=False))
    op.create_table('template_versions',
                    sa.Column('template_id', sa.UUID(), sa.ForeignKey('templates.id'), nullable=False),
                    sa.Column('version', sa.Integer(), nullable=False),
                    sa.Column('terms', postgresql.JSONB(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now()),
                    sa.PrimaryKeyConstraint('template_id', 'version'))
    # Version 1 of every existing template: the snapshot its vouchers already carry.
    op.execute("""
        INSERT INTO template_versions (template_id, version, terms)
        SELECT id, 1, jsonb_build_object(
            'template_id', id::text, 'version', 1, 'region_code', region_code, 'function', function,
            'distribution', distribution, 'face_value_fen', face_value_fen,
            'subsidy_standard_fen', subsidy_standard_fen, 'occupation', occupation, 'skill_level', skill_level,
            'institution_ids', (SELECT jsonb_agg(i::text) FROM unnest(institution_ids) i),
            'eligible_groups', NULL, 'funding_source', funding_source, 'payee', 'institution',
            'valid_from', valid_from::text, 'valid_until', valid_until::text, 'validity_days', NULL,
            'one_training_per_occupation_year', true, 'reversal_grace_hours', 24)
        FROM templates""")
    op.create_table('person_groups',
                    sa.Column('person_key', sa.String(length=64), sa.ForeignKey('persons.person_key'),
                              nullable=False),
                    sa.Column('group', sa.String(length=32), nullable=False),
                    sa.Column('region_code', sa.String(length=6), nullable=False),
                    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.func.now()),
                    sa.PrimaryKeyConstraint('person_key', 'group', 'region_code'))
    op.add_column('vouchers', sa.Column('template_version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('vouchers', sa.Column('valid_until', sa.Date(), nullable=True))
    op.add_column('vouchers', sa.Column('used_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE vouchers v SET valid_until = t.valid_until FROM templates t "
               "WHERE t.id = v.template_id AND v.holder IS NOT NULL")
    op.create_index('vouchers_holder', 'vouchers', ['holder'], postgresql_where=sa.text('holder IS NOT NULL'))
    op.create_table('voucher_history',
                    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
                    sa.Column('voucher_id', sa.UUID(), nullable=False),
                    sa.Column('status', sa.String(length=12), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('detail', postgresql.JSONB(), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_voucher_history_voucher_id', 'voucher_history', ['voucher_id'])


def downgrade():
    op.drop_index('ix_voucher_history_voucher_id', table_name='voucher_history')
    op.drop_table('voucher_history')
    op.drop_index('vouchers_holder', table_name='vouchers')
    op.drop_column('vouchers', 'used_at')
    op.drop_column('vouchers', 'valid_until')
    op.drop_column('vouchers', 'template_version')
    op.drop_table('person_groups')
    op.drop_table('template_versions')
    for column in ('reversal_grace_hours', 'one_training_per_occupation_year', 'validity_days', 'payee',
                   'eligible_groups', 'version'):
        op.drop_column('templates', column)
