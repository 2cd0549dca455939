"""trainee names (masked and sealed), when a roster was added

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('persons', sa.Column('name_masked', sa.String(length=32), nullable=True))
    op.add_column('persons', sa.Column('name_sealed', sa.LargeBinary(), nullable=True))
    op.add_column('roster', sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.func.now(),
                                      nullable=True))


def downgrade():
    op.drop_column('roster', 'added_at')
    op.drop_column('persons', 'name_sealed')
    op.drop_column('persons', 'name_masked')
