"""trainees' ratings of the classes they completed

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
    op.create_table('evaluations',
                    sa.Column('class_id', sa.UUID(), nullable=False),
                    sa.Column('person_key', sa.String(length=64), nullable=False),
                    sa.Column('rating', sa.Integer(), nullable=False),
                    sa.Column('aspects', postgresql.JSONB(), nullable=False),
                    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('class_id', 'person_key'),
                    sa.CheckConstraint('rating BETWEEN 1 AND 5', name='evaluations_rating'))


def downgrade():
    op.drop_table('evaluations')
