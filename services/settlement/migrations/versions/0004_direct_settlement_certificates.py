"""direct settlements and certificates

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
    # Every claim so far is an institution's application.
    op.add_column('subsidy_claims', sa.Column('kind', sa.String(length=12), nullable=False,
                                              server_default=sa.text("'application'")))
    op.add_column('subsidy_claims', sa.Column('payment_reference', sa.Text(), nullable=True))
    op.create_table('certificates',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('voucher_id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('institution_id', sa.UUID(), nullable=False),
    sa.Column('class_id', sa.UUID(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('occupation', sa.Text(), nullable=False),
    sa.Column('skill_level', sa.SmallInteger(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issuer', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'number', name='certificates_kind_number')
    )
    op.create_index(op.f('ix_certificates_voucher_id'), 'certificates', ['voucher_id'], unique=False)
    op.create_index(op.f('ix_certificates_region_code'), 'certificates', ['region_code'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_certificates_region_code'), table_name='certificates')
    op.drop_index(op.f('ix_certificates_voucher_id'), table_name='certificates')
    op.drop_table('certificates')
    op.drop_column('subsidy_claims', 'payment_reference')
    op.drop_column('subsidy_claims', 'kind')
