"""each right's holder profile, passed on to statistics with its uses

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('voucher_rights', sa.Column('profile', postgresql.JSONB(), nullable=True))


def downgrade():
    op.drop_column('voucher_rights', 'profile')
