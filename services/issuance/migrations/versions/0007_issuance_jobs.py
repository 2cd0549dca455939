"""bulk issuance in the background, a chunk per transaction

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('issuance_jobs',
                    sa.Column('id', sa.UUID(), nullable=False),
                    sa.Column('region_code', sa.String(length=6), nullable=False),
                    sa.Column('template_id', sa.UUID(), sa.ForeignKey('templates.id'), nullable=False),
                    sa.Column('kind', sa.String(length=8), nullable=False),
                    sa.Column('class_ids', postgresql.ARRAY(sa.UUID()), nullable=True),
                    sa.Column('total', sa.Integer(), nullable=False),
                    sa.Column('done', sa.Integer(), nullable=False),
                    sa.Column('issued', sa.Integer(), nullable=False),
                    sa.Column('refusals', postgresql.JSONB(), nullable=False),
                    sa.Column('status', sa.String(length=8), nullable=False),
                    sa.Column('correlation_id', sa.Text(), nullable=True),
                    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                              nullable=False),
                    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.CheckConstraint("kind IN ('pool', 'targeted')", name='issuance_jobs_kind'),
                    sa.CheckConstraint('done <= total', name='issuance_jobs_done_within_total'))
    op.create_index('issuance_jobs_running', 'issuance_jobs', ['created_at'],
                    postgresql_where=sa.text("status = 'running'"))


def downgrade():
    op.drop_index('issuance_jobs_running', table_name='issuance_jobs')
    op.drop_table('issuance_jobs')
