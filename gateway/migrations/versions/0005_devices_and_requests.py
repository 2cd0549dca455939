"""scanner devices that their institution disables and enables; idempotent gateway commands

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

from common.migrations import create_request_table

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('clients', sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('clients_devices_of_institution', 'clients', ['institution_id', 'created_at'],
                    postgresql_where=sa.text("role = 'device'"))
    create_request_table(op)


def downgrade():
    op.drop_table('requests')
    op.drop_index('clients_devices_of_institution', table_name='clients')
    op.drop_column('clients', 'disabled_at')
