"""points: a double-entry ledger (accounts, transfers, legs), lots, redemptions, refunds

Revision ID: 0007
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

INSERT_ONLY = ("points_transfers", "points_legs", "points_refunds")

# Zero-sum per transfer, checked at commit (django-hordak's deferred constraint trigger): every
# transfer has at least two legs and its legs add up to zero, however and whenever they were
# inserted.
ZERO_SUM = """
CREATE FUNCTION pc_points_transfer_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tid uuid;
    total numeric;
    legs integer;
BEGIN
    IF TG_TABLE_NAME = 'points_legs' THEN tid := NEW.transfer_id; ELSE tid := NEW.id; END IF;
    SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, legs
      FROM points_legs WHERE transfer_id = tid;
    IF total <> 0 OR legs < 2 THEN
        RAISE EXCEPTION 'points transfer % does not balance (sum %, % legs)', tid, total, legs
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""


def insert_only(table: str) -> None:
    """Refuse UPDATE and DELETE on `table` in the database itself."""
    op.execute(
        f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION pc_refuse_change()"
    )


def upgrade() -> None:
    op.create_table('points_transfers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('reverses_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("kind IN ('earn','redeem','refund','expire')", name=op.f('ck_points_transfers_kind')),
    sa.ForeignKeyConstraint(['reverses_id'], ['points_transfers.id'], name=op.f('fk_points_transfers_reverses_id_points_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_transfers')),
    sa.UniqueConstraint('key', name=op.f('uq_points_transfers_key'))
    )
    op.create_index(op.f('ix_points_transfers_at'), 'points_transfers', ['at'], unique=False)
    op.create_table('points_accounts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('resident_id', sa.Uuid(), nullable=True),
    sa.Column('partner_id', sa.Uuid(), nullable=True),
    sa.Column('balance', sa.BigInteger(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'clearing') = (partner_id IS NOT NULL)", name=op.f('ck_points_accounts_partner_owner')),
    sa.CheckConstraint("(kind = 'resident') = (resident_id IS NOT NULL)", name=op.f('ck_points_accounts_resident_owner')),
    sa.CheckConstraint("kind <> 'resident' OR (balance IS NOT NULL AND balance >= 0)", name=op.f('ck_points_accounts_resident_balance_nonnegative')),
    sa.CheckConstraint("kind IN ('resident','issuance','clearing','expiry')", name=op.f('ck_points_accounts_kind')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_points_accounts_partner_id_partners')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_points_accounts_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_points_accounts_code')),
    sa.UniqueConstraint('partner_id', name=op.f('uq_points_accounts_partner_id')),
    sa.UniqueConstraint('resident_id', name=op.f('uq_points_accounts_resident_id'))
    )
    op.create_table('points_legs',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_points_legs_amount_nonzero')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_legs_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['transfer_id'], ['points_transfers.id'], name=op.f('fk_points_legs_transfer_id_points_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_legs'))
    )
    op.create_index('ix_points_legs_account_id', 'points_legs', ['account_id', 'id'], unique=False)
    op.create_index(op.f('ix_points_legs_transfer_id'), 'points_legs', ['transfer_id'], unique=False)
    op.create_table('points_lots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('expired', sa.BigInteger(), nullable=False),
    sa.Column('earned_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_points_lots_points_positive')),
    sa.CheckConstraint('remaining >= 0 AND expired >= 0 AND remaining + expired <= points', name=op.f('ck_points_lots_remaining_in_range')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_lots_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['transfer_id'], ['points_transfers.id'], name=op.f('fk_points_lots_transfer_id_points_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lots'))
    )
    op.create_index('ix_points_lots_account_expires', 'points_lots', ['account_id', 'expires_at'], unique=False)
    op.create_table('points_redemptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=False),
    sa.Column('out_order_no', sa.String(length=64), nullable=False),
    sa.Column('sub', sa.String(length=64), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_points_redemptions_points_positive')),
    sa.CheckConstraint('refunded >= 0 AND refunded <= points', name=op.f('ck_points_redemptions_refunded_in_range')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_redemptions_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_points_redemptions_partner_id_partners')),
    sa.ForeignKeyConstraint(['transfer_id'], ['points_transfers.id'], name=op.f('fk_points_redemptions_transfer_id_points_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_redemptions')),
    sa.UniqueConstraint('partner_id', 'out_order_no', name='uq_points_redemptions_order')
    )
    op.create_index(op.f('ix_points_redemptions_account_id'), 'points_redemptions', ['account_id'], unique=False)
    op.create_table('points_draws',
    sa.Column('redemption_id', sa.Uuid(), nullable=False),
    sa.Column('lot_id', sa.Uuid(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_points_draws_points_positive')),
    sa.CheckConstraint('refunded >= 0 AND refunded <= points', name=op.f('ck_points_draws_refunded_in_range')),
    sa.ForeignKeyConstraint(['lot_id'], ['points_lots.id'], name=op.f('fk_points_draws_lot_id_points_lots')),
    sa.ForeignKeyConstraint(['redemption_id'], ['points_redemptions.id'], name=op.f('fk_points_draws_redemption_id_points_redemptions')),
    sa.PrimaryKeyConstraint('redemption_id', 'lot_id', name=op.f('pk_points_draws'))
    )
    op.create_table('points_refunds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('redemption_id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=False),
    sa.Column('out_refund_no', sa.String(length=64), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_points_refunds_points_positive')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_points_refunds_partner_id_partners')),
    sa.ForeignKeyConstraint(['redemption_id'], ['points_redemptions.id'], name=op.f('fk_points_refunds_redemption_id_points_redemptions')),
    sa.ForeignKeyConstraint(['transfer_id'], ['points_transfers.id'], name=op.f('fk_points_refunds_transfer_id_points_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_refunds')),
    sa.UniqueConstraint('partner_id', 'out_refund_no', name='uq_points_refunds_refund_no')
    )
    op.create_index(op.f('ix_points_refunds_redemption_id'), 'points_refunds', ['redemption_id'], unique=False)
    for table in INSERT_ONLY:
        insert_only(table)
    op.execute(ZERO_SUM)
    for table in ("points_transfers", "points_legs"):
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_zero_sum AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION pc_points_transfer_balanced()"
        )


def downgrade() -> None:
    op.drop_index(op.f('ix_points_refunds_redemption_id'), table_name='points_refunds')
    op.drop_table('points_refunds')
    op.drop_table('points_draws')
    op.drop_index(op.f('ix_points_redemptions_account_id'), table_name='points_redemptions')
    op.drop_table('points_redemptions')
    op.drop_index('ix_points_lots_account_expires', table_name='points_lots')
    op.drop_table('points_lots')
    op.drop_index(op.f('ix_points_legs_transfer_id'), table_name='points_legs')
    op.drop_index('ix_points_legs_account_id', table_name='points_legs')
    op.drop_table('points_legs')
    op.drop_table('points_accounts')
    op.drop_index(op.f('ix_points_transfers_at'), table_name='points_transfers')
    op.drop_table('points_transfers')
    op.execute("DROP FUNCTION IF EXISTS pc_points_transfer_balanced() CASCADE")
