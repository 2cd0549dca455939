"""the training projects each institution may train for, replicated from issuance

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # Empty: an institution not listed here is not limited, as every institution registered so far.
    op.create_table('institution_projects',
                    sa.Column('institution_id', sa.UUID(), nullable=False),
                    sa.Column('projects', postgresql.JSONB(), nullable=False),
                    sa.Column('sequence', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('institution_id'))


def downgrade():
    op.drop_table('institution_projects')
