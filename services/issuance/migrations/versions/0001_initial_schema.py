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
    op.create_table('institutions',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credit_code')
    )
    op.create_index(op.f('ix_institutions_region_code'), 'institutions', ['region_code'], unique=False)
    op.create_table('persons',
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('id_masked', sa.String(length=18), nullable=False),
    sa.Column('id_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('gender', sa.String(length=1), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.PrimaryKeyConstraint('person_key')
    )
    op.create_table('templates',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('function', sa.String(length=16), nullable=False),
    sa.Column('distribution', sa.String(length=16), nullable=False),
    sa.Column('face_value_fen', sa.BigInteger(), nullable=True),
    sa.Column('subsidy_standard_fen', sa.BigInteger(), nullable=True),
    sa.Column('occupation', sa.Text(), nullable=False),
    sa.Column('skill_level', sa.Integer(), nullable=False),
    sa.Column('institution_ids', sa.ARRAY(sa.UUID()), nullable=True),
    sa.Column('funding_source', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.CheckConstraint('issued <= quantity', name='templates_quantity_cap'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_templates_region_code'), 'templates', ['region_code'], unique=False)
    op.create_table('sites',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_sites_institution_id'), 'sites', ['institution_id'], unique=False)
    op.create_table('vouchers',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('template_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('vouchers_one_per_holder', 'vouchers', ['template_id', 'holder'], unique=True, postgresql_where=sa.text('holder IS NOT NULL'))
    op.create_index('vouchers_unclaimed', 'vouchers', ['template_id'], unique=False, postgresql_where=sa.text("status = 'issued'"))
    op.create_table('classes',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.UUID(), nullable=False),
    sa.Column('site_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('occupation', sa.Text(), nullable=False),
    sa.Column('skill_level', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('completion_threshold', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_classes_institution_id'), 'classes', ['institution_id'], unique=False)
    op.create_table('class_sessions',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_class_sessions_class_id'), 'class_sessions', ['class_id'], unique=False)
    op.create_table('roster',
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], ),
    sa.ForeignKeyConstraint(['person_key'], ['persons.person_key'], ),
    sa.PrimaryKeyConstraint('class_id', 'person_key')
    )


def downgrade():
    drop_messaging_tables(op)
    op.drop_table('roster')
    op.drop_index(op.f('ix_class_sessions_class_id'), table_name='class_sessions')
    op.drop_table('class_sessions')
    op.drop_index(op.f('ix_classes_institution_id'), table_name='classes')
    op.drop_table('classes')
    op.drop_index('vouchers_unclaimed', table_name='vouchers', postgresql_where=sa.text("status = 'issued'"))
    op.drop_index('vouchers_one_per_holder', table_name='vouchers', postgresql_where=sa.text('holder IS NOT NULL'))
    op.drop_table('vouchers')
    op.drop_index(op.f('ix_sites_institution_id'), table_name='sites')
    op.drop_table('sites')
    op.drop_index(op.f('ix_templates_region_code'), table_name='templates')
    op.drop_table('templates')
    op.drop_table('persons')
    op.drop_index(op.f('ix_institutions_region_code'), table_name='institutions')
    op.drop_table('institutions')
