"""signing keys and nonces

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
    op.create_table('nonces',
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.PrimaryKeyConstraint('key_id', 'nonce')
    )
    op.create_index(op.f('ix_nonces_seen_at'), 'nonces', ['seen_at'], unique=False)
    op.create_table('client_keys',
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('secret_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
    sa.PrimaryKeyConstraint('key_id')
    )
    op.create_index(op.f('ix_client_keys_client_id'), 'client_keys', ['client_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_client_keys_client_id'), table_name='client_keys')
    op.drop_table('client_keys')
    op.drop_index(op.f('ix_nonces_seen_at'), table_name='nonces')
    op.drop_table('nonces')
