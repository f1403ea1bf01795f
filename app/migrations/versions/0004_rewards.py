"""rewards: scenario settings, partner pseudonyms, consumed tokens, access log

Revision ID: 0004
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scenario_settings',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_scenario_settings_version_positive')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_scenario_settings'))
    )
    op.create_table('partner_pseudonyms',
    sa.Column('pseudonym', sa.String(length=64), nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('resident_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_pseudonyms_partner_id_partners')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_partner_pseudonyms_resident_id_residents')),
    sa.PrimaryKeyConstraint('pseudonym', name=op.f('pk_partner_pseudonyms')),
    sa.UniqueConstraint('partner_id', 'resident_id', name='uq_partner_pseudonyms_pair')
    )
    with op.batch_alter_table('partner_pseudonyms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_pseudonyms_resident_id'), ['resident_id'], unique=False)

    op.create_table('consumed_tokens',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('resident_id', sa.Uuid(), nullable=False),
    sa.Column('scenario', sa.String(length=40), nullable=False),
    sa.Column('consumed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_consumed_tokens_partner_id_partners')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_consumed_tokens_resident_id_residents')),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_consumed_tokens'))
    )
    with op.batch_alter_table('consumed_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consumed_tokens_resident_id'), ['resident_id'], unique=False)

    op.create_table('access_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resident_id', sa.Uuid(), nullable=False),
    sa.Column('at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_kind', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.String(length=40), nullable=False),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('scenario', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('learned', sa.JSON(), nullable=False),
    sa.CheckConstraint("actor_kind IN ('partner','operator','system')", name=op.f('ck_access_log_actor_kind')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_access_log_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_resident_at', ['resident_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_resident_at')
    op.drop_table('access_log')
    with op.batch_alter_table('consumed_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consumed_tokens_resident_id'))
    op.drop_table('consumed_tokens')
    with op.batch_alter_table('partner_pseudonyms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_pseudonyms_resident_id'))
    op.drop_table('partner_pseudonyms')
    op.drop_table('scenario_settings')
