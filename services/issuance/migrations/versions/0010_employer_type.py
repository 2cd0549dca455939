"""who a person works for, for statistics' demographic breakdowns

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('persons', sa.Column('employer_type', sa.String(16), nullable=True))


def downgrade():
    op.drop_column('persons', 'employer_type')
