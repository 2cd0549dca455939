"""annual targets

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('targets',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('planned_trainees', sa.BigInteger(), nullable=False),
    sa.Column('issue_target', sa.BigInteger(), nullable=False),
    sa.Column('use_target', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('year', 'region_code')
    )


def downgrade():
    op.drop_table('targets')
