"""targets as published: why a row breaks the rule, and tables without a plan

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('targets', sa.Column('rule_deviation', sa.Text(), nullable=True))
    # Shandong's task table gives issue and use targets only, no planned trainees.
    op.alter_column('targets', 'planned_trainees', existing_type=sa.BigInteger(), nullable=True)


def downgrade():
    # Fails while a row has no plan: a downgrade must not drop or invent a published target.
    op.alter_column('targets', 'planned_trainees', existing_type=sa.BigInteger(), nullable=False)
    op.drop_column('targets', 'rule_deviation')
