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
    op.create_table('checkins',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('session_id', sa.UUID(), nullable=False),
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'person_key', name='checkins_once_per_session')
    )
    op.create_index(op.f('ix_checkins_class_id'), 'checkins', ['class_id'], unique=False)
    op.create_table('classes',
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.UUID(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('completion_threshold', sa.Float(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('class_id')
    )
    op.create_index(op.f('ix_classes_institution_id'), 'classes', ['institution_id'], unique=False)
    op.create_index(op.f('ix_classes_region_code'), 'classes', ['region_code'], unique=False)
    op.create_table('completions',
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('attendance_rate', sa.Float(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('class_id', 'person_key')
    )
    op.create_table('enrolments',
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('class_id', 'person_key')
    )
    op.create_table('sessions',
    sa.Column('session_id', sa.UUID(), nullable=False),
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('session_id')
    )
    op.create_index(op.f('ix_sessions_class_id'), 'sessions', ['class_id'], unique=False)


def downgrade():
    drop_messaging_tables(op)
    op.drop_index(op.f('ix_sessions_class_id'), table_name='sessions')
    op.drop_table('sessions')
    op.drop_table('enrolments')
    op.drop_table('completions')
    op.drop_index(op.f('ix_classes_region_code'), table_name='classes')
    op.drop_index(op.f('ix_classes_institution_id'), table_name='classes')
    op.drop_table('classes')
    op.drop_index(op.f('ix_checkins_class_id'), table_name='checkins')
    op.drop_table('checkins')
