"""subsidy ratios by target group, and whether the subsidy waits for a certificate

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Existing templates pay the whole standard to everyone, certificate or not: as they did.
    op.add_column('templates', sa.Column('subsidy_ratios', postgresql.JSONB(), nullable=True))
    op.add_column('templates', sa.Column('default_subsidy_ratio_percent', sa.Integer(), server_default='100',
                                         nullable=False))
    op.add_column('templates', sa.Column('requires_certificate', sa.Boolean(), server_default=sa.text('false'),
                                         nullable=False))


def downgrade():
    for column in ('requires_certificate', 'default_subsidy_ratio_percent', 'subsidy_ratios'):
        op.drop_column('templates', column)
