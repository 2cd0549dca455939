"""each template version's terms kept once, not on every right

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('template_terms',
                    sa.Column('template_id', sa.UUID(), nullable=False),
                    sa.Column('version', sa.Integer(), nullable=False),
                    sa.Column('terms', postgresql.JSONB(), nullable=False),
                    sa.PrimaryKeyConstraint('template_id', 'version'))
    op.add_column('voucher_rights', sa.Column('template_id', sa.UUID(), nullable=True))
    op.add_column('voucher_rights', sa.Column('template_version', sa.Integer(), nullable=True))
    # Terms from before template versions (issuance's 0005) are version 1.
    op.execute("""
        INSERT INTO template_terms (template_id, version, terms)
        SELECT DISTINCT ON ((terms->>'template_id')::uuid, coalesce((terms->>'version')::int, 1))
               (terms->>'template_id')::uuid, coalesce((terms->>'version')::int, 1), terms
        FROM voucher_rights""")
    op.execute("""
        UPDATE voucher_rights SET template_id = (terms->>'template_id')::uuid,
                                  template_version = coalesce((terms->>'version')::int, 1)""")
    op.alter_column('voucher_rights', 'template_id', nullable=False)
    op.alter_column('voucher_rights', 'template_version', nullable=False)
    op.create_foreign_key('voucher_rights_template_terms', 'voucher_rights', 'template_terms',
                          ['template_id', 'template_version'], ['template_id', 'version'])
    op.drop_column('voucher_rights', 'terms')


def downgrade():
    op.add_column('voucher_rights', sa.Column('terms', postgresql.JSONB(), nullable=True))
    op.execute("""
        UPDATE voucher_rights r SET terms = t.terms FROM template_terms t
        WHERE t.template_id = r.template_id AND t.version = r.template_version""")
    op.drop_constraint('voucher_rights_template_terms', 'voucher_rights')
    op.drop_column('voucher_rights', 'template_version')
    op.drop_column('voucher_rights', 'template_id')
    op.drop_table('template_terms')
