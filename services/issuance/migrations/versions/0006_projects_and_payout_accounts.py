"""training projects (培训项目目录), the projects an institution may train for, its payout account

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('projects',
                    sa.Column('id', sa.UUID(), nullable=False),
                    sa.Column('region_code', sa.String(length=6), nullable=False),
                    sa.Column('occupation', sa.String(length=20), nullable=False),
                    sa.Column('skill_level', sa.Integer(), nullable=False),
                    sa.Column('name', sa.Text(), nullable=False),
                    sa.Column('subsidy_standard_fen', sa.BigInteger(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                              nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('region_code', 'occupation', 'skill_level',
                                        name='projects_region_occupation_level'),
                    sa.CheckConstraint('subsidy_standard_fen > 0', name='projects_subsidy_standard_positive'),
                    sa.CheckConstraint('skill_level BETWEEN 1 AND 5', name='projects_skill_level'))
    op.create_index(op.f('ix_projects_region_code'), 'projects', ['region_code'], unique=False)
    op.create_table('institution_projects',
                    sa.Column('institution_id', sa.UUID(), sa.ForeignKey('institutions.id'), nullable=False),
                    sa.Column('project_id', sa.UUID(), sa.ForeignKey('projects.id'), nullable=False),
                    sa.PrimaryKeyConstraint('institution_id', 'project_id'))
    # Institutions registered so far have no payout account and are limited to no project.
    op.add_column('institutions', sa.Column('payout_bank_name', sa.Text(), nullable=True))
    op.add_column('institutions', sa.Column('payout_account_name', sa.Text(), nullable=True))
    op.add_column('institutions', sa.Column('payout_account_sealed', sa.LargeBinary(), nullable=True))
    op.add_column('institutions', sa.Column('payout_account_masked', sa.String(length=8), nullable=True))


def downgrade():
    for column in ('payout_account_masked', 'payout_account_sealed', 'payout_account_name', 'payout_bank_name'):
        op.drop_column('institutions', column)
    op.drop_table('institution_projects')
    op.drop_index(op.f('ix_projects_region_code'), table_name='projects')
    op.drop_table('projects')
